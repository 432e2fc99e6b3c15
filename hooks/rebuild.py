#!/usr/bin/env python3
"""Rebuild hook: regenerates and republishes the site; the local face of the rebuild Lambda.

`python -m hooks.rebuild` runs one whole build (anything not ingested yet is ingested too:
locally no upload event did it). On AWS the rebuild Lambda runs the same handler for each
batch of the rebuild queue (nailfolio.gallery.events).
"""

from __future__ import annotations

import sys
from typing import Any

from nailfolio import config
from nailfolio.errors import NailfolioError
from nailfolio.gallery import events


def handle(event: dict[str, Any] | None = None) -> dict[str, Any]:
    """Rebuild once for any number of approvals: the build itself works out what changed."""
    report = events.rebuild_site(config.load_settings())
    return {"published": report.published, "processed": report.processed}


if __name__ == "__main__":
    try:
        print(handle())
    except NailfolioError as exc:
        sys.exit(f"rebuild failed: {exc}")
