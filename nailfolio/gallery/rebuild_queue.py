"""Asking for the site to be rendered and published again: the RebuildQueue port.

Every approval asks through it: an ingest that approves (or withdraws) a design, an upload or
removal that changes the gallery, an admin's `approve` or `reject`. Locally
(nailfolio.local.immediate_rebuild) the rebuild runs at once, in the caller; on aws
(nailfolio.aws.sqs_rebuild_queue) a message goes to an SQS queue whose one consumer, the
rebuild Lambda, reads it with a batching window, so a burst of requests makes one rebuild.

A request says why (for the logs) and which content keys prompted it; the rebuild itself
works out what changed from the catalog, so any number of requests is one rebuild.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

MAX_KEYS = 50  # keys carried per message, for the logs: a whole sync would not fit SQS's 256 KB


class RebuildQueue(Protocol):
    """Where requests to render and publish the site go."""

    def request(self, reason: str, keys: Sequence[str] = ()) -> None: ...


@dataclass(frozen=True)
class RebuildRequest:
    """One request: why, and the content keys (at most MAX_KEYS of `count`) behind it."""

    reason: str
    keys: tuple[str, ...] = ()
    count: int = 0

    @classmethod
    def of(cls, reason: str, keys: Sequence[str] = ()) -> RebuildRequest:
        return cls(reason, tuple(keys[:MAX_KEYS]), len(keys))

    def to_json(self) -> str:
        return json.dumps({"reason": self.reason, "keys": list(self.keys), "count": self.count})

    @classmethod
    def from_json(cls, text: str) -> RebuildRequest:
        """The request a message body holds; one that is not ours still asks for a rebuild
        (its reason says so), since whatever sent it wanted the site republished."""
        try:
            data = json.loads(text)
            keys = tuple(str(key) for key in data.get("keys", ()))
            return cls(str(data["reason"]), keys, int(data.get("count", len(keys))))
        except (ValueError, TypeError, KeyError, AttributeError):
            return cls(f"unreadable request: {text[:80]!r}")
