"""The moderation queue's side of the web API (/api/admin/moderation...): admins only.

The views in chalice_app/app.py call one function here each; the work is in
nailfolio.gallery.moderation_queue. Design keys ("ana/red-chrome") travel in the JSON body or
a query parameter; content keys ("designs/chloe_martin/Crème Brûlée.jpg"), which hold
spaces and any letter, travel percent-encoded in the preview's `key` parameter only.

The preview of an original is never public: locally the preview route streams it to a
signed-in admin (no-store, nosniff, its own media type, a CSP that runs nothing); on aws the
same route answers 302 to a presigned GET URL of a few minutes, and the queue hands those
URLs out directly, so an <img> costs no Lambda call.

The outbox: locally the notifications kept in var/outbox.sqlite3; on aws SNS keeps nothing,
so the answer says where they went (the topic the admins subscribe to) and lists none.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from chalice.app import Request, Response

from nailfolio.web import api, plumbing
from nailfolio.web.plumbing import HttpError

if TYPE_CHECKING:
    from nailfolio.config import Settings
    from nailfolio.gallery.models import Decision, Label, Notification
    from nailfolio.gallery.moderation_queue import PreviewLinks, QueueItem

logger = logging.getLogger(__name__)

QUEUE_STATUSES = ("needs_review", "rejected", "approved", "all")
DECISION_FIELDS = ("design", "status", "reason")
OVERRIDES = ("approved", "rejected")
OUTBOX_LIMIT = 50
DESIGN_KEY_MAX = 201  # two slugs of 100 and their slash
# The preview is an image and nothing else: no script, no style, no frame, whatever it holds.
PREVIEW_CSP = "default-src 'none'; sandbox"


def _settings() -> Settings:
    return api.services().settings


def _catalog() -> Any:
    return api.services().stores["catalog"]


def queue_json(request: Request) -> dict[str, Any]:
    """GET /api/admin/moderation?status=: the designs with that status (needs_review by
    default; `all` for every one), oldest decision first, with labels and preview links."""
    from nailfolio import config
    from nailfolio.gallery.models import Status
    from nailfolio.gallery.moderation_queue import queue_items

    api.admin(request)
    wanted = plumbing.query_params(request, ("status",)).get("status", "needs_review")
    if wanted not in QUEUE_STATUSES:
        raise HttpError(400, "invalid_query", f"status must be one of {', '.join(QUEUE_STATUSES)}")
    statuses = list(Status) if wanted == "all" else [Status(wanted)]
    settings = _settings()
    items = queue_items(_catalog(), config.open_content_store(settings), statuses)
    links = config.open_preview_links(settings)
    return {"status": wanted, "designs": [_item_json(item, links) for item in items]}


def preview_response(request: Request) -> Response:
    """GET /api/admin/moderation/preview?key=: the original's bytes (local) or a 302 to a
    presigned URL (aws); 404 for a key that is no design's image under designs/."""
    from nailfolio import config
    from nailfolio.errors import ContentNotFound
    from nailfolio.gallery.moderation_queue import NotPreviewable, preview_key

    api.admin(request)
    key = plumbing.query_params(request, ("key",)).get("key", "")
    settings = _settings()
    content = config.open_content_store(settings)
    try:
        key, kind = preview_key(content, key)
        if settings.backend == "aws":
            url = config.open_preview_links(settings).url(key, kind)
            return Response("", {"Location": url}, 302)
        limit = settings.images.max_file_bytes  # a bigger file was never ingested either
        data = content.read(key, limit)
        if len(data) > limit:
            raise NotPreviewable(f"{key!r} is over NAILFOLIO_MAX_FILE_MB: not an image to show")
    except (NotPreviewable, ContentNotFound) as exc:
        raise HttpError(404, "not_found", str(exc)) from None
    headers = {
        "Content-Type": kind,
        "Content-Disposition": "inline",
        "Content-Security-Policy": PREVIEW_CSP,
    }
    return Response(data, headers, 200)


def decide_json(request: Request) -> dict[str, Any]:
    """POST /api/admin/moderation/decisions {design, status, reason}: an admin approves or
    rejects a design, with a reason; the site is republished (locally before this answers,
    on aws by the rebuild queue)."""
    from nailfolio import config
    from nailfolio.errors import NailfolioError
    from nailfolio.gallery.models import Status
    from nailfolio.gallery.moderation_queue import (
        InvalidReason,
        record_override,
        request_republish,
        required_reason,
    )

    principal = api.admin(request)
    body = _decision_body(plumbing.read_json(request))
    settings = _settings()
    try:
        reason = required_reason(body.get("reason"))
        status = Status(body["status"])
        decision = record_override(_catalog(), body["design"], status, reason, principal.email)
    except InvalidReason as exc:
        raise HttpError(400, "invalid_field", str(exc), field="reason") from None
    try:
        request_republish(config.open_rebuild_queue(settings), decision)
        rebuild = {"state": "queued" if settings.backend == "aws" else "done", "message": ""}
    except NailfolioError as exc:  # recorded all the same: the next build publishes it
        logger.error("rebuild after %s of %s failed: %s", status, decision.key, exc)
        rebuild = {"state": "failed", "message": str(exc)}
    return {"decision": decision_json(decision), "page": _page(decision.key), "rebuild": rebuild}


def _decision_body(body: dict[str, Any]) -> dict[str, Any]:
    """The decision's fields, checked: known names, a design key, an override status."""
    unknown = sorted(set(body) - set(DECISION_FIELDS))
    if unknown:
        raise HttpError(400, "invalid_field", f"Unknown field {unknown[0]!r}", field=unknown[0])
    design = body.get("design")
    if not isinstance(design, str) or not 0 < len(design) <= DESIGN_KEY_MAX:
        raise HttpError(400, "invalid_field", "Name the design, as designer/design", field="design")
    if body.get("status") not in OVERRIDES:
        message = "status must be approved or rejected"
        raise HttpError(400, "invalid_field", message, field="status")
    return body


def history_json(request: Request) -> dict[str, Any]:
    """GET /api/admin/moderation/history?design=: every decision on the design, newest first."""
    from nailfolio.errors import DesignNotFound

    api.admin(request)
    design = plumbing.query_params(request, ("design",)).get("design", "")
    decisions = _catalog().decision_history(design) if len(design) <= DESIGN_KEY_MAX else []
    if not decisions:
        raise DesignNotFound(f"no design {design!r} in the catalog")
    return {"design": design, "decisions": [decision_json(d) for d in decisions]}


def outbox_json(request: Request) -> dict[str, Any]:
    """GET /api/admin/moderation/outbox: the admins' notifications, newest first (local), or
    where they went (aws: the SNS topic; SNS keeps no copy to list)."""
    from nailfolio import config

    api.admin(request)
    plumbing.query_params(request, ())  # none: an unknown one is a 400
    settings = _settings()
    if settings.backend == "aws":
        topic = settings.aws.values.get("topic_arn", "")
        where = f"the SNS topic {topic}" if topic else "the SNS topic (NAILFOLIO_TOPIC_ARN unset)"
        return {"kept": False, "where": where, "notifications": []}
    with config.open_outbox(settings) as outbox:
        notes = outbox.list_notifications(OUTBOX_LIMIT)
    where = "the outbox of this machine (var/outbox.sqlite3)"
    return {"kept": True, "where": where, "notifications": [_note_json(n) for n in notes]}


# -- JSON shapes ---------------------------------------------------------------------------


def decision_json(decision: Decision) -> dict[str, Any]:
    return {
        "design": decision.key,
        "status": str(decision.status),
        "model": decision.model,
        "decided_by": decision.decided_by,
        "decided_at": api.timestamp(decision.decided_at) if decision.decided_at else None,
        "reason": decision.reason,
        "labels": [_label_json(label) for label in decision.labels],
    }


def _label_json(label: Label) -> dict[str, Any]:
    return {"name": label.name, "parent": label.parent_name, "confidence": label.confidence}


def _item_json(item: QueueItem, links: PreviewLinks) -> dict[str, Any]:
    from nailfolio.gallery.media_types import media_type
    from nailfolio.gallery.moderation_queue import PREVIEW_TYPES

    source = item.source
    top = max((label.confidence for label in item.decision.labels), default=None)
    preview = None
    if source is not None and media_type(source.rel_path) in PREVIEW_TYPES:
        preview = links.url(source.rel_path, media_type(source.rel_path))
    return decision_json(item.decision) | {
        "score": top,
        "title": source.title if source else None,
        "designer": source.designer.name if source else None,
        "source": source.rel_path if source else None,
        "preview_url": preview,
        "page": _page(item.decision.key),
    }


def _note_json(note: Notification) -> dict[str, Any]:
    return {
        "id": note.id,
        "subject": note.subject,
        "body": note.body,
        "created_at": api.timestamp(note.created_at),
        "tags": list(note.tags),
    }


def _page(key: str) -> str:
    """The design's public page, relative to the site root: live once it answers 200."""
    return f"designs/{key}/"
