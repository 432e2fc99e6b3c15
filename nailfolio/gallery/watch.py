"""Polls the content folder and calls back when anything in it changes (no extra dependency)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

Signature = frozenset[tuple[str, int, int]]


def content_signature(folder: Path) -> Signature:
    """Path, size and mtime of every file below folder: any edit, add or removal changes it."""
    entries = set()
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            path = os.path.join(dirpath, name)
            try:
                st = os.stat(path)
            except FileNotFoundError:
                continue  # removed while walking: the next poll sees it gone
            entries.add((path, st.st_size, st.st_mtime_ns))
    return frozenset(entries)


def watch_folder(
    folder: Path,
    on_change: Callable[[], None],
    stop: threading.Event,
    interval: float = 1.0,
) -> None:
    """Call on_change once per burst of changes (after the folder stays still one interval)."""
    last = content_signature(folder)
    while not stop.wait(interval):
        current = content_signature(folder)
        if current == last:
            continue
        # Debounce: a designer copying twenty files should cause one rebuild, not twenty.
        while not stop.wait(interval):
            settled = content_signature(folder)
            if settled == current:
                break
            current = settled
        last = current
        on_change()
