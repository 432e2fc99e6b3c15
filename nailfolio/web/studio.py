"""The studio's routes' side of the library: who may work in which folder, studio errors as
HTTP statuses, the multipart form the local backend receives, and the JSON shapes.

Authorization, before anything is looked up: a visitor gets 401, a customer 403; a designer
works only in the folder whose designer.md names their email (else 403 saying what to ask
the admin); an admin in any folder, named by its designer slug. The DesignerStudio service is made
per request on the API's services (nailfolio.web.api).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from email.parser import BytesParser
from email.policy import HTTP
from typing import TYPE_CHECKING, Any

from chalice.app import Request, Response

from nailfolio.errors import NailfolioError
from nailfolio.web import api, plumbing
from nailfolio.web.plumbing import HttpError

if TYPE_CHECKING:
    from nailfolio.gallery.content import DesignerFolder
    from nailfolio.gallery.design_uploads import (
        DesignerStudio,
        DesignStatus,
        UploadForm,
        UploadForms,
    )

logger = logging.getLogger(__name__)

LOCAL_UPLOAD_PATH = "/api/studio/files"  # where the local backend's forms are posted
ASK_FIELDS = ("filename", "content_type", "size", "designer")
LIST_QUERY = ("designer",)
MULTIPART = "multipart/form-data"
_STAFF = ("designers", "admins")


def service() -> DesignerStudio:
    """The DesignerStudio on the API's current services (cheap to make: one per request, so nothing
    outlives api.reset's closing of the stores)."""
    return _current()[0]


def _current() -> tuple[DesignerStudio, UploadForms]:
    from nailfolio import config
    from nailfolio.gallery.design_uploads import DesignerStudio

    services = api.services()
    settings = services.settings
    content = config.open_content_store(settings)
    forms = config.open_upload_forms(settings)
    return DesignerStudio(content, services.stores["catalog"], forms, settings.images), forms


def guarded(view: Callable[..., Response]) -> Callable[..., Response]:
    """Wrap a view (inside api.endpoint): studio errors become their HTTP answers."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        from nailfolio.gallery import design_uploads as studio

        try:
            return view(*args, **kwargs)
        except studio.StudioError as exc:
            status, code = _STATUS[type(exc).__name__]
            raise HttpError(status, code, str(exc), field=exc.field) from None

    return wrapper


_STATUS = {
    "NotADesigner": (403, "forbidden"),
    "NoFolder": (403, "forbidden"),
    "NotYourFolder": (403, "forbidden"),
    "UploadRefused": (403, "forbidden"),
    "FolderNotFound": (404, "not_found"),
    "StudioDesignNotFound": (404, "design_not_found"),
    "UploadTooLarge": (413, "too_large"),
    "InvalidUpload": (400, "invalid_upload"),
}


def folder(request: Request, designer: Any = None) -> DesignerFolder:
    """The folder the signed-in caller works in: 401 for a visitor, 403 for a customer or
    someone else's folder (see the module docstring)."""
    from nailfolio.identity.accounts import role_of

    principal = api.signed_in(request)
    role = role_of(principal)
    if role not in _STAFF:
        raise HttpError(403, "forbidden", "Only the studio's designers and admins can do this")
    if designer is not None and not isinstance(designer, str):
        raise HttpError(
            400, "invalid_upload", "designer must be a designer's slug", field="designer"
        )
    return service().folder_for(principal.email, role, designer or None)


def ask_fields(request: Request) -> dict[str, Any]:
    """The JSON body of an upload request: only ASK_FIELDS."""
    body = plumbing.read_json(request)
    unknown = sorted(set(body) - set(ASK_FIELDS))
    if unknown:
        raise HttpError(400, "invalid_upload", f"Unknown field {unknown[0]!r}", field=unknown[0])
    return body


def list_designer(request: Request) -> str | None:
    return plumbing.query_params(request, LIST_QUERY).get("designer")


def receive(request: Request) -> str:
    """The local backend's stand-in for the bucket: check the posted form and store its
    file, then run the hooks as for a dropped file; returns the key. 404 on aws, where
    forms go to S3."""
    settings = api.services().settings
    if settings.backend != "local":
        raise HttpError(404, "not_found", "Uploads go straight to the content bucket here")
    fields, data = read_multipart(request)
    key = _current()[1].receive(fields, data)  # type: ignore[attr-defined]  (the local forms)
    written(key)
    return key


def written(key: str) -> None:
    """A content key was written through the API: run what a dropped file runs (locally
    the moderate handler, at once; on aws the bucket's event does it). The file is kept
    whatever happens next: a failed hook is logged, and the next build catches up."""
    from nailfolio import config

    hook = config.content_written_hook(api.services().settings)
    if hook is None:
        return
    try:
        hook(key)
    except (NailfolioError, OSError) as exc:
        logger.error("%s: stored, but the moderate hook failed: %s", key, exc)


def read_multipart(request: Request) -> tuple[dict[str, str], bytes]:
    """The text fields and the `file` part of a multipart/form-data body (400 or 415)."""
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != MULTIPART:
        raise HttpError(415, "unsupported_media_type", f"Send the form as {MULTIPART}")
    raw = request.raw_body or b""
    head = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1", "replace")
    message = BytesParser(policy=HTTP).parsebytes(head + raw)
    fields: dict[str, str] = {}
    data: bytes | None = None
    for part in message.iter_parts() if message.is_multipart() else ():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        if name == "file":
            data = payload
        elif isinstance(name, str):
            fields[name] = payload.decode("utf-8", "replace")
    if data is None:
        raise HttpError(400, "invalid_upload", "The form has no file part", field="file")
    return fields, data


# -- JSON shapes ---------------------------------------------------------------------------


def form_json(form: UploadForm) -> dict[str, Any]:
    return {
        "url": form.url,
        "fields": dict(form.fields),
        "key": form.key,
        "expires_at": api.timestamp(form.expires_at),
    }


def designs_json(found: DesignerFolder, designs: list[DesignStatus]) -> dict[str, Any]:
    designer = found.designer
    return {
        "designer": {"slug": designer.slug, "name": designer.name},
        "designs": [design_json(design) for design in designs],
    }


def saved_json(found: DesignerFolder, slug: str) -> dict[str, Any]:
    """The design as listed after its metadata was saved."""
    key = f"{found.designer.slug}/{slug}"
    designs = service().list_designs(found)
    return {"design": next(design_json(d) for d in designs if d.design == key)}


def design_json(design: DesignStatus) -> dict[str, Any]:
    return {
        "design": design.design,
        "file": design.file.rpartition("/")[2],
        "title": design.title,
        "tags": list(design.tags),
        "colours": list(design.colours),
        "technique": design.technique,
        "description": design.description,
        "status": design.status,
        "reason": design.reason,
        "decided_at": api.timestamp(design.decided_at) if design.decided_at else None,
        "page": f"designs/{design.design}/" if design.status == "approved" else None,
    }
