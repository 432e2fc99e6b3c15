"""One way for every AWS adapter to make a call: botocore's errors become library errors.

`call` makes one low-level client call. A ClientError goes to the adapter's `translate`,
which returns the library error its code means (or None); anything it leaves, and every
BotoCoreError (no connection, timeouts, retries exhausted), becomes `ServiceUnavailable`
naming the service and the operation, so no botocore exception reaches a caller; missing
credentials are a ConfigError saying what to set, since trying again will not help.

botocore is imported inside the function, never at module top: only the aws backend
imports this module, and the API's import stays free of boto3.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from nailfolio.errors import ConfigError, ServiceUnavailable

if TYPE_CHECKING:
    from botocore.client import BaseClient

# (code, message, the call's parameters, the whole error response) → the error to raise
Translate = Callable[[str, str, Mapping[str, Any], Mapping[str, Any]], Exception | None]
HINTS = {"ResourceNotFoundException": "check the resource-name settings"}


def call(
    client: BaseClient,
    service: str,
    operation: str,
    params: Mapping[str, Any],
    translate: Translate | None = None,
    *,
    where: str = "",
    hints: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Call `operation` ("UpdateItem", "InitiateAuth", ...) with `params`; raise only library
    errors. `where` (" on table 'x'") goes into a ServiceUnavailable's message, and the hint
    `hints` gives for its code (else "try again later")."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    method = getattr(client, snake_case(operation))
    try:
        return method(**params)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code, message = error.get("Code", "Unknown"), error.get("Message", "")
        mapped = translate(code, message, params, exc.response) if translate else None
        if mapped is not None:
            raise mapped from exc
        hint = {**HINTS, **(hints or {})}.get(code, "try again later")
        raise ServiceUnavailable(
            f"{service} {operation}{where} failed ({code}: {message}); {hint}"
        ) from exc
    except NoCredentialsError as exc:  # waiting will not help: say what to set
        raise ConfigError(
            f"{service} {operation}{where}: no AWS credentials found; set AWS_PROFILE (or "
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or run `aws configure`"
        ) from exc
    except BotoCoreError as exc:
        raise ServiceUnavailable(
            f"{service} {operation}{where} failed ({exc}); try again later"
        ) from exc


def snake_case(operation: str) -> str:
    """botocore's method name for an operation: "BatchGetItem" → "batch_get_item"."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()
