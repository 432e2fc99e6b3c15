#!/usr/bin/env python3
"""The reference, re-measured here: `python bench/bench_sigal.py --photos 200 [--repeat 3]`.

Installs sigal 2.6.1 (with the Pillow version this project runs) from PyPI into a venv at
bench/out/sigal-venv on first use, then times cold `sigal build` runs of the benchmark photo
set into a 1600 px JPEG (longest side) and a 280x210 thumbnail per photo, with the same
tree-memory sampling and idle-machine checks as bench_build.py. Writes
bench/out/results-sigal.json. Compare its images/s with bench_build.py's on the same day.

`--versus [CHECKOUT ...]` measures the ratio in one run: each round runs a cold Nailfolio
build of every checkout named (this one when none is), each round starting with the next
one, then sigal (A B sigal, B A sigal), so the machine's load drifts over all alike; each
Nailfolio run is divided by the sigal run of its own round, and the median ratio is
reported. A checkout is any folder holding build.py and nailfolio/ (e.g. an older commit
unpacked with `git archive`).
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
        "sys_s": round(usage.ru_stime, 1),
        "other_cpu_s": round(max(0.0, bench_build.busy_cpu_s() - busy - cpu - sampler.cpu_s), 1),
        "peak_tree_mb": round(sampler.peaks.tree_rss_kb / 1024, 1),
        "peak_tree_pss_mb": round(sampler.peaks.tree_pss_kb / 1024, 1),
        "peak_single_mb": round(sampler.peaks.single_kb / 1024, 1),
    }


def _write_conf(photo_set: Path, work: Path) -> tuple[Path, Path]:
    work.mkdir(parents=True, exist_ok=True)
    conf, build = work / "sigal.conf.py", work / "_build"
    conf.write_text(
        f"source = {str(photo_set)!r}\n"
        f"destination = {str(build)!r}\n"
        "img_size = (1600, 1600)\n"
        "thumb_size = (280, 210)\n"
    )
    return conf, build


def _nailfolio_run(
    checkout: Path, project: Path, label: str, workers: int, widths: str | None
) -> dict:
    """One cold build of `checkout` on the benchmark project (at `widths`, else the
    checkout's default widths), in bench_sigal's run shape."""
    bench_build.clear_state(project)
    settings = {"NAILFOLIO_IMAGE_WIDTHS": widths} if widths else {}
    run = bench_build.run_build(
        project, label, 0.05, workers or None, repo=checkout, settings=settings
    )
    if run.exit_code:
        sys.exit(f"{label} failed (exit {run.exit_code}):\n{run.stderr_tail}")
    return {
        "wall_s": round(run.wall_s, 2),
        "exit_code": run.exit_code,
        "cpu_s": round(run.cpu_user_s + run.cpu_sys_s, 1),
        "sys_s": round(run.cpu_sys_s, 1),
        "other_cpu_s": run.other_cpu_s,
        "peak_tree_mb": run.peak_tree_mb,
        "peak_tree_pss_mb": run.peak_tree_pss_mb,
        "peak_single_mb": run.peak_single_mb,
    }


def versus(args: argparse.Namespace, photo_set: Path, sigal: Path) -> None:
    """Rounds of (each checkout at each of the widths cold, then sigal cold); ratios within
    each round."""
    checkouts = [
        (Path(c).resolve(), widths)
        for c in args.versus or [bench_build.REPO]
        for widths in args.widths or [None]
    ]
    project = bench_build.make_project(OUT / f"project-{args.photos}")
    bench_build.add_photos(photo_set, project / "content" / "designs")
    conf, build = _write_conf(photo_set, OUT / "sigal")
    names = {(c, w): f"{c} widths {w}" if w else str(c) for c, w in checkouts}
    ratios: dict[str, list[float]] = {name: [] for name in names.values()}
    clean: dict[str, list[float]] = {name: [] for name in names.values()}  # undisturbed rounds
    rows = []
    for i in range(args.repeat):
        round_runs = []
        # Each round starts with the next checkout (A B, then B A): none always runs first,
        # right after the idle wait, which one day here ran a few per cent faster or slower.
        shift = i % len(checkouts)
        for checkout, widths in checkouts[shift:] + checkouts[:shift]:
            if args.max_wait_idle > 0:
                bench_build.wait_until_idle(args.max_wait_idle)
            label = f"nailfolio #{i + 1}"
            run = _nailfolio_run(checkout, project, label, args.workers, widths)
            round_runs.append((names[checkout, widths], run))
        if args.max_wait_idle > 0:
            bench_build.wait_until_idle(args.max_wait_idle)
        sigal_run = run_sigal(sigal, conf, build, 0.05)
        for name, run in round_runs:
            ratios[name].append(run["wall_s"] / sigal_run["wall_s"])
            if not (_disturbed(run) or _disturbed(sigal_run)):
                clean[name].append(run["wall_s"] / sigal_run["wall_s"])
            rows.append((i + 1, name, run))
        rows.append((i + 1, "sigal", sigal_run))
        print(f"round {i + 1} done: load {os.getloadavg()[0]:.2f}", file=sys.stderr)
    _print_versus(rows, ratios, clean)
    (OUT / "results-versus.json").write_text(
        json.dumps(
            {"photos": args.photos, "rows": rows, "ratios": ratios, "clean": clean}, indent=2
        )
    )


def _disturbed(run: dict) -> bool:
    """Other processes used more than a tenth of the run's wall time in CPU meanwhile."""
    return run["other_cpu_s"] > max(2.0, 0.1 * run["wall_s"])


def _print_versus(
    rows: list, ratios: dict[str, list[float]], clean: dict[str, list[float]]
) -> None:
    header = (
        f"{'round':<6}{'what':<40}{'wall s':>8}{'cpu s':>7}{'sys s':>7}{'other':>7}{'tree MB':>9}"
    )
    print(f"\n{header}{'PSS MB':>8}{'1 proc MB':>11}\n{'-' * (len(header) + 19)}")
    for number, name, run in rows:
        print(
            f"{number:<6}{name[-39:]:<40}{run['wall_s']:>8.2f}{run['cpu_s']:>7.1f}{run['sys_s']:>7.1f}"
            f"{run['other_cpu_s']:>7.1f}{run['peak_tree_mb']:>9.0f}{run['peak_tree_pss_mb']:>8.0f}"
            f"{run['peak_single_mb']:>11.0f}"
        )
    print()
    for name, values in ratios.items():
        text = ", ".join(f"{v:.2f}" for v in values)
        print(f"ratio to sigal, median {statistics.median(values):.2f} ({text}): {name}")
        if clean[name]:
            text = ", ".join(f"{v:.2f}" for v in clean[name])
            print(f"  in undisturbed rounds only: {statistics.median(clean[name]):.2f} ({text})")
        else:
            print("  no undisturbed round: every pair had others' CPU above a tenth of its time")
    print(f"load average now: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


def main() -> None:
    parser = argparse.ArgumentParser(description="Time sigal on the benchmark photos.")
    parser.add_argument("--photos", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--max-wait-idle", type=float, default=120.0)
    parser.add_argument(
        "--versus",
        nargs="*",
        metavar="CHECKOUT",
        help="alternate cold Nailfolio builds of these checkouts (default: this one) with sigal",
    )
    parser.add_argument(
        "--widths",
        nargs="*",
        metavar="W,W,...",
        help="with --versus: build each checkout at each of these NAILFOLIO_IMAGE_WIDTHS",
    )
    parser.add_argument("--workers", type=int, default=0, help="--workers N for Nailfolio")
    args = parser.parse_args()

    photo_set = make_photos.ensure_photos(args.photos)
    sigal = ensure_sigal()
    if args.versus is not None:
        versus(args, photo_set, sigal)
        return
    conf, build = _write_conf(photo_set, OUT / "sigal")
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
