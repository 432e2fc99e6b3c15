"""The image workers' heap: memory an image frees is kept for the next image."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from conftest import REPO

# Two "images" of one 40 MB buffer each (above glibc's largest automatic mmap threshold, so
# by default every one is mapped afresh), with the malloc_trim a worker used to do between
# them; prints the page faults of the second.
SCRIPT = textwrap.dedent(
    """
    import resource, sys
    from nailfolio.gallery import heap
    if sys.argv[1] == "worker":
        heap.for_image_work()
    def faults():
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    buffer = bytearray(40 << 20)
    del buffer
    heap.release_freed_memory() if sys.argv[1] == "trimmed" else None
    before = faults()
    buffer = bytearray(40 << 20)
    print(faults() - before)
    """
)
PAGES = (40 << 20) // 4096


def _second_image_faults(mode: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode], cwd=REPO, capture_output=True, text=True, check=True
    )
    return int(done.stdout)


def test_a_worker_reuses_the_pages_an_image_freed() -> None:
    assert _second_image_faults("worker") < PAGES // 20


def test_without_it_every_image_faults_its_pages_in_again() -> None:
    # The control: the measurement sees fresh pages when they are fresh.
    assert _second_image_faults("plain") > PAGES * 0.9
    assert _second_image_faults("trimmed") > PAGES * 0.9


# A thread allocating a few MB, then glibc's own count of its arenas (malloc_stats writes one
# "Arena N:" line each to stderr).
ARENAS = textwrap.dedent(
    """
    import ctypes, sys, threading
    from nailfolio.gallery import heap
    if sys.argv[1] == "one":
        heap.one_arena()
    kept = []
    thread = threading.Thread(target=lambda: kept.append(bytearray(3 << 20)))
    thread.start(), thread.join()
    ctypes.CDLL(None).malloc_stats()
    """
)


def _arenas(mode: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", ARENAS, mode], cwd=REPO, capture_output=True, text=True, check=True
    )
    return done.stderr.count("Arena ")


def test_threads_share_one_arena_once_asked() -> None:
    # The hashing threads' arenas were handed on to the image work's threads: +6 MB a build.
    assert _arenas("default") == 2  # the control: a thread gets an arena of its own
    assert _arenas("one") == 1
