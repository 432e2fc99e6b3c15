#!/usr/bin/env python3
"""Moderation hook: images landed in the content store; the local face of the moderate Lambda.

`python -m hooks.moderate designs/ana/red.jpg ...` runs the ingest stage for each key named
(decoded, moderated, its variants rendered, its decision recorded; the same bytes twice do no
work) and, when that changes the site, asks for a rebuild: locally it runs at once (on aws
the same handler sends it to the rebuild queue). nailfolio.gallery.events holds the handler.
"""

from __future__ import annotations

import sys
from typing import Any

from nailfolio import config
from nailfolio.errors import NailfolioError
from nailfolio.gallery import events


def handle(event: dict[str, Any]) -> dict[str, Any]:
    """event: {"keys": ["designs/ana/red.jpg", ...]}; returns each key's decision ("unknown":
    not a design), the problems met and the keys a rebuild was requested for."""
    settings = config.load_settings()
    changes = [events.ContentChange(key) for key in event.get("keys", [])]
    report = events.moderate_changes(settings, changes, config.open_rebuild_queue(settings))
    return report.as_json()


if __name__ == "__main__":
    try:
        print(handle({"keys": sys.argv[1:]}))
    except NailfolioError as exc:
        sys.exit(f"moderation failed: {exc}")
