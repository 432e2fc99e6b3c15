"""The content watcher: one callback per burst of changes."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from nailfolio.gallery.watch import content_signature, watch_folder


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
        target=watch_folder, args=(tmp_path, lambda: calls.append(time.time()), stop, 0.2)
    )
    watcher.start()
    try:
        time.sleep(0.3)  # the watcher has taken its first look
        for i in range(5):  # a burst well inside one polling interval, even on a busy machine
            (tmp_path / f"{i}.jpg").write_bytes(b"x" * i)
        deadline = time.time() + 5
        while not calls and time.time() < deadline:
            time.sleep(0.02)
        time.sleep(0.6)  # long enough for a second, wrong, callback to show up
    finally:
        stop.set()
        watcher.join()
    assert len(calls) == 1
