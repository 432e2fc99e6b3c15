#!/usr/bin/env python3
"""Render + publish benchmark: `python bench/bench_render.py --designs 200 1000 5000`.

For each size N it makes a project under bench/out/render-N/ with N small designs (600x750
JPEGs, each with a sidecar: title, tags, colours, technique, date, a paragraph), cold-builds
it once, then times, by the build's own summary line ("N designs: ... in X s"):

  no-change  the same content again (--repeat times; the median is shown)
  one-added  one more design, newer than all the others (the worst case: every listing page
             shifts by one), then taken out again by an untimed build

for each checkout named (default: this one). A checkout is any folder with build.py and
nailfolio/, e.g. main unpacked with `mkdir /tmp/base && git -C <main> archive HEAD | tar -x
-C /tmp/base`. Checkouts alternate round by round on the same project (an untimed build
first brings the project to that checkout's state), so the machine's load drifts over all
alike. Each one-added run adds a design never seen before, so its image work is real.
Results: bench/out/results-render.json; the load average is printed with every round.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from PIL import Image, ImageDraw

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
OUT = BENCH / "out"
SIZE = (600, 750)
DESIGNERS = ("ana-lacquer", "bea-nails", "chloe-studio", "dina-polish")
TAGS = ("french tips", "glitter", "minimal", "floral", "chrome", "ombre", "dots", "stripes")
COLOURS = ("red", "nude", "navy", "gold", "pink", "black", "white", "green", "lilac", "coral")
TECHNIQUES = ("gel", "stamping", "freehand", "foil", "dip powder")
PALETTE = [(220, 30, 90), (40, 90, 220), (20, 170, 140), (250, 200, 30), (140, 40, 200)]
SUMMARY = re.compile(r"(?P<designs>\d+) designs: .* in (?P<seconds>[\d.]+) s")
START = 1_700_000_000  # sidecar dates: design i is i hours after this


def _design_files(index: int, folder: Path) -> None:
    """Design i's image and sidecar (depends on i only; bytes differ for every i)."""
    rnd = random.Random(index)
    image = Image.new("RGB", SIZE, rnd.choice(PALETTE))
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x, y = rnd.randrange(500), rnd.randrange(600)
        draw.ellipse((x, y, x + 90, y + 150), fill=rnd.choice(PALETTE), outline=(20, 20, 20))
    draw.text((20, 20), f"design {index}", fill=(255, 255, 255))
    stem = f"design-{index:06d}"
    target = folder / DESIGNERS[index % len(DESIGNERS)]
    target.mkdir(parents=True, exist_ok=True)
    image.save(target / f"{stem}.jpg", quality=85)
    when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(START + index * 3600))
    tags = ", ".join(rnd.sample(TAGS, 2))
    colours = ", ".join(rnd.sample(COLOURS, 2))
    (target / f"{stem}.md").write_text(
        f"Title: Design {index}\nTags: {tags}\nColours: {colours}\n"
        f"Technique: {rnd.choice(TECHNIQUES)}\nDate: {when}\n\n"
        f"Design number {index}, painted with *care* in {colours}.\n",
        encoding="utf-8",
    )


def make_designs(first: int, count: int, folder: Path) -> None:
    with ProcessPoolExecutor(2) as pool:
        list(pool.map(_design_files, range(first, first + count), [folder] * count, chunksize=64))


def design_paths(index: int, designs: Path) -> list[Path]:
    stem = designs / DESIGNERS[index % len(DESIGNERS)] / f"design-{index:06d}"
    return [stem.with_suffix(".jpg"), stem.with_suffix(".md")]


def make_project(n: int) -> Path:
    """bench/out/render-N with N designs (kept between runs: its var/ is the cold build's)."""
    root = OUT / f"render-{n}"
    marker = root / ".designs"
    if marker.is_file() and marker.read_text() == str(n):
        return root
    shutil.rmtree(root, ignore_errors=True)
    (root / "content" / "pages").mkdir(parents=True)
    (root / "content" / "pages" / "about.md").write_text("Title: About\n\nA bench gallery.\n")
    os.symlink(REPO / "theme", root / "theme")
    shutil.copy2(REPO / "pelicanconf.py", root / "pelicanconf.py")
    make_designs(0, n, root / "content" / "designs")
    marker.write_text(str(n))
    return root


def build(checkout: Path, project: Path, logs: Path, label: str) -> tuple[float, float, int]:
    """One `build.py build --quiet`: (summary seconds, wall seconds, designs)."""
    cmd = [sys.executable, str(checkout / "build.py"), "--root", str(project), "build", "--quiet"]
    env = {k: v for k, v in os.environ.items() if k != "NAILFOLIO_ROOT"}
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=checkout, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    (logs / f"{label}.out").write_text(done.stdout + done.stderr)
    match = SUMMARY.search(done.stdout)
    if done.returncode or not match:
        sys.exit(f"{label}: build failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    return float(match["seconds"]), wall, int(match["designs"])


def load() -> str:
    return " ".join(f"{v:.1f}" for v in os.getloadavg())


def run_size(n: int, checkouts: list[Path], repeat: int, rounds: int) -> dict:
    project = make_project(n)
    designs = project / "content" / "designs"
    logs = OUT / f"render-{n}-logs"
    logs.mkdir(exist_ok=True)
    if not (project / "var").is_dir():
        seconds, wall, _ = build(checkouts[0], project, logs, "cold")
        print(f"  {n}: cold build {seconds:.1f} s (wall {wall:.1f} s), load {load()}")
    figures: dict[str, dict[str, list[float]]] = {
        str(c): {"no-change": [], "one-added": [], "load": []} for c in checkouts
    }
    counter = project / ".extra"  # extras are numbered on from here: never the same twice
    extra = int(counter.read_text()) if counter.is_file() else 90_000
    for round_ in range(rounds):
        for checkout in checkouts:
            mine = figures[str(checkout)]
            tag = f"{checkout.name}-r{round_}"
            build(checkout, project, logs, f"{tag}-settle")
            for i in range(repeat):
                mine["no-change"].append(build(checkout, project, logs, f"{tag}-same{i}")[0])
            extra += 1
            counter.write_text(str(extra))
            make_designs(extra, 1, designs)
            mine["one-added"].append(build(checkout, project, logs, f"{tag}-added")[0])
            for path in design_paths(extra, designs):
                path.unlink()
            mine["load"].append(os.getloadavg()[0])
            print(
                f"  {n} {checkout}: no-change {mine['no-change'][-repeat:]}, one-added "
                f"{mine['one-added'][-1]:.2f} s, load {load()}"
            )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description="Time no-change and one-added builds.")
    parser.add_argument("--designs", type=int, nargs="+", default=[200, 1000, 5000])
    parser.add_argument("--repeat", type=int, default=3, help="no-change builds per round")
    parser.add_argument("--rounds", type=int, default=2, help="rounds over the checkouts")
    parser.add_argument("checkouts", type=Path, nargs="*", help="default: this checkout")
    args = parser.parse_args()
    checkouts = [c.resolve() for c in args.checkouts] or [REPO]
    OUT.mkdir(exist_ok=True)
    results = {}
    for n in args.designs:
        print(f"{n} designs, load {load()}")
        results[n] = run_size(n, checkouts, args.repeat, args.rounds)
    if not args.rounds:
        return  # --rounds 0: only make the projects and cold-build them
    print(f"\n{'designs':>8}  {'checkout':<28}{'no-change s':>12}{'one-added s':>12}{'load':>6}")
    for n, by_checkout in results.items():
        for checkout, f in by_checkout.items():
            print(
                f"{n:>8}  {checkout[-28:]:<28}{statistics.median(f['no-change']):>12.2f}"
                f"{statistics.median(f['one-added']):>12.2f}{statistics.mean(f['load']):>6.1f}"
            )
    (OUT / "results-render.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
