"""Exceptions the library raises; entry points map them to exit codes or HTTP statuses."""


class NailfolioError(Exception):
    """Base class: the message is written for the person who has to act on it."""


class ConfigError(NailfolioError):
    """A setting or path is missing or malformed."""


class StoreDamaged(ConfigError):
    """A store's file (a database, the signing key) is damaged or cannot be read."""

    def __init__(self, path: object, detail: str) -> None:
        super().__init__(
            f"{path}: damaged or unreadable ({detail}); restore it from a backup "
            "(see README, Backups), or move it aside to start that store empty"
        )
        self.path = str(path)
        self.detail = detail


class ServiceUnavailable(NailfolioError):
    """A cloud service refused, throttled or failed a call (after retries): try again later.
    AWS adapters raise it instead of letting a botocore ClientError escape (HTTP 503)."""


class ImageRejected(NailfolioError):
    """An image cannot be published: not an image, too big, corrupt, unsupported type."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class ContentError(NailfolioError):
    """A sidecar or designer file in the content folder is malformed."""


class DesignNotFound(NailfolioError):
    """No design with that key is in the catalog."""


class ContentUnreadable(ContentError):
    """A file in the content store cannot be read (a link, its permissions, a failed call)."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key}: {reason}")
        self.key = key
        self.reason = reason


class ContentNotFound(ContentUnreadable):
    """No file with that key is in the content store (removed since it was listed?)."""


class RenditionNotFound(NailfolioError):
    """No variant file with that name is in the rendition store: rebuild to render it again."""


class TooManyDeletions(NailfolioError):
    """A publish would delete most of the site: stopped before touching it."""


class DeployError(NailfolioError):
    """Packaging or deploying the stack failed: the message says where and what to do."""
