"""`build.py serve` in a child process, as an owner starts it, for tests of what it does by
itself (its upkeep thread): wait for a line it prints, then stop it."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def serving_until(root: Path, said: str, timeout_s: float = 30) -> Iterator[int]:
    """Serve the project at `root` on a free port (one image worker) until it prints the
    line `said` (asserted within `timeout_s`); yields the port, then stops the server."""
    port = free_port()
    command = [sys.executable, "build.py", "--root", str(root), "serve", "--port", str(port)]
    env = os.environ | {"NAILFOLIO_WORKERS": "1"}
    server = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(server.stdout or ()), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + timeout_s
        while said not in lines and time.monotonic() < deadline and server.poll() is None:
            time.sleep(0.1)
        assert said in lines, lines
        yield port
    finally:
        server.terminate()
        server.wait(timeout=10)
        reader.join(timeout=5)
        if server.stdout:
            server.stdout.close()
