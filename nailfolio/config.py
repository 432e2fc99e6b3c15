"""Settings and the one place that picks a backend and builds its adapters.

Environment variables read here and nowhere else:
  NAILFOLIO_BACKEND   local (default) or aws
  NAILFOLIO_ROOT      project folder holding content/, theme/, var/, output/ (default: the
                      current folder or the nearest one above it holding content/ or
                      pelicanconf.py, as git finds its repository)
  NAILFOLIO_WORKERS   image worker processes (default: number of cores)
  NAILFOLIO_SITE_URL  absolute http(s) URL of the published site (default
                      http://127.0.0.1:8000; `serve` uses its own address when this is unset)
  NAILFOLIO_TRUSTED_PROXIES  comma-separated CIDRs allowed to set X-Forwarded-For
  NAILFOLIO_RATE_LIMIT_SCALE  multiplies the web API's rate limits (load tests; default 1)
  NAILFOLIO_MAX_FILE_MB       largest image file accepted (default 50)
  NAILFOLIO_MAX_MEGAPIXELS    largest image accepted, in millions of pixels (default 64)
  NAILFOLIO_IMAGE_WIDTHS      the design pages' WebP widths in pixels, comma-separated
                              (default 480,960,1440)
  NAILFOLIO_REVIEW_AT         moderation confidence (0-100) that holds an image for review (40)
  NAILFOLIO_REJECT_AT         moderation confidence (0-100) that rejects it outright (85)
  NAILFOLIO_DIGEST_MINUTES    the admins get a digest of new comments at most this often (15)
`build.py deploy` carries the last six (TUNING_VARIABLES), as set where it runs, into the
stack's functions: a deployed rebuild renders and moderates as a local build does.
With NAILFOLIO_BACKEND=aws, the resources (AWS_SETTINGS below: each name, its variable, its
default, what it is for). Only the resources a command uses must be set; a missing one is a
ConfigError naming its variable when that command first needs it.
"""

from __future__ import annotations

import functools
import ipaddress
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from nailfolio.errors import ConfigError
from nailfolio.gallery.settings import ImageSettings, ModerationSettings

if TYPE_CHECKING:
    from nailfolio.comments.sentiment import KeyPhraseExtractor, SentimentAnalyzer
    from nailfolio.comments.service import CommentStore
    from nailfolio.gallery.catalog import Catalog
    from nailfolio.gallery.content_store import ContentStore
    from nailfolio.gallery.content_sync import ContentBucket
    from nailfolio.gallery.design_uploads import UploadForms
    from nailfolio.gallery.moderation import Moderator
    from nailfolio.gallery.moderation_queue import PreviewLinks
    from nailfolio.gallery.notify import Notifier
    from nailfolio.gallery.publish import SiteTarget
    from nailfolio.gallery.rebuild_queue import RebuildQueue
    from nailfolio.gallery.rendition_store import RenditionStore
    from nailfolio.identity.provider import IdentityProvider
    from nailfolio.local.outbox_notifier import OutboxNotifier
    from nailfolio.ratelimit import RateLimiter

BACKENDS = ("local", "aws")
DEFAULT_SITE_URL = "http://127.0.0.1:8000"
DEFAULT_AWS_PREFIX = "nailfolio"
# NAILFOLIO_IMAGE_WIDTHS: a phone at 1x is 320 px wide, a 4K screen 3840; each width costs
# every image an encode, so a handful is plenty.
IMAGE_WIDTH_RANGE = (160, 3840)
MAX_IMAGE_WIDTHS = 6
# What an owner tunes, and the stack's functions must read alike (Settings.tuning).
TUNING_VARIABLES = (
    "NAILFOLIO_MAX_FILE_MB",
    "NAILFOLIO_MAX_MEGAPIXELS",
    "NAILFOLIO_IMAGE_WIDTHS",
    "NAILFOLIO_REVIEW_AT",
    "NAILFOLIO_REJECT_AT",
    "NAILFOLIO_DIGEST_MINUTES",
)


@dataclass(frozen=True)
class AwsSetting:
    """One resource setting of the aws backend: where it comes from and what it is for."""

    variable: str
    default: str  # "" means none (required when used); {prefix} is NAILFOLIO_AWS_PREFIX
    purpose: str


AWS_SETTINGS = {
    "region": AwsSetting(
        "NAILFOLIO_AWS_REGION", "", "AWS region (else AWS_REGION, AWS_DEFAULT_REGION)"
    ),
    "endpoint_url": AwsSetting(
        "NAILFOLIO_AWS_ENDPOINT_URL", "", "one endpoint for every service (moto's server)"
    ),
    "catalog_table": AwsSetting(
        "NAILFOLIO_CATALOG_TABLE", "{prefix}-catalog", "DynamoDB: designs and decisions"
    ),
    "comments_table": AwsSetting(
        "NAILFOLIO_COMMENTS_TABLE", "{prefix}-comments", "DynamoDB: customers' comments"
    ),
    "rate_limit_table": AwsSetting(
        "NAILFOLIO_RATE_LIMIT_TABLE", "{prefix}-ratelimit", "DynamoDB: rate-limit counters"
    ),
    "revocation_table": AwsSetting(
        "NAILFOLIO_REVOCATION_TABLE", "{prefix}-revocations", "DynamoDB: signed-out tokens"
    ),
    "content_bucket": AwsSetting(
        "NAILFOLIO_CONTENT_BUCKET", "", "S3, private: the designers' files under designs/"
    ),
    "assets_bucket": AwsSetting(
        "NAILFOLIO_ASSETS_BUCKET", "", "S3, private: the rendered variants of every image"
    ),
    "cognito_pool_id": AwsSetting(
        "NAILFOLIO_COGNITO_POOL_ID", "", "Cognito user pool of the studio's accounts"
    ),
    "cognito_client_id": AwsSetting(
        "NAILFOLIO_COGNITO_CLIENT_ID", "", "the pool's app client the web form signs in with"
    ),
    "cognito_issuer": AwsSetting(
        "NAILFOLIO_COGNITO_ISSUER", "", "tokens' iss (default: the pool's AWS address)"
    ),
    "cognito_jwks_url": AwsSetting(
        "NAILFOLIO_COGNITO_JWKS_URL",
        "",
        "the pool's signing keys (default: <issuer>/.well-known/jwks.json)",
    ),
    "topic_arn": AwsSetting("NAILFOLIO_TOPIC_ARN", "", "SNS topic the admins' notifications go to"),
    "comprehend_language": AwsSetting(
        "NAILFOLIO_COMPREHEND_LANGUAGE", "en", "language Comprehend scores comments in"
    ),
    "rebuild_queue_url": AwsSetting(
        "NAILFOLIO_REBUILD_QUEUE_URL", "", "SQS queue of rebuild requests (the rebuild Lambda's)"
    ),
    "site_bucket": AwsSetting(
        "NAILFOLIO_SITE_BUCKET", "", "S3, private: the published site, served by CloudFront"
    ),
    "cloudfront_distribution": AwsSetting(
        "NAILFOLIO_CLOUDFRONT_DISTRIBUTION",
        "",
        "CloudFront distribution id in front of the site bucket (empty: no invalidation)",
    ),
    "invalidation_max_paths": AwsSetting(
        "NAILFOLIO_INVALIDATION_MAX_PATHS",
        "100",
        "more changed paths than this invalidate /* instead (1,000 paths a month are free)",
    ),
    "preview_ttl_s": AwsSetting(
        "NAILFOLIO_PREVIEW_TTL_S",
        "300",
        "seconds a moderation preview's presigned URL to the content bucket stays valid "
        "(1 to 3600; admins only)",
    ),
    "origin_secret": AwsSetting(
        "NAILFOLIO_ORIGIN_SECRET",
        "",
        "what CloudFront adds to every API request (X-Nailfolio-Origin); a request carrying it "
        "is taken to come from the viewer in CloudFront-Viewer-Address (the stack sets it)",
    ),
}


@dataclass(frozen=True)
class AwsSettings:
    """Where the aws backend's resources are (see AWS_SETTINGS)."""

    values: Mapping[str, str] = field(default_factory=dict)

    def get(self, name: str) -> str:
        """The setting's value, or a ConfigError naming its variable when it has none."""
        value = self.values.get(name, "")
        if not value:
            setting = AWS_SETTINGS[name]
            raise ConfigError(
                f"{setting.variable} is not set; the aws backend needs it ({setting.purpose})"
            )
        return value


@dataclass(frozen=True)
class Settings:
    root: Path
    backend: str = "local"
    workers: int = 0  # 0: one per core
    site_url: str = DEFAULT_SITE_URL
    site_url_explicit: bool = False  # NAILFOLIO_SITE_URL was set: `serve` keeps it
    project_found: bool = True  # False: no project folder around the cwd; root is the cwd
    site_name: str = "Nailfolio"
    # Proxies (CIDRs) whose X-Forwarded-For is believed; nobody's by default.
    trusted_proxies: tuple[str, ...] = ()
    # Multiplies every rate limit of the web API; raise it for load tests, never in production.
    rate_limit_scale: float = 1.0
    # The admins' digest of new comments goes out at most once per this many minutes.
    digest_minutes: float = 15.0
    images: ImageSettings = field(default_factory=ImageSettings)
    moderation: ModerationSettings = field(default_factory=ModerationSettings)
    aws: AwsSettings = field(default_factory=AwsSettings)
    # The TUNING_VARIABLES that were set, as (variable, value): what `deploy` hands on.
    tuning: tuple[tuple[str, str], ...] = ()

    @property
    def content_dir(self) -> Path:
        return self.root / "content"

    @property
    def designs_dir(self) -> Path:
        return self.content_dir / "designs"

    @property
    def output_dir(self) -> Path:
        return self.root / "output"

    @property
    def var_dir(self) -> Path:
        return self.root / "var"

    @property
    def theme_dir(self) -> Path:
        return self.root / "theme"

    @property
    def renditions_dir(self) -> Path:
        """Cache of rendered variants, keyed by content hash; copied into output/ on build."""
        return self.var_dir / "renditions"

    @property
    def catalog_path(self) -> Path:
        return self.var_dir / "catalog.sqlite3"

    @property
    def outbox_path(self) -> Path:
        return self.var_dir / "outbox.sqlite3"

    @property
    def comments_path(self) -> Path:
        return self.var_dir / "comments.sqlite3"

    @property
    def ratelimit_path(self) -> Path:
        return self.var_dir / "ratelimit.sqlite3"

    @property
    def identity_path(self) -> Path:
        return self.var_dir / "identity.sqlite3"

    @property
    def signing_key_path(self) -> Path:
        return self.var_dir / "identity" / "signing-key.pem"

    @property
    def worker_count(self) -> int:
        return self.workers or os.cpu_count() or 1

    def with_root(self, root: Path) -> Settings:
        return replace(self, root=root)


def load_settings(env: Mapping[str, str] | None = None, root: Path | None = None) -> Settings:
    """Build Settings from the environment; raises ConfigError with a fixable message."""
    env = os.environ if env is None else env
    backend = env.get("NAILFOLIO_BACKEND", "local").strip().lower() or "local"
    if backend not in BACKENDS:
        raise ConfigError(
            f"NAILFOLIO_BACKEND={backend!r} is not a backend; use one of: {', '.join(BACKENDS)}"
        )
    chosen = root or env.get("NAILFOLIO_ROOT")
    found = None if chosen else find_project_root(Path.cwd())
    root = Path(chosen or found or Path.cwd()).resolve()
    workers = int(_number(env, "NAILFOLIO_WORKERS", 0, 0, whole=True))
    site_url_text = env.get("NAILFOLIO_SITE_URL", "").strip()
    site_url = _site_url(site_url_text) if site_url_text else DEFAULT_SITE_URL
    proxies = tuple(
        p.strip() for p in env.get("NAILFOLIO_TRUSTED_PROXIES", "").split(",") if p.strip()
    )
    for proxy in proxies:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise ConfigError(
                f"NAILFOLIO_TRUSTED_PROXIES: {proxy!r} is not an address or CIDR"
            ) from None
    scale = _number(env, "NAILFOLIO_RATE_LIMIT_SCALE", 1, 0, above=True)
    digest_minutes = _number(env, "NAILFOLIO_DIGEST_MINUTES", 15, 0, above=True)
    images = ImageSettings(
        max_file_bytes=round(_number(env, "NAILFOLIO_MAX_FILE_MB", 50, 0, above=True) * 2**20),
        max_pixels=round(_number(env, "NAILFOLIO_MAX_MEGAPIXELS", 64, 0, above=True) * 1e6),
        widths=_widths(env, "NAILFOLIO_IMAGE_WIDTHS"),
    )
    moderation = ModerationSettings(
        review_at=_number(env, "NAILFOLIO_REVIEW_AT", 40, 0, 100),
        reject_at=_number(env, "NAILFOLIO_REJECT_AT", 85, 0, 100),
    )
    if moderation.review_at > moderation.reject_at:
        raise ConfigError(
            f"NAILFOLIO_REVIEW_AT={moderation.review_at:g} is above "
            f"NAILFOLIO_REJECT_AT={moderation.reject_at:g}; review must come first"
        )
    return Settings(
        root=root,
        backend=backend,
        workers=workers,
        site_url=site_url,
        site_url_explicit=bool(site_url_text),
        project_found=bool(chosen or found),
        trusted_proxies=proxies,
        rate_limit_scale=scale,
        digest_minutes=digest_minutes,
        images=images,
        moderation=moderation,
        aws=_aws_settings(env),
        tuning=tuple(
            (name, env[name].strip()) for name in TUNING_VARIABLES if env.get(name, "").strip()
        ),
    )


def _aws_settings(env: Mapping[str, str]) -> AwsSettings:
    """Every AWS_SETTINGS value from `env`, defaults filled in; read on either backend (it is
    cheap), checked only when an aws adapter is built."""
    prefix = env.get("NAILFOLIO_AWS_PREFIX", "").strip() or DEFAULT_AWS_PREFIX
    values = {
        name: env.get(setting.variable, "").strip() or setting.default.format(prefix=prefix)
        for name, setting in AWS_SETTINGS.items()
    }
    values["region"] = values["region"] or (
        env.get("AWS_REGION", "").strip() or env.get("AWS_DEFAULT_REGION", "").strip()
    )
    region, pool = values["region"], values["cognito_pool_id"]
    if region and pool:  # where Cognito keeps a pool's issuer and keys; moto's differ
        issuer = values["cognito_issuer"] or f"https://cognito-idp.{region}.amazonaws.com/{pool}"
        values["cognito_issuer"] = issuer
        values["cognito_jwks_url"] = values["cognito_jwks_url"] or f"{issuer}/.well-known/jwks.json"
    return AwsSettings(values)


def find_project_root(start: Path) -> Path | None:
    """The nearest folder from `start` upwards holding content/ or pelicanconf.py, if any."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / "content").is_dir() or (folder / "pelicanconf.py").is_file():
            return folder
    return None


def local_site_url(host: str, port: int) -> str:
    """The URL a browser on this machine uses for a server bound to host:port."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"  # bound to every address: loopback is one of them
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def serve_settings(settings: Settings, host: str, port: int) -> Settings:
    """The settings a local `serve` builds with: links follow its own address, unless
    NAILFOLIO_SITE_URL was set."""
    if settings.site_url_explicit:
        return settings
    return replace(settings, site_url=local_site_url(host, port))


def _site_url(text: str) -> str:
    """NAILFOLIO_SITE_URL without its trailing slash, or a ConfigError: it ends up in every
    canonical link, the sitemap and the feed, so "notaurl" must not get that far."""
    if not _is_site_url(text):
        raise ConfigError(
            f"NAILFOLIO_SITE_URL={text!r} must be an absolute http(s) URL, "
            "e.g. https://studio.example"
        )
    return text.rstrip("/")


def _is_site_url(text: str) -> bool:
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number)
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and not (parts.query or parts.fragment or parts.username or parts.password)
        and not any(char.isspace() for char in text)
    )


def _number(
    env: Mapping[str, str],
    name: str,
    default: float,
    low: float,
    high: float = math.inf,
    *,
    whole: bool = False,
    above: bool = False,
) -> float:
    """A numeric setting within [low, high] (above low, if `above`), or a ConfigError."""
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text) if whole else float(text)
    except ValueError:
        value = float("nan")
    too_low = value <= low if above else value < low
    if not math.isfinite(value) or too_low or value > high:
        kind = "a whole number" if whole else "a number"
        if above:
            bound = f"above {low:g}"
        elif high == math.inf:
            bound = f"of {low:g} or more"
        else:
            bound = f"from {low:g} to {high:g}"
        raise ConfigError(f"{name}={text!r} must be {kind} {bound}")
    return value


def _widths(env: Mapping[str, str], name: str) -> tuple[int, ...]:
    """Image widths in pixels ("480, 960,1440"), smallest first, or a ConfigError."""
    text = env.get(name, "").strip()
    if not text:
        return ImageSettings().widths
    try:
        widths = tuple(sorted({int(part) for part in text.split(",")}))
    except ValueError:
        widths = ()
    low, high = IMAGE_WIDTH_RANGE
    if not widths or len(widths) > MAX_IMAGE_WIDTHS or widths[0] < low or widths[-1] > high:
        raise ConfigError(
            f"{name}={text!r} must be 1 to {MAX_IMAGE_WIDTHS} whole numbers from {low} to "
            f"{high}, comma-separated, such as 480,960,1440"
        )
    return widths


# Adapter builders: the only code that knows which class serves which port on which backend.
# Imports stay inside so that choosing a backend never loads the other one's libraries.


def _aws_client(settings: Settings, service: str) -> Any:
    from nailfolio.aws.clients import client

    aws = settings.aws
    return client(service, aws.get("region"), aws.values.get("endpoint_url", ""))


def open_catalog(settings: Settings) -> Catalog:
    if settings.backend == "aws":
        from nailfolio.aws.dynamodb_catalog import DynamoCatalog

        return DynamoCatalog(_aws_client(settings, "dynamodb"), settings.aws.get("catalog_table"))
    from nailfolio.local.sqlite_catalog import SqliteCatalog

    return SqliteCatalog(settings.catalog_path)


def open_content_store(settings: Settings) -> ContentStore:
    """The designers' files: content/ locally, the private content bucket on aws."""
    if settings.backend == "aws":
        from nailfolio.aws.s3_content_store import S3ContentStore

        return S3ContentStore(_aws_client(settings, "s3"), settings.aws.get("content_bucket"))
    from nailfolio.local.folder_content_store import FolderContentStore

    return FolderContentStore(settings.content_dir)


def open_content_sync(settings: Settings) -> tuple[ContentStore, ContentBucket]:
    """What `content sync` works on: the content/ folder and the content bucket it uploads
    to (aws only: locally content/ is the content store itself, so there is nothing to sync)."""
    if settings.backend != "aws":
        raise ConfigError(
            "nothing to sync: on the local backend the content folder is the content store "
            "itself; set NAILFOLIO_BACKEND=aws to upload it to the content bucket"
        )
    from nailfolio.aws.s3_content_bucket import S3ContentBucket
    from nailfolio.local.folder_content_store import FolderContentStore

    bucket = S3ContentBucket(_aws_client(settings, "s3"), settings.aws.get("content_bucket"))
    return FolderContentStore(settings.content_dir), bucket


def open_upload_forms(settings: Settings) -> UploadForms:
    """The studio's upload forms: presigned POSTs straight into the content bucket on aws;
    locally signed forms that the API's own POST /api/studio/files receives."""
    if settings.backend == "aws":
        from nailfolio.aws.clients import client
        from nailfolio.aws.s3_upload_forms import S3UploadForms, upload_url

        aws = settings.aws
        bucket, region = aws.get("content_bucket"), aws.get("region")
        endpoint = aws.values.get("endpoint_url", "")
        signer = client("s3", region, endpoint, signature_version="s3v4")
        return S3UploadForms(signer, bucket, upload_url(bucket, region, endpoint))
    from nailfolio.local.signed_upload_forms import SignedUploadForms
    from nailfolio.web.studio import LOCAL_UPLOAD_PATH

    content = open_content_store(settings)
    return SignedUploadForms(settings.signing_key_path, LOCAL_UPLOAD_PATH, content)


def content_written_hook(settings: Settings) -> Callable[[str], object] | None:
    """What runs after the API writes a content key: on aws nothing (the bucket's event runs
    the moderate Lambda); locally the same handler, at once (ingest, then a rebuild)."""
    if settings.backend == "aws":
        return None

    def moderate(key: str) -> object:
        from nailfolio.gallery import events

        change = events.ContentChange(key)
        return events.moderate_changes(settings, [change], open_rebuild_queue(settings))

    return moderate


def open_rendition_store(settings: Settings) -> RenditionStore:
    """The rendered variants: var/renditions/ locally, the private assets bucket on aws."""
    if settings.backend == "aws":
        from nailfolio.aws.s3_rendition_store import S3RenditionStore

        return S3RenditionStore(_aws_client(settings, "s3"), settings.aws.get("assets_bucket"))
    from nailfolio.local.folder_rendition_store import FolderRenditionStore

    return FolderRenditionStore(settings.renditions_dir)


def open_notifier(settings: Settings) -> Notifier:
    if settings.backend == "aws":
        from nailfolio.aws.sns_notifier import SnsNotifier

        return SnsNotifier(_aws_client(settings, "sns"), settings.aws.get("topic_arn"))
    return open_outbox(settings)


def open_outbox(settings: Settings) -> OutboxNotifier:
    """The local notifier, whose notifications can be read back (`moderation outbox`)."""
    if settings.backend == "aws":
        raise ConfigError(
            "the aws backend keeps no outbox: notifications go to the SNS topic "
            f"{settings.aws.values.get('topic_arn') or '(NAILFOLIO_TOPIC_ARN)'}; "
            "subscribe an email address to it to read them"
        )
    from nailfolio.local.outbox_notifier import OutboxNotifier

    return OutboxNotifier(settings.outbox_path)


PREVIEW_TTL_MAX_S = 3600  # a preview link lives minutes, never a day


def open_preview_links(settings: Settings) -> PreviewLinks:
    """Links an admin's browser previews originals with: the admin-only API route locally;
    presigned GET URLs (SigV4, NAILFOLIO_PREVIEW_TTL_S seconds) to the content bucket on aws."""
    if settings.backend == "aws":
        from nailfolio.aws.clients import client
        from nailfolio.aws.s3_preview_links import S3PreviewLinks

        aws = settings.aws
        bucket = aws.get("content_bucket")
        text = aws.values.get("preview_ttl_s", "")
        if not (text.isdigit() and 1 <= int(text) <= PREVIEW_TTL_MAX_S):
            raise ConfigError(
                f"NAILFOLIO_PREVIEW_TTL_S={text!r} must be a whole number of seconds from 1 "
                f"to {PREVIEW_TTL_MAX_S}"
            )
        s3 = client("s3", aws.get("region"), aws.values.get("endpoint_url", ""), "s3v4")
        return S3PreviewLinks(s3, bucket, int(text))
    from nailfolio.local.route_preview_links import RoutePreviewLinks

    return RoutePreviewLinks()


def moderator_factory(settings: Settings) -> Callable[[], Moderator]:
    """A factory, not a moderator: each worker process builds its own model session (or
    client); it pickles, to reach the pool's workers."""
    if settings.backend == "aws":
        settings.aws.get("region")  # a missing region is told now, not in every worker
        return functools.partial(_rekognition_moderator, settings)
    from nailfolio.local.nsfw_moderator import OpenNsfwModerator

    return OpenNsfwModerator


def _rekognition_moderator(settings: Settings) -> Moderator:
    from nailfolio.aws.rekognition_moderator import RekognitionModerator

    client = _aws_client(settings, "rekognition")
    return RekognitionModerator(client, review_at=settings.moderation.review_at)


def open_identity(settings: Settings) -> IdentityProvider:
    """Accounts: SQLite and a local signing key, or a Cognito user pool with a revocation
    table (the pool's JWKS is fetched here, once per process)."""
    if settings.backend == "aws":
        from nailfolio.aws.cognito_identity import CognitoIdentity, cognito_verifier

        aws = settings.aws
        client_id = aws.get("cognito_client_id")
        pool = aws.get("cognito_pool_id")
        verifier = cognito_verifier(
            aws.get("cognito_jwks_url"), aws.get("cognito_issuer"), client_id
        )
        return CognitoIdentity(
            _aws_client(settings, "cognito-idp"),
            pool,
            client_id,
            verifier,
            _aws_client(settings, "dynamodb"),
            aws.get("revocation_table"),
        )
    from nailfolio.local.sqlite_identity import LocalIdentity

    return LocalIdentity(settings.identity_path, settings.signing_key_path)


def open_comment_store(settings: Settings) -> CommentStore:
    if settings.backend == "aws":
        from nailfolio.aws.dynamodb_comment_store import DynamoCommentStore

        client = _aws_client(settings, "dynamodb")
        return DynamoCommentStore(client, settings.aws.get("comments_table"))
    from nailfolio.local.sqlite_comment_store import SqliteCommentStore

    return SqliteCommentStore(settings.comments_path)


def open_rate_limiter(settings: Settings) -> RateLimiter:
    if settings.backend == "aws":
        from nailfolio.aws.dynamodb_rate_limiter import DynamoRateLimiter

        client = _aws_client(settings, "dynamodb")
        return DynamoRateLimiter(client, settings.aws.get("rate_limit_table"))
    from nailfolio.local.sqlite_rate_limiter import SqliteRateLimiter

    return SqliteRateLimiter(settings.ratelimit_path)


def build_sentiment_analyzer(settings: Settings) -> SentimentAnalyzer:
    if settings.backend == "aws":
        from nailfolio.aws.comprehend_sentiment import ComprehendAnalyzer

        client = _aws_client(settings, "comprehend")
        return ComprehendAnalyzer(client, settings.aws.get("comprehend_language"))
    from nailfolio.local.vader_sentiment import VaderAnalyzer

    return VaderAnalyzer()


def build_key_phrases(settings: Settings) -> KeyPhraseExtractor:
    """The insights' key phrases: Comprehend DetectKeyPhrases on aws, YAKE locally."""
    if settings.backend == "aws":
        from nailfolio.aws.comprehend_sentiment import ComprehendAnalyzer

        client = _aws_client(settings, "comprehend")
        return ComprehendAnalyzer(client, settings.aws.get("comprehend_language"))
    from nailfolio.local.yake_key_phrases import YakeKeyPhrases

    return YakeKeyPhrases()


def open_site_target(
    settings: Settings, renditions: RenditionStore | None = None, *, allow_deletes: bool = False
) -> SiteTarget:
    """Where publish puts the site: output/ locally; on aws the site bucket, invalidated at
    its CloudFront distribution (if one is set). Images come from `renditions` (default: the
    settings' rendition store). `allow_deletes` lifts the bucket's max-deletes guard."""
    if settings.backend == "aws":
        return _s3_site_target(settings, renditions, allow_deletes)
    from nailfolio.local.folder_site_target import FolderSiteTarget

    record = settings.var_dir / "output.json"
    images = renditions or open_rendition_store(settings)
    return FolderSiteTarget(settings.output_dir, record, images)


def _s3_site_target(
    settings: Settings, renditions: RenditionStore | None, allow_deletes: bool
) -> SiteTarget:
    from nailfolio.aws.cloudfront import MAX_PATHS, CloudFrontInvalidator
    from nailfolio.aws.s3_site_target import S3SiteTarget
    from nailfolio.gallery.publish import CachePolicy

    aws = settings.aws
    bucket = aws.get("site_bucket")  # the setting a publish needs first
    text = aws.values.get("invalidation_max_paths", "")
    try:
        max_paths = int(text)
    except ValueError:
        max_paths = 0
    if not 1 <= max_paths <= MAX_PATHS:
        raise ConfigError(
            f"NAILFOLIO_INVALIDATION_MAX_PATHS={text!r} must be a whole number from 1 to "
            f"{MAX_PATHS}"
        )
    distribution = aws.values.get("cloudfront_distribution", "")
    cdn = None
    if distribution:
        cdn = CloudFrontInvalidator(_aws_client(settings, "cloudfront"), distribution)
    policy = CachePolicy(allow_deletes=allow_deletes, max_invalidation_paths=max_paths)
    images = renditions or open_rendition_store(settings)
    return S3SiteTarget(_aws_client(settings, "s3"), bucket, images, cdn, policy)


# The hooks (issue 8): the rebuild queue, and the settings of a run inside AWS Lambda.
LAMBDA_ROOT = Path("/tmp/nailfolio")  # Lambda's one writable folder


def open_rebuild_queue(
    settings: Settings, rebuild: Callable[[], object] | None = None
) -> RebuildQueue:
    """Where rebuild requests go: on aws the SQS rebuild queue; locally `rebuild` runs at
    once (default: a whole build with these settings)."""
    if settings.backend == "aws":
        from nailfolio.aws.sqs_rebuild_queue import SqsRebuildQueue

        client = _aws_client(settings, "sqs")
        return SqsRebuildQueue(client, settings.aws.get("rebuild_queue_url"))
    from nailfolio.local.immediate_rebuild import ImmediateRebuild

    return ImmediateRebuild(rebuild or functools.partial(_build_now, settings))


def _build_now(settings: Settings) -> object:
    from nailfolio.gallery.pipeline import build_configured

    return build_configured(settings)


def lambda_settings(env: Mapping[str, str] | None = None) -> Settings:
    """The settings of a Lambda run: root in /tmp (NAILFOLIO_ROOT overrides it; a warm
    container reuses it) holding the project files the bundle carries in
    $LAMBDA_TASK_ROOT/project (code there is read-only), and one image worker (Lambda has no
    /dev/shm for a process pool)."""
    env = os.environ if env is None else env
    from nailfolio.gallery.lambda_root import prepare_root

    root = Path(env.get("NAILFOLIO_ROOT") or LAMBDA_ROOT)
    bundle = Path(env.get("LAMBDA_TASK_ROOT") or Path.cwd()) / "project"
    prepare_root(bundle, root)
    return replace(load_settings(env, root=root), workers=1)
