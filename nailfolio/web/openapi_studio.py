"""The studio's part of the OpenAPI document (nailfolio/web/openapi.py merges it in): the
designers' uploads, their designs' metadata and moderation status."""

from __future__ import annotations

from typing import Any

from nailfolio.gallery.design_uploads import MAX_TERMS, METADATA_FIELDS, TEXT_LIMITS
from nailfolio.gallery.images import UPLOAD_TYPES
from nailfolio.web.studio import LOCAL_UPLOAD_PATH, MULTIPART

Schema = dict[str, Any]

_SECURED = [{"session": []}, {"bearer": []}]
_SLUG = {"type": "string", "pattern": "^[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?$"}
_STATUSES = ["processing", "approved", "needs_review", "rejected", "not_usable"]
_WHO = (
    "Designers work in the folder whose designer.md names their account (`Account: <email>`); "
    "admins in any folder, named by its designer slug."
)


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(properties: Schema, required: list[str] | None = None) -> Schema:
    required = list(properties) if required is None else required
    schema = {"type": "object", "properties": properties, "additionalProperties": False}
    return schema | ({"required": required} if required else {})


def _json(schema: Schema, description: str) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str, *codes: str) -> Schema:
    error = _obj(
        {
            "code": {"type": "string", "enum": list(codes)},
            "message": {"type": "string"},
            "field": {"type": "string"},
        },
        required=["code", "message"],
    )
    return _json(_obj({"error": error}), description)


_UNAUTHORIZED = _error("Not signed in, or the session expired.", "unauthorized")
_FORBIDDEN = _error(
    "A customer; a designer with no folder (the message says what to ask the admin) or "
    "naming another's.",
    "forbidden",
)
_TOO_LARGE = _error("The body is over the API's limit.", "too_large")
_NOT_JSON = _error("The Content-Type is not application/json.", "unsupported_media_type")
_DESIGNER = {
    "name": "designer",
    "in": "query",
    "required": False,
    "schema": {"type": "string"},
    "description": "The folder's designer slug (admins; a designer may name her own).",
}


def studio_schemas() -> Schema:
    text = {"type": "string"}
    terms = {"anyOf": [{"type": "array", "items": text, "maxItems": MAX_TERMS}, text]}
    metadata = {
        name: terms if name in ("tags", "colours") else text | {"maxLength": TEXT_LIMITS[name]}
        for name in METADATA_FIELDS
    }
    design = _obj(
        {
            "design": {"type": "string", "description": '"designer/design": its page path.'},
            "file": text,
            "title": text,
            "tags": {"type": "array", "items": text},
            "colours": {"type": "array", "items": text},
            "technique": text,
            "description": {"type": "string", "description": "The sidecar's Markdown."},
            "status": {"type": "string", "enum": _STATUSES},
            "reason": text,
            "decided_at": {"type": ["string", "null"]},
            "page": {"type": ["string", "null"], "description": "Relative to the site root."},
        }
    )
    return {
        "UploadRequest": _obj(
            {
                "filename": {"type": "string", "maxLength": 255},
                "content_type": {"type": "string", "enum": [*UPLOAD_TYPES, ""]},
                "size": {"type": "integer", "minimum": 1},
                "designer": _SLUG,
            },
            required=["filename", "content_type", "size"],
        ),
        "UploadForm": _obj(
            {
                "url": {"type": "string", "description": "Where to POST the form."},
                "fields": {"type": "object", "additionalProperties": {"type": "string"}},
                "key": {"type": "string", "description": "The file's content key."},
                "expires_at": {"type": "string"},
            }
        ),
        "StudioDesign": design,
        "StudioDesigns": _obj(
            {
                "designer": _obj({"slug": text, "name": text}),
                "designs": {"type": "array", "items": _ref("StudioDesign")},
            }
        ),
        "DesignMetadata": _obj(metadata, required=[]),
        "SavedDesign": _obj({"design": _ref("StudioDesign")}),
    }


def studio_paths() -> Schema:
    bad_json = ("invalid_json", "invalid_upload")
    return {
        "/api/studio/designs": {
            "get": {
                "summary": "A folder's designs with their moderation status (designers, admins)",
                "description": _WHO,
                "security": _SECURED,
                "parameters": [_DESIGNER],
                "responses": {
                    "200": _json(_ref("StudioDesigns"), "Newest file first."),
                    "400": _error(
                        "An admin named no designer, or a bad parameter.",
                        "invalid_upload",
                        "invalid_query",
                    ),
                    "401": _UNAUTHORIZED,
                    "403": _FORBIDDEN,
                    "404": _error("No folder has that designer slug.", "not_found"),
                },
            }
        },
        "/api/studio/uploads": {
            "post": {
                "summary": "Ask to upload one photo: a form to POST it with (designers, admins)",
                "description": (
                    f"{_WHO} The form goes straight to the content bucket on aws (a presigned "
                    f"POST limited to `key`, the type and the size cap), to {LOCAL_UPLOAD_PATH}"
                    " locally. Post `fields`, then the file as `file`, as multipart/form-data."
                ),
                "security": _SECURED,
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": _ref("UploadRequest"),
                            "example": {
                                "filename": "IMG_2041.HEIC",
                                "content_type": "image/heic",
                                "size": 2400000,
                            },
                        }
                    },
                },
                "responses": {
                    "201": _json(_ref("UploadForm"), "The form, valid for half an hour."),
                    "400": _error("A field is missing or malformed (see field).", *bad_json),
                    "401": _UNAUTHORIZED,
                    "403": _FORBIDDEN,
                    "404": _error("No folder has that designer slug.", "not_found"),
                    "413": _error("The body, or the file's size, is over the limit.", "too_large"),
                    "415": _NOT_JSON,
                },
            }
        },
        LOCAL_UPLOAD_PATH: {
            "post": {
                "summary": "Receive a posted upload form and its file (the local backend)",
                "description": (
                    "The form from POST /api/studio/uploads is its authorization, as a presigned "
                    "POST is S3's: it is checked (signature, expiry, key, type), the bytes are "
                    "sniffed, the file is stored, and the moderate hook runs. 404 on aws."
                ),
                "security": [],
                "requestBody": {
                    "required": True,
                    "content": {MULTIPART: {"schema": {"type": "object"}}},
                },
                "responses": {
                    "204": {"description": "Stored; moderation has run."},
                    "400": _error("No file part, or its bytes are not the type.", "invalid_upload"),
                    "403": _error("The form is forged, expired or not for this.", "forbidden"),
                    "404": _error("Not on this backend: post to the bucket.", "not_found"),
                    "413": _error("The file is empty or over the cap.", "too_large"),
                    "415": _error("Not multipart/form-data.", "unsupported_media_type"),
                },
            }
        },
        "/api/studio/designs/{designer}/{design}": {
            "put": {
                "summary": "Save a design's metadata as its sidecar (designers, admins)",
                "description": f"{_WHO} Replaces the whole sidecar; designer.md is never written.",
                "security": _SECURED,
                "parameters": [
                    {"name": "designer", "in": "path", "required": True, "schema": _SLUG},
                    {"name": "design", "in": "path", "required": True, "schema": _SLUG},
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": _ref("DesignMetadata"),
                            "example": {"title": "Ruby Chrome", "tags": ["chrome", "party"]},
                        }
                    },
                },
                "responses": {
                    "200": _json(_ref("SavedDesign"), "Saved; the site is rebuilt."),
                    "400": _error("A field is unknown or malformed (see field).", *bad_json),
                    "401": _UNAUTHORIZED,
                    "403": _FORBIDDEN,
                    "404": _error(
                        "No such folder, or no such design in it.", "not_found", "design_not_found"
                    ),
                    "413": _TOO_LARGE,
                    "415": _NOT_JSON,
                },
            }
        },
    }
