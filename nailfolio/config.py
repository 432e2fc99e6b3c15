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
  NAILFOLIO_REVIEW_AT         moderation confidence (0-100) that holds an image for review (40)
  NAILFOLIO_REJECT_AT         moderation confidence (0-100) that rejects it outright (85)
"""

from __future__ import annotations

import ipaddress
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from nailfolio.errors import ConfigError
from nailfolio.gallery.settings import ImageSettings, ModerationSettings

if TYPE_CHECKING:
    from nailfolio.comments.sentiment import SentimentAnalyzer
    from nailfolio.comments.service import CommentStore
    from nailfolio.gallery.catalog import Catalog
    from nailfolio.gallery.moderation import Moderator
    from nailfolio.gallery.notify import Notifier
    from nailfolio.gallery.publish import SiteTarget
    from nailfolio.identity.provider import IdentityProvider
    from nailfolio.ratelimit import RateLimiter

BACKENDS = ("local", "aws")
DEFAULT_SITE_URL = "http://127.0.0.1:8000"


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
    images: ImageSettings = field(default_factory=ImageSettings)
    moderation: ModerationSettings = field(default_factory=ModerationSettings)

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
    images = ImageSettings(
        max_file_bytes=round(_number(env, "NAILFOLIO_MAX_FILE_MB", 50, 0, above=True) * 2**20),
        max_pixels=round(_number(env, "NAILFOLIO_MAX_MEGAPIXELS", 64, 0, above=True) * 1e6),
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
        images=images,
        moderation=moderation,
    )


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


# Adapter builders: the only code that knows which class serves which port on which backend.
# Imports stay inside so that choosing a backend never loads the other one's libraries.


def _require_local(settings: Settings, port: str) -> None:
    if settings.backend != "local":
        raise ConfigError(f"the {settings.backend} backend has no {port} adapter yet; use local")


def open_catalog(settings: Settings) -> Catalog:
    _require_local(settings, "catalog")
    from nailfolio.local.sqlite_catalog import SqliteCatalog

    return SqliteCatalog(settings.catalog_path)


def open_notifier(settings: Settings) -> Notifier:
    _require_local(settings, "notifier")
    from nailfolio.local.outbox_notifier import OutboxNotifier

    return OutboxNotifier(settings.outbox_path)


def moderator_factory(settings: Settings) -> Callable[[], Moderator]:
    """A factory, not a moderator: each worker process builds its own model session."""
    _require_local(settings, "moderator")
    from nailfolio.local.nsfw_moderator import OpenNsfwModerator

    return OpenNsfwModerator


def open_identity(settings: Settings) -> IdentityProvider:
    _require_local(settings, "identity")
    from nailfolio.local.sqlite_identity import LocalIdentity

    return LocalIdentity(settings.identity_path, settings.signing_key_path)


def open_comment_store(settings: Settings) -> CommentStore:
    _require_local(settings, "comment store")
    from nailfolio.local.sqlite_comment_store import SqliteCommentStore

    return SqliteCommentStore(settings.comments_path)


def open_rate_limiter(settings: Settings) -> RateLimiter:
    _require_local(settings, "rate limiter")
    from nailfolio.local.sqlite_rate_limiter import SqliteRateLimiter

    return SqliteRateLimiter(settings.ratelimit_path)


def build_sentiment_analyzer(settings: Settings) -> SentimentAnalyzer:
    _require_local(settings, "sentiment analyzer")
    from nailfolio.local.vader_sentiment import VaderAnalyzer

    return VaderAnalyzer()


def open_site_target(settings: Settings) -> SiteTarget:
    _require_local(settings, "site target")
    from nailfolio.local.folder_site_target import FolderSiteTarget

    return FolderSiteTarget(
        settings.output_dir, settings.var_dir / "output.json", settings.renditions_dir
    )
