"""The C heap of image work (glibc's malloc): decoded photos and models are tens of MB, and
glibc keeps what they free unless told otherwise. Elsewhere than glibc these calls do nothing.
"""

from __future__ import annotations

import contextlib
import ctypes

# glibc's mallopt parameters
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
# Above the largest buffer one image needs (a 64 MP decode is 256 MB): every buffer an image
# frees is kept for the next one.
KEEP_BYTES = 512 * 1024 * 1024
DEFAULT_THRESHOLD = 128 * 1024  # glibc's starting value for both


def release_freed_memory() -> None:
    """Hand the heap's free pages back to the system (malloc_trim): after a model load
    (~40 MB of parsing buffers), which no image ever reuses."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)


def one_arena() -> None:
    """One heap for all of the process's threads, from here on: each thread's own arena kept
    what it freed for itself, ~6 MB more per image worker at peak. Set before a process
    starts threads (an arena, once made, is handed on to later threads)."""
    _mallopt((M_ARENA_MAX, 1))


def for_image_work() -> None:
    """Set up a worker's heap for one image after another.

    - One heap for all of the process's threads (the put thread, libvips's, the model's):
      see one_arena.
    - Every image allocates the same few big buffers (the decode, the scaled pictures, the
      encoders'). glibc maps each big one afresh and unmaps it when freed, so the kernel
      zeroed ~55 MB of new pages per photo, a fault every 4 KB: 50 ms of system time of a
      ~380 ms photo. Kept in the heap, they are reused by the next image: 17 ms. The worker's
      memory stays at its peak between images instead of falling back, so the workers' peaks
      always coincide: ~10-15 MB more for the tree on 2 cores, which the build's own process
      more than pays back by being one of the workers (nailfolio.gallery.pipeline).
    """
    one_arena()
    _mallopt((M_MMAP_THRESHOLD, KEEP_BYTES), (M_TRIM_THRESHOLD, KEEP_BYTES))


def for_other_work() -> None:
    """Back to glibc's starting thresholds after image work in a long-lived process (fixed
    from here: glibc no longer adapts them), and hand what the images left to the system."""
    _mallopt((M_MMAP_THRESHOLD, DEFAULT_THRESHOLD), (M_TRIM_THRESHOLD, DEFAULT_THRESHOLD))
    release_freed_memory()


def _mallopt(*settings: tuple[int, int]) -> None:
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None)
        for parameter, value in settings:
            libc.mallopt(parameter, value)
