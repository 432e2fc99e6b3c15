#!/usr/bin/env python3
"""The reference, re-measured here: `python bench/bench_sigal.py --photos 200 [--repeat 3]`.

Installs sigal 2.6.1 (with the Pillow version this project runs) from PyPI into a venv at
bench/out/sigal-venv on first use, then times cold `sigal build` runs of the benchmark photo
set into a 1600 px JPEG (longest side) and a 280x210 thumbnail per photo, with the same
tree-memory sampling and idle-machine checks as bench_build.py. Writes
bench/out/results-sigal.json. Compare its images/s with bench_build.py's on the same day.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
OUT = BENCH / "out"
sys.path.insert(0, str(BENCH))

import bench_build  # noqa: E402
import make_photos  # noqa: E402

SIGAL_VERSION = "2.6.1"
VENV = OUT / "sigal-venv"


def ensure_sigal() -> Path:
    """bench/out/sigal-venv/bin/sigal, installed with this interpreter's Pillow version."""
    sigal = VENV / "bin" / "sigal"
    if sigal.exists():
        return sigal
    import PIL

    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    pip = [str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, f"sigal=={SIGAL_VERSION}", f"pillow=={PIL.__version__}"], check=True)
    return sigal


def run_sigal(sigal: Path, conf: Path, build: Path, interval: float) -> dict:
    shutil.rmtree(build, ignore_errors=True)
    busy = bench_build.busy_cpu_s()
    started = time.perf_counter()
    cmd = [str(sigal), "build", "-c", str(conf)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sampler = bench_build.TreeSampler(proc.pid, interval)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    sampler.stop()
    proc.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    return {
        "wall_s": round(wall, 2),
        "exit_code": proc.returncode,
        "cpu_s": round(cpu, 1),
        "other_cpu_s": round(max(0.0, bench_build.busy_cpu_s() - busy - cpu - sampler.cpu_s), 1),
        "peak_tree_mb": round(sampler.peaks.tree_rss_kb / 1024, 1),
        "peak_tree_pss_mb": round(sampler.peaks.tree_pss_kb / 1024, 1),
        "peak_single_mb": round(sampler.peaks.single_kb / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="Time sigal on the benchmark photos.")
    parser.add_argument("--photos", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--max-wait-idle", type=float, default=120.0)
    args = parser.parse_args()

    photo_set = make_photos.ensure_photos(args.photos)
    sigal = ensure_sigal()
    work = OUT / "sigal"
    work.mkdir(parents=True, exist_ok=True)
    conf = work / "sigal.conf.py"
    build = work / "_build"
    conf.write_text(
        f"source = {str(photo_set)!r}\n"
        f"destination = {str(build)!r}\n"
        "img_size = (1600, 1600)\n"
        "thumb_size = (280, 210)\n"
    )
    runs = []
    for i in range(args.repeat):
        if args.max_wait_idle > 0:
            bench_build.wait_until_idle(args.max_wait_idle)
        run = run_sigal(sigal, conf, build, 0.05)
        runs.append(run)
        print(f"sigal cold #{i + 1}: " + ", ".join(f"{k} {v}" for k, v in run.items()))
    wall = statistics.median(r["wall_s"] for r in runs)
    print(f"sigal {SIGAL_VERSION}: median {wall:.1f} s, {args.photos / wall:.2f} images/s")
    for run in runs:
        if run["other_cpu_s"] > max(2.0, 0.1 * run["wall_s"]):
            print(f"warning: other processes used {run['other_cpu_s']} CPU s during a run")
    result = {"sigal": SIGAL_VERSION, "photos": args.photos, "median_s": wall, "runs": runs}
    result["images_per_s"] = round(args.photos / wall, 2)
    (OUT / "results-sigal.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
