#!/usr/bin/env python3
"""Moderation hook: fired when images land in the content store (an S3 event on aws).

Each content key named ("designs/ana/red.jpg") goes through the ingest stage alone: decoded,
moderated, its variants rendered, its decision recorded (the same bytes twice do no work).
When any was approved the rebuild hook republishes the site; locally it is called here, on
aws the approval goes through a queue to it.
"""

from __future__ import annotations

import sys
from typing import Any

from hooks import rebuild
from nailfolio import config
from nailfolio.errors import NailfolioError
from nailfolio.gallery.pipeline import ingest_configured


def handle(event: dict[str, Any]) -> dict[str, Any]:
    """event: {"keys": ["designs/ana/red.jpg", ...]}; returns each key's decision ("unknown":
    not a design) and the problems met; rebuilds the site when anything was approved."""
    keys = list(event.get("keys", []))
    results = ingest_configured(config.load_settings(), keys)
    decisions = {
        key: (found.status.value if found.status else "not usable")
        if (found := results.get(key))
        else "unknown"
        for key in keys
    }
    if "approved" in decisions.values():
        rebuild.handle({"source": "moderation"})
    problems = [str(found.problem) for found in results.values() if found.problem]
    return {"problems": problems, "decisions": decisions}


if __name__ == "__main__":
    try:
        print(handle({"keys": sys.argv[1:]}))
    except NailfolioError as exc:
        sys.exit(f"moderation failed: {exc}")
