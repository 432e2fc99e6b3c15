"""A killed build leaves nothing behind: its workers end with it, and the next build removes
its staging folders and temporary files, never those of a build still running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import REPO, MarkerModerator, Project
from PIL import Image

from nailfolio import config
from nailfolio.gallery import scratch
from nailfolio.gallery.pipeline import build_configured


def children(pid: int) -> set[int]:
    """Live child processes of `pid`, from /proc."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_unclaimed_scratch_is_removed_and_claimed_scratch_kept(tmp_path: Path) -> None:
    stale_dir, stale_file = tmp_path / ".output-new-a", tmp_path / ".x.webp.b.tmp"
    busy_dir = tmp_path / ".output-new-c"
    for folder in (stale_dir, busy_dir):
        (folder / "img").mkdir(parents=True)
    stale_file.write_bytes(b"half an image")
    with scratch.claimed(busy_dir):
        assert scratch.remove_abandoned([stale_dir, stale_file, busy_dir]) == 2
        assert busy_dir.is_dir()
    assert not stale_dir.exists() and not stale_file.exists()


def test_a_claim_ends_when_its_process_is_killed(tmp_path: Path) -> None:
    folder = tmp_path / ".output-new-killed"
    folder.mkdir()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
                import sys, time
                sys.path.insert(0, {str(REPO)!r})
                from pathlib import Path
                from nailfolio.gallery import scratch
                with scratch.claimed(Path({str(folder)!r})):
                    print("claimed", flush=True)
                    time.sleep(60)
            """),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout and holder.stdout.readline().strip() == "claimed"
        assert scratch.remove_abandoned([folder]) == 0
    finally:
        holder.kill()
        holder.communicate()
    assert scratch.remove_abandoned([folder]) == 1
    assert not folder.exists()


def test_the_next_build_removes_what_a_killed_build_left(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(config, "moderator_factory", lambda settings: MarkerModerator)
    project.add_image("ana/red.jpg")
    staging = project.root / ".output-new-k1ll3d"
    (staging / "img").mkdir(parents=True)
    old_site = project.root / ".output-old-k1ll3d"
    old_site.mkdir()
    publishing = project.root / ".output-publish-k1ll3d"  # an update of output/ in place
    (publishing / "7").parent.mkdir()
    (publishing / "7").write_text("<html>")
    renditions = project.settings.renditions_dir
    renditions.mkdir(parents=True)
    half_written = renditions / ".abc.webp.x1y2.tmp"
    half_written.write_bytes(b"RIFF")
    report = build_configured(project.settings)
    assert report.published == 1
    assert not staging.exists() and not old_site.exists() and not half_written.exists()
    assert not publishing.exists()
    leftovers = [p.name for p in project.root.iterdir() if p.name.startswith(".output")]
    assert leftovers == []
    assert not list(renditions.glob(".*.tmp"))


@pytest.mark.slow
def test_killing_a_build_mid_way_ends_its_workers(tmp_path: Path) -> None:
    """`build.py build` with three workers (the build's own process and two in its pool) and
    the real model, killed while they work."""
    root = tmp_path / "site"
    designs = root / "content" / "designs" / "ana"
    designs.mkdir(parents=True)
    os.symlink(REPO / "theme", root / "theme")
    (root / "pelicanconf.py").write_text((REPO / "pelicanconf.py").read_text())
    noise = Image.effect_noise((2400, 1800), 60).convert("RGB")
    for i in range(12):  # each file's bytes differ, so each is its own design
        noise.rotate(i * 30).save(designs / f"n{i}.jpg", quality=90)
    build = subprocess.Popen(
        [sys.executable, "build.py", "--root", str(root), "build", "--workers", "3"],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        workers: set[int] = set()
        while len(workers) < 2 and time.monotonic() < deadline and build.poll() is None:
            workers = children(build.pid)
            time.sleep(0.05)
        assert len(workers) >= 2, "the build never started its workers"
        time.sleep(0.5)  # well into the image work
        os.kill(build.pid, signal.SIGKILL)
        build.wait()
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [pid for pid in workers if alive(pid)]
    finally:
        if build.poll() is None:
            build.kill()
