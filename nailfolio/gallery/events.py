"""The hooks' handlers, shared by chalice_app/app.py (the Lambdas) and hooks/ (local).

- moderate: content keys changed (an S3 "Object Created" or "Object Deleted" event, routed
  by EventBridge; locally, keys named on the command line). Each created key is ingested;
  whenever that may change what the site shows (a design approved or withdrawn, removed,
  its sidecar or designer.md edited) one rebuild is requested through the RebuildQueue.
- rebuild: any number of requests (an SQS batch) make one render and publish, from the
  catalog, through config.open_site_target. On aws it moderates nothing (each upload has its
  own ingest) and a failure raises, so SQS retries the batch and at last dead-letters it.
- backfill: score the comments whose sentiment scoring never finished (on a schedule).
- comment digest: one message to the admins listing the comments posted since the last one,
  at most every settings.digest_minutes (on a schedule; locally `serve` runs it).

EventBridge events carry the object key as stored: S3's own notifications (to SQS, SNS or
a Lambda) URL-encode it, those sent through EventBridge do not (see the S3 guide's
"EventBridge event message structure"; moto sends them the same way), so it is not decoded.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from nailfolio import config
from nailfolio.config import Settings
from nailfolio.gallery.content import SIDECAR_SUFFIX
from nailfolio.gallery.content_store import check_key
from nailfolio.gallery.lambda_root import settings_file
from nailfolio.gallery.models import Status
from nailfolio.gallery.rebuild_queue import RebuildQueue, RebuildRequest

if TYPE_CHECKING:
    from nailfolio.comments.digest import Digest
    from nailfolio.gallery.pipeline import Ingested

logger = logging.getLogger(__name__)

CREATED, DELETED = "Object Created", "Object Deleted"
BACKFILL_BATCH = 100


@dataclass(frozen=True)
class ContentChange:
    """One content key ("designs/ana/red.jpg") written or removed."""

    key: str
    removed: bool = False


@dataclass(frozen=True)
class ModerationReport:
    """What the moderate handler did: each key's decision ("approved", "needs_review",
    "rejected"; "not usable"; "removed"; "unknown": not a design), the problems met, and
    the keys the rebuild was requested for (none: the site shows the same)."""

    decisions: Mapping[str, str] = field(default_factory=dict)
    problems: tuple[str, ...] = ()
    rebuild_for: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "decisions": dict(self.decisions),
            "problems": list(self.problems),
            "rebuild_for": list(self.rebuild_for),
        }


@dataclass(frozen=True)
class RebuildReport:
    """What one rebuild did, for any number of requests."""

    requests: int
    published: int
    processed: int
    problems: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "published": self.published,
            "processed": self.processed,
            "problems": list(self.problems),
        }


def content_change(event: Mapping[str, Any], bucket: str) -> ContentChange | None:
    """The content key an S3 EventBridge event names, or None: an event of another source,
    type or bucket than the content `bucket`, or a key outside designs/<designer>/."""
    kind = event.get("detail-type")
    if event.get("source") != "aws.s3" or kind not in (CREATED, DELETED):
        return None
    detail = event.get("detail") or {}
    named = (detail.get("bucket") or {}).get("name")
    if named != bucket:
        logger.warning("ignored an S3 event from bucket %r: not the content bucket", named)
        return None
    key = (detail.get("object") or {}).get("key")
    if not isinstance(key, str) or not is_content_key(key):
        logger.info("ignored an S3 event for %r: not under designs/<designer>/", key)
        return None
    return ContentChange(key, removed=kind == DELETED)


def is_content_key(key: str) -> bool:
    """Whether `key` names a file in a designer's folder (designs/<designer>/<file>)."""
    try:
        check_key(key)
    except ValueError:
        return False
    return key.count("/") >= 2


def moderate_changes(
    settings: Settings, changes: Sequence[ContentChange], queue: RebuildQueue
) -> ModerationReport:
    """Ingest each created key; request one rebuild when any change may alter the site. Every
    removal does (slugs depend on the folder's other files, so a removed file's design
    cannot be named for certain; a rebuild that finds nothing changed publishes nothing)."""
    from nailfolio.gallery.pipeline import ingest_changes

    valid = [change for change in changes if is_content_key(change.key)]
    created = [change.key for change in valid if not change.removed]
    removed = [change.key for change in valid if change.removed]
    found = ingest_changes(settings, created) if created else {}
    decisions = dict.fromkeys((change.key for change in changes), "unknown")
    decisions.update({key: _decision_name(found.get(key)) for key in created})
    decisions.update(dict.fromkeys(removed, "removed"))
    changed = [key for key in created if _alters_site(key, found.get(key))] + removed
    if changed:
        queue.request(f"content changed: {', '.join(changed[:3])}", changed)
    problems = tuple(str(item.result.problem) for item in found.values() if item.result.problem)
    return ModerationReport(decisions, problems, tuple(changed))


def handle_content_event(event: Mapping[str, Any]) -> ModerationReport:
    """The moderate Lambda: one S3 EventBridge event, with the Lambda's settings."""
    settings = config.lambda_settings()
    change = content_change(event, settings.aws.get("content_bucket"))
    if change is None:
        return ModerationReport()
    return moderate_changes(settings, [change], config.open_rebuild_queue(settings))


def rebuild_site(
    settings: Settings,
    requests: Sequence[RebuildRequest] = (),
    *,
    moderate_new: bool = True,
    production: bool = False,
) -> RebuildReport:
    """One render and publish for any number of requests: the build works out what changed.
    `moderate_new=False` renders from the catalog's decisions alone; `production` renders
    with publishconf.py when the project has one."""
    from nailfolio.gallery.pipeline import build_configured

    for request in requests:
        logger.info("rebuild requested: %s (%d keys)", request.reason, request.count)
    conf = settings_file(settings.root) if production else None
    report = build_configured(settings, moderate_new=moderate_new, conf=conf)
    problems = tuple(str(problem) for problem in report.problems)
    return RebuildReport(len(requests), report.published, report.processed, problems)


def handle_rebuild_batch(bodies: Sequence[str]) -> RebuildReport:
    """The rebuild Lambda: one rebuild for a batch of SQS message bodies, whatever they say;
    raises when it fails, so that SQS delivers the batch again."""
    requests = [RebuildRequest.from_json(body) for body in bodies]
    settings = config.lambda_settings()
    return rebuild_site(settings, requests, moderate_new=False, production=True)


def backfill_sentiment(settings: Settings, batch: int = BACKFILL_BATCH) -> int:
    """Score every pending comment; how many were scored. A failing analyzer leaves them
    pending for the next run. Only the comment store and the analyzer are built: the
    backfill Lambda needs no user pool."""
    from nailfolio.comments.service import CommentService

    analyzer = config.build_sentiment_analyzer(settings)
    with (
        config.open_comment_store(settings) as store,
        config.open_rate_limiter(settings) as limiter,  # unused: backfilling posts nothing
    ):
        phrases = config.build_key_phrases(settings)  # found with the score, for the insights
        service = CommentService(store, analyzer, limiter, lambda key: True, phrases=phrases)
        scored = service.backfill_all(batch)
    logger.info("sentiment backfill: %d comments scored", scored)
    return scored


def handle_backfill() -> int:
    """The scheduled backfill Lambda."""
    return backfill_sentiment(config.load_settings())


def send_comment_digest(settings: Settings) -> Digest:
    """Send the admins a digest of new comments if one is due (comments.digest): through the
    outbox locally, the SNS topic on aws. A failed send raises and the comments wait."""
    from nailfolio.comments.digest import send_digest

    every = timedelta(minutes=settings.digest_minutes)
    admin_url = f"{settings.site_url}/admin/"
    with (
        config.open_comment_store(settings) as store,
        config.open_notifier(settings) as notifier,
    ):
        return send_digest(store, notifier, admin_url, every, site_name=settings.site_name)


def handle_comment_digest() -> dict[str, Any]:
    """The scheduled digest Lambda."""
    digest = send_comment_digest(config.load_settings())
    return {"sent": digest.sent, "reason": digest.reason}


def _decision_name(found: Ingested | None) -> str:
    if found is None:
        return "unknown"
    return found.result.status.value if found.result.status else "not usable"


def _alters_site(key: str, found: Ingested | None) -> bool:
    """Whether ingesting `key` may change what the site shows: always, but for a first
    version that is held back. An approved design asks again though its bytes are known:
    this may be a retry whose first try recorded the decision and then failed to send the
    request (a rebuild that finds nothing changed publishes nothing)."""
    if found is None:  # not a design image: a sidecar or designer.md is on the pages
        return key.lower().endswith(SIDECAR_SUFFIX)
    return found.previous is not None or found.result.status is Status.APPROVED
