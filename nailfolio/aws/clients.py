"""boto3 clients for the aws backend: made on first use, then shared.

Nothing here runs at import: boto3 itself is imported inside `client`, so the API's import
stays free of it (a Lambda cold start and every local test pay for import-time work), and a
missing region is reported when an adapter is first built, as a ConfigError naming the
setting, not as botocore's NoRegionError.

Clients are thread-safe (boto3 documents that for low-level clients, not for sessions or
resources), so one per (service, region, endpoint) serves a threaded server and the Lambda's
warm invocations alike. Each is made on its own Session: the default session is not safe to
build clients from in several threads at once.
"""

from __future__ import annotations

import functools
import threading
from types import TracebackType
from typing import TYPE_CHECKING, Self

if TYPE_CHECKING:
    from botocore.client import BaseClient

# Retries with backoff for throttles and 5xx ("standard" mode: 3 tries in all), then the
# adapters map what is left to ServiceUnavailable. Timeouts well inside API Gateway's 29 s.
CONNECT_TIMEOUT_S = 3
READ_TIMEOUT_S = 10
MAX_ATTEMPTS = 3

_lock = threading.Lock()


@functools.cache
def _cached(service: str, region: str, endpoint_url: str, signature: str) -> BaseClient:
    import boto3
    from botocore.config import Config

    config = Config(
        region_name=region,
        connect_timeout=CONNECT_TIMEOUT_S,
        read_timeout=READ_TIMEOUT_S,
        retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
        signature_version=signature or None,
    )
    return boto3.session.Session().client(service, endpoint_url=endpoint_url or None, config=config)


def client(
    service: str, region: str, endpoint_url: str = "", signature_version: str = ""
) -> BaseClient:
    """The shared low-level client for `service` ("dynamodb", "s3"...) in `region`; an
    `endpoint_url` (moto's server, say) replaces AWS's own endpoints. `signature_version`
    "s3v4" makes S3's presigned forms SigV4 (botocore presigns with SigV2 unless told)."""
    with _lock:  # one client per key even when two threads ask first at the same moment
        return _cached(service, region, endpoint_url, signature_version)


def forget_clients() -> None:
    """Drop every shared client (tests that start a new moto server, say)."""
    with _lock:
        _cached.cache_clear()


class SharedClient:
    """For adapters holding a shared client in `_client`: close() releases nothing, since the
    client belongs to whoever made it (aws.clients, or a test), and `with` works as on SQLite.

    Such an adapter pickles (to reach a build's worker processes): the client travels as its
    service, region and endpoint, and the worker uses its own shared client for them.
    """

    _client: BaseClient

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        meta = self._client.meta
        state["_client"] = (meta.service_model.service_name, meta.region_name, meta.endpoint_url)
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        service, region, endpoint = state.pop("_client")  # type: ignore[misc]
        self.__dict__.update(state)
        self._client = client(service, region, endpoint)

    def close(self) -> None:
        """Nothing to release."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
