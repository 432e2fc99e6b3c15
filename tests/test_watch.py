"""The content watcher: one callback per burst of changes."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from nailfolio.watch import content_signature, watch_folder


def test_signature_changes_on_add_edit_and_remove(tmp_path: Path) -> None:
    path = tmp_path / "a.jpg"
    path.write_bytes(b"1")
    first = content_signature(tmp_path)
    path.write_bytes(b"22")
    second = content_signature(tmp_path)
    path.unlink()
    assert len({first, second, content_signature(tmp_path)}) == 3


def test_a_burst_of_copies_triggers_one_rebuild(tmp_path: Path) -> None:
    calls: list[float] = []
    stop = threading.Event()
    watcher = threading.Thread(
        target=watch_folder, args=(tmp_path, lambda: calls.append(time.time()), stop, 0.05)
    )
    watcher.start()
    try:
        for i in range(5):
            (tmp_path / f"{i}.jpg").write_bytes(b"x" * i)
            time.sleep(0.01)
        deadline = time.time() + 3
        while not calls and time.time() < deadline:
            time.sleep(0.02)
        time.sleep(0.3)
    finally:
        stop.set()
        watcher.join()
    assert len(calls) == 1
