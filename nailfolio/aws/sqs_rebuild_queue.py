"""The aws rebuild queue: each request is one SendMessage to the rebuild queue (SQS).

The rebuild Lambda consumes the queue with a batching window and reserved concurrency 1, so a
burst of approvals makes one rebuild and two publishers never run at once; a batch that keeps
failing goes to the dead-letter queue (the deployment's template sets both up).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nailfolio.aws.calls import call
from nailfolio.aws.clients import SharedClient
from nailfolio.gallery.rebuild_queue import RebuildRequest

_HINTS = dict.fromkeys(
    ("QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue"),
    "check NAILFOLIO_REBUILD_QUEUE_URL",
)


class SqsRebuildQueue(SharedClient):
    """RebuildQueue port adapter: sends each request to one SQS queue."""

    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client  # a boto3 "sqs" client
        self._queue_url = queue_url

    def request(self, reason: str, keys: Sequence[str] = ()) -> None:
        body = RebuildRequest.of(reason, keys).to_json()
        params = {"QueueUrl": self._queue_url, "MessageBody": body}
        where = f" to {self._queue_url}"
        call(self._client, "SQS", "SendMessage", params, where=where, hints=_HINTS)
