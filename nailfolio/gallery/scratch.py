"""Scratch paths (staging folders, temporary files) that a killed build would leave behind,
and how the next build tidies them away.

A writer claims its scratch path with an exclusive flock, held while it works; the kernel
drops the lock when the process ends, however it ends. Tidying removes each scratch path
whose lock it can take: nobody is working on it any more. A path being written by a build
running at the same moment is locked, so it is left alone. Where flock is missing (not
POSIX) claims are no-ops and nothing is tidied.

Worker processes of a build end with it: `end_with_parent` (Linux) asks the kernel to kill
the calling process when its parent dies, so a build killed mid-way leaves no workers
holding memory.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import shutil
import signal
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


@contextlib.contextmanager
def claimed(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `path` (a file or a folder) for the block."""
    fd = _lock(path, blocking=True)
    try:
        yield
    finally:
        if fd is not None:
            os.close(fd)


def claim_fd(fd: int) -> None:
    """Lock an open file for as long as it stays open (for a temporary file being written)."""
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX)


def remove_abandoned(paths: Iterable[Path]) -> int:
    """Delete each path no live process has claimed; returns how many went."""
    removed = 0
    for path in paths:
        fd = _lock(path, blocking=False)
        if fd is None:
            continue  # claimed by a live writer, gone already, or no flock here
        try:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed += 1
            logger.info("removed %s, left by an interrupted build", path)
        finally:
            os.close(fd)
    return removed


def remove_files(folder: Path, paths: Iterable[str]) -> None:
    """Delete these files (relative to folder; missing ones are fine), then the folders they
    leave empty, deepest first, up to but not including `folder`."""
    parents = set()
    for rel in paths:
        (folder / rel).unlink(missing_ok=True)
        parents.add((folder / rel).parent)
    for parent in sorted(parents, key=lambda p: len(p.parts), reverse=True):
        while parent != folder and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent


def _lock(path: Path, *, blocking: bool) -> int | None:
    """An fd of `path` holding its lock, or None (no flock here, path gone, or — when not
    blocking — locked by someone else)."""
    if fcntl is None:
        return None
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except (FileNotFoundError, NotADirectoryError):
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
    except BlockingIOError:
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise
    return fd


def end_with_parent() -> None:
    """Have the kernel kill this process when its parent dies (Linux; elsewhere nothing)."""
    if sys.platform != "linux":
        return
    # A spawned pool worker gets here after importing the library (a second or so): its
    # parent may have died meanwhile, and then getppid() already names the new one.
    spawner = multiprocessing.parent_process()
    parent = spawner.pid if spawner and spawner.pid else os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        logger.warning("prctl(PR_SET_PDEATHSIG) failed: errno %d", ctypes.get_errno())
        return
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)
