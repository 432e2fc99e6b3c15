"""The local rebuild queue: a request runs the rebuild at once, in the caller.

One machine has one publisher at a time already (render_site holds the site lock), and the
person who approved a design sees the site republished when the command returns.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

logger = logging.getLogger(__name__)


class ImmediateRebuild:
    """RebuildQueue port adapter: each request calls `rebuild` (a whole build, say)."""

    def __init__(self, rebuild: Callable[[], object]) -> None:
        self._rebuild = rebuild

    def request(self, reason: str, keys: Sequence[str] = ()) -> None:
        logger.info("rebuilding now: %s (%d keys)", reason, len(keys))
        self._rebuild()
