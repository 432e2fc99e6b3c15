"""The C heap of image work (glibc's malloc): decoded photos and models are tens of MB, and
glibc keeps what they free unless told otherwise. Elsewhere than glibc both calls do nothing.
"""

from __future__ import annotations

import contextlib
import ctypes

M_ARENA_MAX = -8  # glibc's mallopt parameter


def release_freed_memory() -> None:
    """Hand the heap's free pages back to the system (malloc_trim): after a model load
    (~40 MB of parsing buffers) and between images."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)


def one_arena() -> None:
    """One heap for all of the process's threads (the put thread, libvips's, the model's):
    each thread's own arena kept what it freed for itself, ~6 MB more per worker at peak."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).mallopt(M_ARENA_MAX, 1)
