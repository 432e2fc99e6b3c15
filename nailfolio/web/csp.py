"""Content-Security-Policy of the pages that run scripts, shared by the theme and the servers.

Pages carry the policy in a <meta>; servers send the same policy as a header with
frame-ancestors added, which a <meta> cannot carry (Chromium logs an error for it).
"""

ADMIN_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; object-src 'none'"
)
# Design pages keep each placeholder's colour and image in a style attribute.
DESIGN_CSP = ADMIN_CSP.replace("style-src 'self';", "style-src 'self' 'unsafe-inline';")

# The moderation queue shows previews from the private content bucket through presigned URLs
# on aws (S3's virtual-hosted or path-style addresses); locally they come from 'self'.
MODERATION_CSP = ADMIN_CSP.replace(
    "img-src 'self' data:;", "img-src 'self' data: https://*.amazonaws.com;"
)


def csp_header(path: str) -> str | None:
    """The Content-Security-Policy header for a site path, or None for pages without one."""
    if path.startswith("/admin/moderation"):
        return MODERATION_CSP + "; frame-ancestors 'none'"
    if path.startswith(("/admin", "/contact")):
        return ADMIN_CSP + "; frame-ancestors 'none'"
    if path.startswith("/designs/"):
        return DESIGN_CSP + "; frame-ancestors 'none'"
    return None
