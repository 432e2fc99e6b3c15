"""The moderation queue's part of the OpenAPI document (nailfolio.web.openapi merges it in).

Routes: /api/admin/moderation (the queue), .../preview (an original, admins only),
.../decisions (approve or reject, with a reason), .../history (a design's audit log),
.../outbox (the admins' notifications); every one admins only.
"""

from __future__ import annotations

from nailfolio.web.moderation import OUTBOX_LIMIT, PREVIEW_CSP, QUEUE_STATUSES
from nailfolio.web.openapi import (
    _FORBIDDEN,
    _NOT_JSON,
    _SECURED,
    _TOO_LARGE,
    _UNAUTHORIZED,
    Schema,
    _body,
    _error,
    _header,
    _json,
    _obj,
    _param,
    _ref,
)

_STATUS = {"type": "string", "enum": ["approved", "needs_review", "rejected"]}
_TEXT_OR_NULL = {"type": ["string", "null"]}
_ADMIN_ONLY = {"401": _UNAUTHORIZED, "403": _FORBIDDEN}


def moderation_schemas() -> Schema:
    """Decisions, queue items, the audit log and the outbox."""
    timestamp = {"type": ["string", "null"], "format": "date-time"}
    decision = {
        "design": {"type": "string", "description": 'Its key, "designer/design".'},
        "status": _STATUS,
        "model": {"type": "string", "description": 'The moderator, or "admin".'},
        "decided_by": {"type": "string", "description": '"auto", or the admin\'s email.'},
        "decided_at": timestamp,
        "reason": {"type": "string"},
        "labels": {"type": "array", "items": _ref("ModerationLabel")},
    }
    item = decision | {
        "score": {"type": ["number", "null"], "description": "The top label's confidence."},
        "title": _TEXT_OR_NULL,
        "designer": _TEXT_OR_NULL,
        "source": {"type": ["string", "null"], "description": "Content key of the original."},
        "preview_url": {
            "type": ["string", "null"],
            "description": "Admin-only: the preview route locally, a presigned URL on aws.",
        },
        "page": {"type": "string", "description": "Its public page, from the site root."},
    }
    note = {
        "id": {"type": "integer"},
        "subject": {"type": "string"},
        "body": {"type": "string"},
        "created_at": {"type": "string", "format": "date-time"},
        "tags": {"type": "array", "items": {"type": "string"}},
    }
    rebuild = _obj(
        {
            "state": {"type": "string", "enum": ["done", "queued", "failed"]},
            "message": {"type": "string"},
        }
    )
    return {
        "ModerationLabel": _obj(
            {
                "name": {"type": "string"},
                "parent": {"type": "string"},
                "confidence": {"type": "number", "minimum": 0, "maximum": 100},
            }
        ),
        "ModerationDecision": _obj(decision),
        "ModerationQueue": _obj(
            {
                "status": {"type": "string", "enum": list(QUEUE_STATUSES)},
                "designs": {"type": "array", "items": _obj(item)},
            }
        ),
        "NewModerationDecision": _obj(
            {
                "design": {"type": "string", "minLength": 1, "maxLength": 201},
                "status": {"type": "string", "enum": ["approved", "rejected"]},
                "reason": {"type": "string", "minLength": 1, "maxLength": 500},
            }
        ),
        "ModerationDecided": _obj(
            {"decision": _ref("ModerationDecision"), "page": {"type": "string"}, "rebuild": rebuild}
        ),
        "ModerationHistory": _obj(
            {
                "design": {"type": "string"},
                "decisions": {"type": "array", "items": _ref("ModerationDecision")},
            }
        ),
        "ModerationOutbox": _obj(
            {
                "kept": {"type": "boolean", "description": "false on aws: SNS keeps no copy."},
                "where": {"type": "string", "description": "Where notifications go."},
                "notifications": {"type": "array", "items": _obj(note)},
            }
        ),
    }


def moderation_paths() -> Schema:
    """The five admin routes of the moderation queue."""
    design = _param("design", "query", {"type": "string"}, 'A design key, "designer/design".')
    return {
        "/api/admin/moderation": {
            "get": {
                "summary": "Designs awaiting review (or another status), oldest first (admins)",
                "security": _SECURED,
                "parameters": [
                    _param(
                        "status",
                        "query",
                        {"type": "string", "enum": list(QUEUE_STATUSES)},
                        "Which designs (needs_review by default; all for every one).",
                    )
                ],
                "responses": {
                    "200": _json(_ref("ModerationQueue"), "The queue."),
                    "400": _error("An unknown status or parameter.", "invalid_query"),
                    **_ADMIN_ONLY,
                },
            }
        },
        "/api/admin/moderation/preview": {
            "get": {
                "summary": "A design's original image, for admins only (never public)",
                "description": (
                    "Locally the bytes, with the media type of the file's name, Cache-Control: "
                    f"no-store and Content-Security-Policy: {PREVIEW_CSP}. On aws a 302 to a "
                    "presigned GET URL of the private content bucket, valid a few minutes."
                ),
                "security": _SECURED,
                "parameters": [
                    _param(
                        "key",
                        "query",
                        {"type": "string"},
                        'Content key, percent-encoded: "designs/<designer>/<file>".',
                    )
                ],
                "responses": {
                    "200": {
                        "description": "The original (local backend).",
                        "content": {
                            kind: {"schema": {"type": "string", "format": "binary"}}
                            for kind in ("image/jpeg", "image/png", "image/webp", "image/gif")
                        },
                    },
                    "302": {
                        "description": "Where to read it (aws backend).",
                        "headers": {"Location": _header("A presigned URL.")},
                    },
                    "400": _error("An unknown or repeated parameter.", "invalid_query"),
                    **_ADMIN_ONLY,
                    "404": _error("No design's image under designs/ at that key.", "not_found"),
                },
            }
        },
        "/api/admin/moderation/decisions": {
            "post": {
                "summary": "Approve or reject a design, with a reason; republishes (admins)",
                "security": _SECURED,
                "requestBody": _body(
                    _ref("NewModerationDecision"),
                    example={"design": "ana/red-chrome", "status": "approved", "reason": "ok"},
                ),
                "responses": {
                    "200": _json(_ref("ModerationDecided"), "Recorded; the rebuild's state."),
                    "400": _error(
                        "A missing reason, an unknown field or status.",
                        "invalid_field",
                        "invalid_json",
                    ),
                    **_ADMIN_ONLY,
                    "404": _error("No design with that key.", "design_not_found"),
                    "413": _TOO_LARGE,
                    "415": _NOT_JSON,
                },
            }
        },
        "/api/admin/moderation/history": {
            "get": {
                "summary": "A design's audit log: every decision, newest first (admins)",
                "security": _SECURED,
                "parameters": [design],
                "responses": {
                    "200": _json(_ref("ModerationHistory"), "The decisions."),
                    "400": _error("An unknown or repeated parameter.", "invalid_query"),
                    **_ADMIN_ONLY,
                    "404": _error("No design with that key.", "design_not_found"),
                },
            }
        },
        "/api/admin/moderation/outbox": {
            "get": {
                "summary": f"The admins' notifications, newest {OUTBOX_LIMIT} (admins)",
                "security": _SECURED,
                "responses": {
                    "200": _json(_ref("ModerationOutbox"), "Notifications, or where they go."),
                    "400": _error("A parameter (this route takes none).", "invalid_query"),
                    **_ADMIN_ONLY,
                },
            }
        },
    }
