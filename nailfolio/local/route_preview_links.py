"""The local preview links: an admin-only API route streams the original from content/.

There is no signed URL to hand out on one machine: the link is the route
(`GET /api/admin/moderation/preview?key=...`), which checks the admin's session on every
request and answers with Cache-Control: no-store, so the original is never public and never
copied into the built site. The key travels as one percent-encoded query parameter, so
spaces and accented names ("designs/chloe_martin/Crème Brûlée.jpg") arrive intact.
"""

from __future__ import annotations

from urllib.parse import quote

PREVIEW_PATH = "/api/admin/moderation/preview"


class RoutePreviewLinks:
    """PreviewLinks port adapter: links to the API's admin-only preview route."""

    def url(self, key: str, media_type: str) -> str:
        """The route's URL for `key` (its media type is the route's to set)."""
        return f"{PREVIEW_PATH}?key={quote(key, safe='')}"
