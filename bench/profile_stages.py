#!/usr/bin/env python3
"""Where a cold build's time goes, per image: `python bench/profile_stages.py [--photos 8]`.

Runs the worker's own code (nailfolio.gallery.images and .variants, nailfolio.local.nsfw_moderator)
on a few
benchmark photos in this one process, one after another, as one pool worker would, and
times each stage by wrapping the library's functions from outside (no library code is
changed): hash, decode (EXIF, DCT-scaled JPEG decode, sRGB, orientation), moderation, each
resize and each encode (WebP widths, JPEG fallback, thumbnail), fsync (on its own thread),
placeholder, palette and dominant colour. Then it times the site render (Pelican) for the benchmark
project if one has been built. `--cprofile FILE` also runs the photos under cProfile and
prints the top calls; `--cpu` times stages in CPU time rather than wall time.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:0] = [str(REPO), str(BENCH)]

import make_photos  # noqa: E402
from bench_build import busy_cpu_s  # noqa: E402

from nailfolio.config import load_settings  # noqa: E402
from nailfolio.gallery import heap, images, scaling, variants  # noqa: E402
from nailfolio.local import folder_rendition_store, nsfw_moderator  # noqa: E402

# stage -> seconds per image (a stage entered twice for one image adds up)
TIMES: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
_active: list[str] = []  # stage names currently open
_image = [0]  # index of the image being processed
# What a stage is timed with: wall time by default, this process's CPU time with --cpu (which
# a busy machine inflates far less: time spent waiting for a core is not counted). The
# process's, not the thread's: libvips resamples on a worker thread of its own even at
# concurrency 1, and the thread's clock missed ~2/3 of the resizes (~15 of ~45 ms a photo).
# The committing thread's writes, counted in whichever stage they overlap, are ~1 ms a photo.
_clock: list[Callable[[], float]] = [time.perf_counter]
# The fsync timer runs on the committing thread: its own CPU with --cpu, as it was.
_fsync_clock: list[Callable[[], float]] = [time.perf_counter]


@contextmanager
def stage(name: str) -> Iterator[None]:
    started = _clock[0]()
    _active.append(name)
    try:
        yield
    finally:
        _active.pop()
        TIMES[name][_image[0]] += _clock[0]() - started


def _timed(name_of: Callable[..., str], fn: Callable) -> Callable:
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with stage(name_of(*args, **kwargs)):
            return fn(*args, **kwargs)

    return wrapper


def _encode_name(_committer, image, name: str, fmt: str, _params) -> str:
    if name.endswith("-thumb.webp"):
        return "  encode thumb webp"
    return f"  encode {fmt.lower()} {image.width}w"


def _scale_name(source, loaded, width) -> str:
    return f"  resize {source.width}->{width}w"


def instrument() -> None:
    """Wrap the library's stage functions with timers (this process only)."""
    variants._Committer.save = _timed(_encode_name, variants._Committer.save)
    variants._scaled = _timed(_scale_name, variants._scaled)
    variants._cover_thumb = _timed(lambda *a: "  resize thumb (cover crop)", variants._cover_thumb)
    variants._placeholder = _timed(lambda *a: "  placeholder", variants._placeholder)
    variants.read_colours = _timed(
        lambda *a: "  palette and dominant colour", variants.read_colours
    )
    images._read_exif = _timed(lambda *a: "  read EXIF", images._read_exif)
    images._to_srgb = _timed(lambda *a: "  to sRGB", images._to_srgb)
    real_fsync = os.fsync
    # The local rendition store fsyncs each file, on the variants' background thread.
    folder_rendition_store.os = _FsyncTimer(real_fsync)
    from PIL import Image, ImageFile

    real_load = ImageFile.ImageFile.load

    def load(self, *args, **kwargs):
        if "decode" in {n.strip() for n in _active}:
            with stage("  JPEG decode (draft)"):
                return real_load(self, *args, **kwargs)
        return real_load(self, *args, **kwargs)

    ImageFile.ImageFile.load = load
    real_transpose = Image.Image.transpose

    def transpose(self, method):
        if "decode" in {n.strip() for n in _active}:
            with stage("  orientation transpose"):
                return real_transpose(self, method)
        return real_transpose(self, method)

    Image.Image.transpose = transpose


class _FsyncTimer:
    """Stands in for the os module inside nailfolio.local.folder_rendition_store, timing fsync."""

    def __init__(self, real_fsync: Callable[[int], None]) -> None:
        self._fsync = real_fsync

    def fsync(self, fd: int) -> None:
        # On the committing thread, beside the encodes: not a stage of the main thread's stack.
        started = _fsync_clock[0]()
        self._fsync(fd)
        TIMES["  fsync (background thread)"][_image[0]] += _fsync_clock[0]() - started

    def __getattr__(self, name: str):
        return getattr(os, name)


def process(path: Path, settings, moderator, out_dir: Path) -> None:
    """What nailfolio.gallery.ingest.analyse does for a new image, stage by stage."""
    with stage("hash (sha256)"):
        digest = images.hash_file(path)
    with stage("decode"):
        loaded = images.load_image(path, settings.images)
    with stage("moderate"):
        with stage("  prepare 256x256"):
            small = nsfw_moderator.prepare_image(loaded.image)
        with stage("  model"):
            moderator._classifier.classify(small)
    with stage("render variants"):
        store = folder_rendition_store.FolderRenditionStore(out_dir)
        variants.render_variants(loaded, digest, settings.images, store)


def time_site(project: Path) -> float | None:
    """Seconds for render_site over the benchmark project's catalog (a no-change build's work)."""
    if not (project / "var" / "catalog.sqlite3").is_file():
        return None
    import subprocess

    cmd = [sys.executable, str(REPO / "build.py"), "--root", str(project), "build", "--quiet"]
    started = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - started


def report(count: int) -> None:
    """Mean, median and max per image; share of the total (sub-stages in brackets)."""
    top = ("hash (sha256)", "decode", "moderate", "render variants")
    total = sum(sum(TIMES[name].values()) for name in top)
    clock = "CPU" if _clock[0] is time.process_time else "wall"
    print(f"\nper-image {clock} times over {count} photos (ms; one process, one image at a time)")
    print(f"{'stage':<34}{'mean':>8}{'median':>8}{'max':>8}{'share':>8}")
    for name, per_image in TIMES.items():
        values = [per_image.get(i, 0.0) for i in range(count)]
        share = sum(values) / total
        share_text = f"{share:.0%}" if name in top else f"({share:.0%})"
        print(
            f"{name:<34}{sum(values) / count * 1000:>8.1f}"
            f"{statistics.median(values) * 1000:>8.1f}{max(values) * 1000:>8.1f}{share_text:>8}"
        )
    print(f"{'total':<34}{total / count * 1000:>8.1f}")


def report_by_shape(portrait: list[bool]) -> None:
    """Both shapes decode DCT-scaled by 1/2; portrait ones (EXIF 6/8) have ~1.8x the pixels."""
    top = ("hash (sha256)", "decode", "moderate", "render variants")
    for label, wanted in (
        ("landscape (stored upright or 180)", False),
        ("portrait (EXIF 6/8)", True),
    ):
        indices = [i for i, p in enumerate(portrait) if p is wanted]
        if not indices:
            continue
        totals = [sum(TIMES[name].get(i, 0.0) for name in top) for i in indices]
        decode = [TIMES["decode"].get(i, 0.0) for i in indices]
        print(
            f"{label:<34} {len(indices):>3} photos: {statistics.mean(totals) * 1000:6.1f} ms "
            f"per image (decode {statistics.mean(decode) * 1000:.1f} ms)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=8, help="photos to process")
    parser.add_argument("--set", type=int, default=200, help="benchmark photo set to take from")
    parser.add_argument("--cprofile", type=Path, help="also profile with cProfile into FILE")
    parser.add_argument(
        "--cpu", action="store_true", help="time stages in CPU time, not wall (busy machines)"
    )
    args = parser.parse_args()
    if args.cpu:
        _clock[0], _fsync_clock[0] = time.process_time, time.thread_time

    photo_set = make_photos.ensure_photos(args.set)
    manifest = json.loads((photo_set / "manifest.json").read_text())["photos"][: args.photos]
    paths = [photo_set / photo["path"] for photo in manifest]
    portrait = [photo["orientation"] in (5, 6, 7, 8) for photo in manifest]
    settings = load_settings(env={}, root=BENCH / "out" / "profile-project")
    # As a build's image worker: its heap, and libvips with one worker thread.
    heap.for_image_work()
    scaling.one_thread()
    moderator = nsfw_moderator.OpenNsfwModerator()
    started = time.perf_counter()
    moderator.load()
    print(f"model load: {(time.perf_counter() - started) * 1000:.0f} ms (once per worker)")
    with tempfile.TemporaryDirectory(dir=BENCH / "out") as tmp:
        process(paths[0], settings, moderator, Path(tmp))  # warm-up: caches, first-call costs
        if args.cprofile:
            profiler = cProfile.Profile()
            profiler.enable()
            for path in paths:
                process(path, settings, moderator, Path(tmp))
            profiler.disable()
            profiler.dump_stats(args.cprofile)
            pstats.Stats(str(args.cprofile)).sort_stats("tottime").print_stats(20)
        TIMES.clear()
        instrument()
        busy, own = busy_cpu_s(), time.process_time()
        started = time.perf_counter()
        for index, path in enumerate(paths):
            _image[0] = index
            process(path, settings, moderator, Path(tmp))
        wall = time.perf_counter() - started
        other = busy_cpu_s() - busy - (time.process_time() - own)
    report(len(paths))
    report_by_shape(portrait)
    if other > 0.1 * wall:
        print(f"warning: other processes used {other:.1f} CPU s meanwhile: times are inflated")
    project = BENCH / "out" / f"project-{args.set}"
    seconds = time_site(project)
    if seconds is not None:
        print(
            f"\nno-change build of {project.name} (scan + Pelican render + swap): {seconds:.2f} s"
        )


if __name__ == "__main__":
    main()
