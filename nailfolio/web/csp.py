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


def studio_csp(upload_origin: str = "") -> str:
    """/studio/'s policy: picked photos previewed from blob: URLs and posted to the API
    (locally) or to `upload_origin`, the content bucket's address (aws). Sent as a header
    only (no <meta>): the page is rendered before anyone knows the bucket's address."""
    connect = " ".join(("connect-src 'self'", upload_origin)).strip()
    return ADMIN_CSP.replace("img-src 'self' data:;", "img-src 'self' data: blob:;").replace(
        "connect-src 'self';", f"{connect};"
    )


STUDIO_CSP = studio_csp()  # the local backend's: uploads go to the API, on this origin


def csp_header(path: str, upload_origin: str = "") -> str | None:
    """The Content-Security-Policy header for a site path, or None for pages without one."""
    if path.startswith("/studio"):
        return studio_csp(upload_origin) + "; frame-ancestors 'none'"
    if path.startswith("/admin/moderation"):
        return MODERATION_CSP + "; frame-ancestors 'none'"
    if path.startswith(("/admin", "/contact")):
        return ADMIN_CSP + "; frame-ancestors 'none'"
    if path.startswith("/designs/"):
        return DESIGN_CSP + "; frame-ancestors 'none'"
    return None
