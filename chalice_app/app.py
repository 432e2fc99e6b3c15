"""Nailfolio's HTTP API (Chalice): sign-up (with its emailed code), sign-in, refresh and sign-out,
customers' comments, the admins' inbox; and the hooks' Lambdas (at the bottom): moderate an
upload, rebuild the site, backfill sentiment scores, send the admins' comment digest.

Each view authenticates, calls a service and shapes the answer; the wiring, auth and error
mapping are in nailfolio/web/api.py, the HTTP plumbing in nailfolio/plumbing.py, the contract in
nailfolio/web/openapi.py (served at /api/openapi.json). Importing this module builds nothing:
services are made on the first request. Packaged, nailfolio is vendored beside this file.
"""

from typing import Any

from chalice import Chalice, Rate
from chalice.app import CloudWatchEvent, Response, SQSEvent

# configure_logs=False: Chalice would take over the "nailfolio" logger (the app's name), the
from nailfolio.web import api, moderation, plumbing, studio

# parent of every nailfolio.* module's, set it to ERROR and stop it propagating.
app = Chalice(app_name="nailfolio", configure_logs=False)
app.register_middleware(plumbing.finish_response, "http")

# Chalice would answer a wrong Content-Type itself, in its own error shape: let every type
# through and let plumbing.read_json refuse all but JSON, in ours.
ANY = ["*/*"]


@app.route("/api/health", content_types=ANY)
@api.endpoint
def health() -> Response:
    """Liveness and each store's health: 503 when a store is unavailable."""
    report, healthy = api.health_json()
    return plumbing.json_response(report, 200 if healthy else 503)


@app.route("/api/openapi.json", content_types=ANY)
def openapi_document() -> Response:
    from nailfolio.web.openapi import openapi

    return plumbing.json_response(openapi())


@app.route("/api/auth/signup", methods=["POST"], content_types=ANY)
@api.endpoint
def sign_up() -> Response:
    request = app.current_request
    body = api.credentials(request, api.SIGN_UP_FIELDS)
    result = api.accounts().sign_up(
        body["email"], body["password"], body.get("name", ""), api.client_ip(request)
    )
    return api.sign_up_response(request, result)


@app.route("/api/auth/confirm", methods=["POST"], content_types=ANY)
@api.endpoint
def confirm_sign_up() -> Response:
    request = app.current_request
    body = api.credentials(request, api.CONFIRM_FIELDS, api.CONFIRM_FIELDS)
    session = api.accounts().confirm(
        body["email"], body["code"], body["password"], api.client_ip(request)
    )
    return api.session_response(request, session, 200)


@app.route("/api/auth/resend", methods=["POST"], content_types=ANY)
@api.endpoint
def resend_code() -> Response:
    request = app.current_request
    body = api.credentials(request, api.RESEND_FIELDS, api.RESEND_FIELDS)
    api.accounts().resend_code(body["email"], api.client_ip(request))
    return plumbing.no_content()


@app.route("/api/auth/refresh", methods=["POST"], content_types=ANY)
@api.endpoint
def refresh() -> Response:
    request = app.current_request
    if plumbing.read_optional_json(request):
        raise plumbing.HttpError(400, "invalid_field", "Refreshing takes no fields; send {}")
    return api.refreshed_response(request)


@app.route("/api/auth/signin", methods=["POST"], content_types=ANY)
@api.endpoint
def sign_in() -> Response:
    request = app.current_request
    body = api.credentials(request, api.SIGN_IN_FIELDS)
    session = api.accounts().sign_in(body["email"], body["password"], api.client_ip(request))
    return api.session_response(request, session, 200)


@app.route("/api/auth/signout", methods=["POST"], content_types=ANY)
@api.endpoint
def sign_out() -> Response:
    request = app.current_request
    if plumbing.read_optional_json(request):
        raise plumbing.HttpError(400, "invalid_field", "Signing out takes no fields; send {}")
    refresh_token = plumbing.cookie(request, api.REFRESH_COOKIE) or ""
    api.accounts().sign_out(*api.presented_tokens(request), refresh_token=refresh_token)
    return api.signed_out_response(request)


@app.route("/api/me", methods=["GET"], content_types=ANY)
@api.endpoint
def me() -> Response:
    return plumbing.json_response({"user": api.user_json(api.signed_in(app.current_request))})


@app.route("/api/me", methods=["DELETE"], content_types=ANY)
@api.endpoint
def delete_me() -> Response:
    request = app.current_request
    api.accounts().delete_account(api.signed_in(request))
    return api.signed_out_response(request)


@app.route("/api/me/comments", methods=["GET"], content_types=ANY)
@api.endpoint
def my_comments() -> Response:
    request = app.current_request
    author = api.signed_in(request)
    query = api.own_query(request)
    page = api.comments().list_own(author.sub, query.limit, query.cursor)
    return plumbing.json_response(api.page_json(page, api.own_comment_json))


@app.route("/api/designs/{designer}/{design}/comments", methods=["POST"], content_types=ANY)
@api.endpoint
def post_comment(designer: str, design: str) -> Response:
    request = app.current_request
    author = api.signed_in(request)
    body = plumbing.read_json(request)
    key = request.headers.get("idempotency-key") or None
    result = api.comments().post(
        f"{designer}/{design}",
        author.sub,
        author.name,
        body,
        api.client_ip(request),
        key,
        author_email=author.email,  # kept for the admins' replies, never shown back
    )
    return plumbing.json_response(api.posted_json(result.comment), 201 if result.created else 200)


@app.route("/api/admin/comments", methods=["GET"], content_types=ANY)
@api.endpoint
def list_comments() -> Response:
    request = app.current_request
    api.admin(request)
    query = api.admin_query(request)
    page = api.comments().list_for_admin(query.filters, query.limit, query.cursor)
    return plumbing.json_response(api.page_json(page, api.admin_comment_json))


@app.route("/api/admin/comments.csv", methods=["GET"], content_types=ANY)
@api.endpoint
def export_comments() -> Response:
    request = app.current_request
    api.admin(request)
    rows = api.comments().export_csv(api.admin_query(request).filters)
    return plumbing.csv_response("".join(rows), "nailfolio-comments.csv")


@app.route("/api/admin/comments/{comment_id}", methods=["DELETE"], content_types=ANY)
@api.endpoint
def delete_comment(comment_id: str) -> Response:
    api.admin(app.current_request)
    if not api.comments().delete(comment_id):
        raise plumbing.HttpError(404, "not_found", "There is no comment with that id")
    return plumbing.no_content()


# --- The moderation queue (admins; nailfolio/web/moderation.py). Previews are images. ---
app.api.binary_types.extend(["image/webp", "image/avif", "image/*"])  # img Accept headers


@app.route("/api/admin/moderation", methods=["GET"], content_types=ANY)
@api.endpoint
def moderation_queue() -> Response:
    return plumbing.json_response(moderation.queue_json(app.current_request))


@app.route("/api/admin/moderation/preview", methods=["GET"], content_types=ANY)
@api.endpoint
def moderation_preview() -> Response:
    return moderation.preview_response(app.current_request)


@app.route("/api/admin/moderation/decisions", methods=["POST"], content_types=ANY)
@api.endpoint
def moderation_decide() -> Response:
    return plumbing.json_response(moderation.decide_json(app.current_request))


@app.route("/api/admin/moderation/history", methods=["GET"], content_types=ANY)
@api.endpoint
def moderation_history() -> Response:
    return plumbing.json_response(moderation.history_json(app.current_request))


@app.route("/api/admin/moderation/outbox", methods=["GET"], content_types=ANY)
@api.endpoint
def moderation_outbox() -> Response:
    return plumbing.json_response(moderation.outbox_json(app.current_request))


# --- Answering customers (nailfolio/web/replies.py): a comment's status. ---


@app.route("/api/admin/comments/{comment_id}", methods=["PATCH"], content_types=ANY)
@api.endpoint
def set_comment_status(comment_id: str) -> Response:
    from nailfolio.web.replies import status_body

    request = app.current_request
    api.admin(request)
    comment = api.comments().set_status(comment_id, status_body(request))
    return plumbing.json_response(api.admin_comment_json(comment))


# --- The designers' studio (nailfolio/web/studio.py): uploads, metadata, statuses. ---
app.api.binary_types.append(studio.MULTIPART)  # the local backend's file posts stay bytes


@app.route("/api/studio/designs", methods=["GET"], content_types=ANY)
@api.endpoint
@studio.guarded
def studio_designs() -> Response:
    request = app.current_request
    found = studio.folder(request, studio.list_designer(request))
    return plumbing.json_response(studio.designs_json(found, studio.service().list_designs(found)))


@app.route("/api/studio/uploads", methods=["POST"], content_types=ANY)
@api.endpoint
@studio.guarded
def ask_upload() -> Response:
    request = app.current_request
    body = studio.ask_fields(request)
    found = studio.folder(request, body.get("designer"))
    form = studio.service().ask_upload(
        found, body.get("filename"), body.get("content_type"), body.get("size")
    )
    return plumbing.json_response(studio.form_json(form), 201)


@app.route(studio.LOCAL_UPLOAD_PATH, methods=["POST"], content_types=ANY)
@api.endpoint
@studio.guarded
def receive_upload() -> Response:
    studio.receive(app.current_request)
    return plumbing.no_content()


@app.route("/api/studio/designs/{designer}/{design}", methods=["PUT"], content_types=ANY)
@api.endpoint
@studio.guarded
def save_design(designer: str, design: str) -> Response:
    request = app.current_request
    found = studio.folder(request, designer)
    studio.written(studio.service().save_metadata(found, design, plumbing.read_json(request)))
    return plumbing.json_response(studio.saved_json(found, design))


# --- Insights (issue 9): counters kept at write time; nailfolio/web/insights.py shapes them.


@app.route("/api/admin/insights", methods=["GET"], content_types=ANY)
@api.endpoint
def insights() -> Response:
    api.admin(app.current_request)
    return insights_web().report_response(app.current_request)


@app.route("/api/admin/insights.json", methods=["GET"], content_types=ANY)
@api.endpoint
def export_insights_json() -> Response:
    api.admin(app.current_request)
    return insights_web().report_response(app.current_request, download=True)


@app.route("/api/admin/insights.csv", methods=["GET"], content_types=ANY)
@api.endpoint
def export_insights_csv() -> Response:
    api.admin(app.current_request)
    return insights_web().csv_response(app.current_request)


def insights_web() -> Any:
    from nailfolio.web import insights

    return insights


# --- The hooks (nailfolio/gallery/events.py does the work; each imports it on first use). ---


@app.on_cw_event(
    {"source": ["aws.s3"], "detail-type": ["Object Created", "Object Deleted"]}, name="moderate"
)
def moderate(event: CloudWatchEvent) -> dict[str, Any]:
    """A file landed in (or left) the content bucket: ingest it, ask for a rebuild if needed."""
    from nailfolio.gallery import events

    return events.handle_content_event(event.to_dict()).as_json()


@app.on_sqs_message(
    queue="nailfolio-rebuild",
    batch_size=100,
    maximum_batching_window_in_seconds=30,
    name="rebuild",
)
def rebuild(event: SQSEvent) -> dict[str, Any]:
    """One rebuild per batch of requests; an error fails the batch, so SQS retries it."""
    from nailfolio.gallery import events

    return events.handle_rebuild_batch([record.body for record in event]).as_json()


@app.schedule(Rate(1, unit=Rate.HOURS), name="backfill_sentiment")
def backfill_sentiment(event: Any) -> dict[str, Any]:
    """Score the comments whose scoring never finished."""
    from nailfolio.gallery import events

    return {"scored": events.handle_backfill()}


# Every 5 minutes (comments.digest.CHECK_MINUTES): a digest goes out at most once per
# NAILFOLIO_DIGEST_MINUTES and only when there is something new, so most runs send nothing.
@app.schedule(Rate(5, unit=Rate.MINUTES), name="comment_digest")
def comment_digest(event: Any) -> dict[str, Any]:
    """Send the admins one digest of the comments posted since the last, if one is due."""
    from nailfolio.gallery import events

    return events.handle_comment_digest()
