"""One way to call AWS: whatever botocore raises comes out as a library error.

`call` makes one low-level client call. A refusal the adapter cares about is turned into its
own error by the adapter's `special(code, exc)` (a failed DynamoDB condition, text Comprehend
can never score); every other refusal, throttle, timeout or network failure becomes
`ServiceUnavailable` naming the service, the operation and where, so no raw ClientError
escapes into a view or a build. botocore is imported inside, never at module top.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from nailfolio.errors import ServiceUnavailable

if TYPE_CHECKING:
    from botocore.client import BaseClient

Special = Callable[[str, Any], Exception | None]  # (error code, ClientError) -> error or None


def call(
    client: BaseClient,
    operation: str,
    *,
    where: str = "",
    hint: str = "try again later",
    special: Special | None = None,
    **params: Any,
) -> dict[str, Any]:
    """Call `operation` ("PutItem", "Publish"...) with `params`; raise only library errors.
    `where` (" on table 'x'") and `hint` complete the ServiceUnavailable message."""
    from botocore.exceptions import BotoCoreError, ClientError

    method = getattr(client, _snake_case(operation))
    service = client.meta.service_model.service_id
    try:
        return method(**params)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = error.get("Code", "Unknown")
        found = special(code, exc) if special else None
        if found is not None:
            raise found from exc
        raise ServiceUnavailable(
            f"{service} {operation}{where} failed ({code}: {error.get('Message', '')}); {hint}"
        ) from exc
    except BotoCoreError as exc:  # no connection, timeouts, retries exhausted, bad params
        raise ServiceUnavailable(f"{service} {operation}{where} failed ({exc}); {hint}") from exc


def _snake_case(operation: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()
