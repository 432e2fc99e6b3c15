#!/usr/bin/env python3
"""Moderation hook: fired when an image lands in the content store.

Moderation is part of the incremental build (only new or changed images are decoded), so
this hook runs one build and reports the decisions for the images named in the event.
"""

from __future__ import annotations

import sys
from typing import Any

from nailfolio import config
from nailfolio.errors import NailfolioError
from nailfolio.gallery.pipeline import build_configured


def handle(event: dict[str, Any]) -> dict[str, Any]:
    """event: {"keys": ["designer/slug", ...]}; returns each key's current decision."""
    settings = config.load_settings()
    report = build_configured(settings)
    with config.open_catalog(settings) as catalog:
        decisions = {key: catalog.latest_decision(key) for key in event.get("keys", [])}
    return {
        "problems": [str(p) for p in report.problems],
        "decisions": {k: d.status.value if d else "unknown" for k, d in decisions.items()},
    }


if __name__ == "__main__":
    try:
        print(handle({"keys": sys.argv[1:]}))
    except NailfolioError as exc:
        sys.exit(f"moderation failed: {exc}")
