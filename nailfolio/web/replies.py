"""The admins' replies to customers over HTTP: the body of a status change.

The views are in chalice_app/app.py; the service is CommentService.set_status; the admin
JSON of a comment (with the author's email, for admins only) is api.admin_comment_json.
"""

from __future__ import annotations

from chalice.app import Request

from nailfolio.web import plumbing
from nailfolio.web.plumbing import HttpError

STATUS_FIELDS = ("status",)


def status_body(request: Request) -> str:
    """The `status` of a PATCH body {"status": "new"|"answered"|"closed"} (the service
    checks the name); raises HttpError 400 invalid_field for any other shape."""
    body = plumbing.read_json(request)
    unknown = sorted(set(body) - set(STATUS_FIELDS))
    if unknown:
        raise HttpError(400, "invalid_field", f"Unknown field {unknown[0]!r}", field=unknown[0])
    status = body.get("status")
    if not isinstance(status, str):
        raise HttpError(
            400, "invalid_field", 'Send {"status": "new", "answered" or "closed"}', field="status"
        )
    return status
