#!/usr/bin/env python3
"""Rebuild hook: fired when moderation lets a design through; regenerates the site.

Locally this is `python -m hooks.rebuild` (build.py approve calls the same build); on AWS the
same `handle` is wired to the moderation events by chalice_app.
"""

from __future__ import annotations

import sys
from typing import Any

from nailfolio import config
from nailfolio.errors import NailfolioError
from nailfolio.gallery.pipeline import build_configured


def handle(event: dict[str, Any] | None = None) -> dict[str, Any]:
    """Rebuild once for any number of approvals: the build itself works out what changed."""
    report = build_configured(config.load_settings())
    return {"published": report.published, "processed": report.processed}


if __name__ == "__main__":
    try:
        print(handle())
    except NailfolioError as exc:
        sys.exit(f"rebuild failed: {exc}")
