#!/usr/bin/env python3
"""Build benchmark: `python bench/bench_build.py --photos 200 [--repeat 3]`.

Makes a throwaway project under bench/out/ (the repo's theme/ and pelicanconf.py, N generated
phone photos in content/designs/, an empty content/pages/), then times three builds, each a
subprocess `python build.py --root <project> build --quiet`:

  cold       empty var/ and output/: hash, moderate, render every photo, run Pelican
  no-change  the same content again: everything should come from the caches
  one-added  one more photo copied in: one image's work plus the site render

For each: wall time, peak memory of the whole process tree (VmRSS of the build process and
all its descendants, summed, sampled every --interval seconds), the largest single process
(its VmHWM high-water mark, so short peaks between samples are not missed), CPU time, and the
counts from the build's summary line. The cold build runs --repeat times from scratch; the
table shows the median. Results go to bench/out/results-build.json.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
OUT = BENCH / "out"
sys.path.insert(0, str(BENCH))

import make_photos  # noqa: E402  (a sibling script, not a package)

# What to compare with (see bench/README.md).
SIGAL_COLD_200_S = 35.0
SIGAL_IMAGES_PER_S = 5.7
TARGET_NOCHANGE_S = 2.0
TARGET_PEAK_MB = 400.0

SUMMARY = re.compile(
    r"(?P<designs>\d+) designs: (?P<processed>\d+) processed, (?P<reused>\d+) reused, "
    r"(?P<published>\d+) published, (?P<rejected>\d+) rejected, (?P<needs_review>\d+) need "
    r"review, (?P<invalid>\d+) not usable in (?P<seconds>[\d.]+) s"
)


# --- process-tree memory sampling -----------------------------------------------------------


def _children(pid: int) -> list[int]:
    """Direct children of pid, from /proc/<pid>/task/*/children (cheap: no /proc scan)."""
    kids: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return kids
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                kids.extend(int(k) for k in f.read().split())
        except OSError:
            continue
    return kids


def _children_by_scan(pid: int) -> list[int]:
    """Fallback for kernels without CONFIG_PROC_CHILDREN: scan every /proc/<n>/stat."""
    kids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            kids.append(int(name))
    return kids


_HAS_CHILDREN_FILE = os.path.exists(f"/proc/{os.getpid()}/task/{os.getpid()}/children")
children_of = _children if _HAS_CHILDREN_FILE else _children_by_scan


PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def _rss_kb(pid: int) -> int | None:
    """Resident set size in kB from /proc/<pid>/statm (cheaper than status); None if gone."""
    try:
        with open(f"/proc/{pid}/statm") as f:
            resident = int(f.read().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return resident * PAGE_KB or None  # a zombie has no pages left


def _status(pid: int) -> tuple[int, str] | None:
    """(VmHWM in kB, name) of one process: its RSS high-water mark, even between samples."""
    try:
        with open(f"/proc/{pid}/status") as f:
            text = f.read()
    except OSError:
        return None
    values = dict(line.partition(":")[::2] for line in text.splitlines())
    if "VmHWM" not in values:
        return None
    return int(values["VmHWM"].split()[0]), values.get("Name", "?").strip()


def _pss_kb(pid: int) -> int:
    """Proportional set size: shared pages split between the processes sharing them."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass
class MemoryPeaks:
    tree_rss_kb: int = 0  # max over samples of the sum of VmRSS over the tree
    tree_pss_kb: int = 0  # the same with PSS (shared pages split), sampled less often
    per_process_kb: dict[str, int] = field(default_factory=dict)  # "name[pid]" -> peak
    single_kb: int = 0  # max VmHWM (or VmRSS) of any one process
    single_name: str = ""
    max_processes: int = 0
    samples: int = 0


class TreeSampler(threading.Thread):
    """Samples a process tree's memory every interval seconds until stopped.

    RSS is read every sample; the tree's membership, each process's VmHWM and (optionally)
    PSS every SLOW_EVERY-th sample, which keeps the sampler's own CPU use near 1% of a core.
    """

    SLOW_EVERY = 5

    def __init__(self, root_pid: int, interval: float, pss: bool = True) -> None:
        super().__init__(daemon=True)
        self.root_pid, self.interval, self.pss = root_pid, interval, pss
        self.peaks = MemoryPeaks()
        self.cpu_s = 0.0
        self._pids: list[int] = [root_pid]
        self._names: dict[int, str] = {}
        self._stop_event = threading.Event()

    def _refresh(self) -> None:
        pids, todo = [], [self.root_pid]
        while todo:
            pid = todo.pop()
            pids.append(pid)
            todo.extend(children_of(pid))
        self._pids = pids
        for pid in pids:
            status = _status(pid)
            if status is None:
                continue
            hwm, name = status
            self._names[pid] = name
            self._note_process(pid, hwm)

    def _note_process(self, pid: int, kb: int) -> None:
        name = self._names.get(pid, "?")
        key = f"{'root ' if pid == self.root_pid else ''}{name}[{pid}]"
        self.peaks.per_process_kb[key] = max(self.peaks.per_process_kb.get(key, 0), kb)
        if kb > self.peaks.single_kb:
            self.peaks.single_kb, self.peaks.single_name = kb, f"{name}[{pid}]"

    def sample(self) -> None:
        slow = self.peaks.samples % self.SLOW_EVERY == 0
        if slow:
            self._refresh()
        total, alive = 0, 0
        for pid in self._pids:
            rss = _rss_kb(pid)
            if rss is None:
                continue
            total += rss
            alive += 1
            self._note_process(pid, rss)
        if slow and self.pss:
            pss = sum(_pss_kb(pid) for pid in self._pids)
            self.peaks.tree_pss_kb = max(self.peaks.tree_pss_kb, pss)
        self.peaks.tree_rss_kb = max(self.peaks.tree_rss_kb, total)
        self.peaks.max_processes = max(self.peaks.max_processes, alive)
        self.peaks.samples += 1

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.sample()
            self._stop_event.wait(self.interval)
        usage = resource.getrusage(resource.RUSAGE_THREAD)  # what sampling itself cost
        self.cpu_s = usage.ru_utime + usage.ru_stime

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


# --- other load on the machine -------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def busy_cpu_s() -> float:
    """CPU seconds the whole machine has spent busy since boot (all cores, from /proc/stat)."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def wait_until_idle(max_wait: float, threshold: float = 0.15, window: float = 2.0) -> float:
    """Wait until the machine is under `threshold` busy over a window; returns that load.

    First, write back what earlier runs left dirty: sigal writes its ~90 MB without syncing,
    and a build started while the kernel writes it back ran 1-2 s longer (27.6 and 28.2 s
    after 90 MB left dirty, 26.6 and 25.7 s after a sync): each run pays for its own
    writes only."""
    os.sync()
    deadline = time.monotonic() + max_wait
    cores = os.cpu_count() or 1
    announced = False
    while True:
        before = busy_cpu_s()
        time.sleep(window)
        load = (busy_cpu_s() - before) / (window * cores)
        if load < threshold or time.monotonic() >= deadline:
            return load
        if not announced:
            print(f"  machine busy ({load:.0%} of {cores} cores): waiting...", file=sys.stderr)
            announced = True


# --- one timed build ------------------------------------------------------------------------


@dataclass
class BuildRun:
    label: str
    wall_s: float
    exit_code: int
    cpu_user_s: float
    cpu_sys_s: float
    other_cpu_s: float  # CPU the rest of the machine used meanwhile: > a few s skews wall time
    sampler_cpu_s: float  # CPU this script's memory sampling used
    peak_tree_mb: float
    peak_tree_pss_mb: float
    peak_single_mb: float
    peak_single_process: str
    per_process_peak_mb: dict
    max_processes: int
    samples: int
    summary: dict = field(default_factory=dict)
    images_per_s: float | None = None
    stderr_tail: str = ""


@functools.cache
def byte_compile(repo: Path) -> None:
    """Write the checkout's bytecode before it is timed, as a user's first run does. Where
    PYTHONDONTWRITEBYTECODE is set (these machines set it), every build would otherwise
    compile the project's ~100 modules again, ~0.1 s of one core, while sigal's were
    compiled when pip installed them."""
    sources = [repo / name for name in ("build.py", "nailfolio", "hooks") if (repo / name).exists()]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *map(str, sources)], check=True)


def run_build(
    project: Path,
    label: str,
    interval: float,
    workers: int | None,
    pss: bool = True,
    repo: Path = REPO,
    settings: dict[str, str] | None = None,
) -> BuildRun:
    """One `build.py build --quiet` subprocess of the checkout `repo`, timed and sampled;
    `settings` are NAILFOLIO_* variables set for it."""
    byte_compile(repo)
    cmd = [sys.executable, str(repo / "build.py"), "--root", str(project), "build", "--quiet"]
    if workers:
        cmd += ["--workers", str(workers)]
    env = {k: v for k, v in os.environ.items() if k != "NAILFOLIO_ROOT"} | (settings or {})
    logs = project.parent / f"{project.name}-logs"
    logs.mkdir(exist_ok=True)
    slug = label.replace(" ", "-").replace("#", "")
    with open(logs / f"{slug}.out", "w+") as out, open(logs / f"{slug}.err", "w+") as err:
        busy_before = busy_cpu_s()
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=repo, env=env, stdout=out, stderr=err)
        sampler = TreeSampler(proc.pid, interval, pss)
        sampler.start()
        # wait4 rather than proc.wait(): it also returns the CPU time of the reaped tree.
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        busy = busy_cpu_s() - busy_before
        sampler.stop()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        stdout, stderr = out.read(), err.read()
    match = SUMMARY.search(stdout)
    summary = (
        {k: float(v) if k == "seconds" else int(v) for k, v in match.groupdict().items()}
        if match
        else {}
    )
    peaks = sampler.peaks
    # Not usage.ru_maxrss: exec keeps the forking parent's high-water mark in it (this script's).
    single_kb = peaks.single_kb
    return BuildRun(
        label=label,
        wall_s=round(wall, 3),
        exit_code=proc.returncode,
        cpu_user_s=round(usage.ru_utime, 2),
        cpu_sys_s=round(usage.ru_stime, 2),
        other_cpu_s=round(max(0.0, busy - usage.ru_utime - usage.ru_stime - sampler.cpu_s), 1),
        sampler_cpu_s=round(sampler.cpu_s, 2),
        peak_tree_mb=round(peaks.tree_rss_kb / 1024, 1),
        peak_tree_pss_mb=round(peaks.tree_pss_kb / 1024, 1),
        peak_single_mb=round(single_kb / 1024, 1),
        peak_single_process=peaks.single_name,
        per_process_peak_mb={k: round(v / 1024, 1) for k, v in peaks.per_process_kb.items()},
        max_processes=peaks.max_processes,
        samples=peaks.samples,
        summary=summary,
        stderr_tail="\n".join(stderr.strip().splitlines()[-15:]),
    )


# --- the project folder ---------------------------------------------------------------------


def make_project(root: Path) -> Path:
    """A fresh project folder laid out like tests/conftest.py's `project` fixture."""
    if root.exists():
        shutil.rmtree(root)
    (root / "content" / "designs").mkdir(parents=True)
    (root / "content" / "pages").mkdir()
    os.symlink(REPO / "theme", root / "theme")
    shutil.copy2(REPO / "pelicanconf.py", root / "pelicanconf.py")
    return root


def _place(src: Path, dest: Path) -> None:
    """Hard-link a photo into the project (instant, same bytes); copy across filesystems."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dest)
    except OSError:
        shutil.copy2(src, dest)


def add_photos(photo_set: Path, designs: Path) -> int:
    manifest = json.loads((photo_set / "manifest.json").read_text())
    for photo in manifest["photos"]:
        _place(photo_set / photo["path"], designs / photo["path"])
    return len(manifest["photos"])


def clear_state(project: Path) -> None:
    """What a cold build starts from: no catalog, no rendition cache, no output."""
    for name in ("var", "output"):
        shutil.rmtree(project / name, ignore_errors=True)


# --- calibration -----------------------------------------------------------------------------

REFERENCE_PILLOW_MS = {"draft": 150.0, "full": 278.0}  # per image, on the reference photos


def calibrate(photo_set: Path, count: int = 10) -> dict[str, float]:
    """Plain single-process Pillow decode + resize to 1600 px + JPEG save, ms per image.

    The same measurement as the reference figures (150 ms with draft decoding, 278 ms
    without): the ratio says how much cheaper or dearer these photos and this machine are.
    """
    from PIL import Image

    manifest = json.loads((photo_set / "manifest.json").read_text())["photos"]
    paths = [photo_set / p["path"] for p in manifest if p["orientation"] == 1][:count]
    result = {}
    with tempfile.TemporaryDirectory(dir=OUT) as tmp:
        for mode in ("draft", "full"):
            started = time.perf_counter()
            for path in paths:
                with Image.open(path) as image:
                    if mode == "draft":
                        image.draft("RGB", (1600, 1200))
                    small = image.convert("RGB").resize((1600, 1200), Image.Resampling.LANCZOS)
                small.save(Path(tmp) / "out.jpg", "JPEG", quality=85)
            result[mode] = round((time.perf_counter() - started) / len(paths) * 1000, 1)
    return result


# --- report ---------------------------------------------------------------------------------


def _verdicts(
    photos: int, cold: BuildRun, nochange: BuildRun, added: BuildRun, peak: float
) -> dict:
    sigal_s = SIGAL_COLD_200_S * photos / 200
    return {
        "cold_vs_sigal": {
            "target_s": round(sigal_s, 1),
            "actual_s": cold.wall_s,
            "ok": cold.wall_s <= sigal_s,
        },
        "nochange_under_2s": {
            "target_s": TARGET_NOCHANGE_S,
            "actual_s": nochange.wall_s,
            "ok": nochange.wall_s < TARGET_NOCHANGE_S,
        },
        "peak_memory": {
            "target_mb": TARGET_PEAK_MB,
            "actual_mb": peak,
            "ok": peak < TARGET_PEAK_MB,
        },
        "builds_succeeded": {
            "ok": all(r.exit_code == 0 for r in (cold, nochange, added)),
        },
    }


def print_table(
    runs: list[BuildRun], cold_median: BuildRun, photos: int, verdicts: dict, calibration: dict
) -> None:
    header = (
        f"{'build':<16}{'wall s':>8}{'img/s':>8}{'cpu s':>7}{'other':>7}{'tree MB':>9}"
        f"{'PSS MB':>8}{'1 proc MB':>11}{'procs':>7}{'proc':>6}{'reuse':>7}{'publ':>6}"
        f"{'bad':>5}{'exit':>6}"
    )
    print(f"\nNailfolio build benchmark: {photos} photos, {os.cpu_count()} cores")
    print(header)
    print("-" * len(header))
    for run in [cold_median, *runs]:
        s = run.summary
        ips = f"{run.images_per_s:.2f}" if run.images_per_s else "-"
        bad = s.get("rejected", 0) + s.get("needs_review", 0) + s.get("invalid", 0) if s else "-"
        print(
            f"{run.label:<16}{run.wall_s:>8.2f}{ips:>8}{run.cpu_user_s + run.cpu_sys_s:>7.1f}"
            f"{run.other_cpu_s:>7.1f}{run.peak_tree_mb:>9.0f}{run.peak_tree_pss_mb:>8.0f}"
            f"{run.peak_single_mb:>11.0f}{run.max_processes:>7}{s.get('processed', '-'):>6}"
            f"{s.get('reused', '-'):>7}{s.get('published', '-'):>6}{bad:>5}{run.exit_code:>6}"
        )
    print(
        f"\nper-process peaks in {cold_median.label} (MB): "
        + ", ".join(f"{k} {v:.0f}" for k, v in cold_median.per_process_peak_mb.items())
    )
    print()
    for name, v in verdicts.items():
        detail = ", ".join(f"{k}={v[k]}" for k in v if k != "ok")
        print(f"  {'PASS' if v['ok'] else 'MISS'}  {name}  {detail}")
    print(
        f"  reference: sigal 2.6.1 cold 200 in ~{SIGAL_COLD_200_S:.0f} s "
        f"({SIGAL_IMAGES_PER_S} img/s, 135 MB); bench_sigal.py re-measures it here"
    )
    print(
        f"  calibration: plain Pillow decode+resize+save to 1600 px takes "
        f"{calibration['draft']:.0f} ms (draft) / {calibration['full']:.0f} ms (full decode) "
        f"per photo here, vs 150 / 278 ms behind the reference figures"
    )
    _print_warnings(runs)


def _print_warnings(runs: list[BuildRun]) -> None:
    for run in runs:
        if run.exit_code:
            print(f"\n{run.label} failed (exit {run.exit_code}):\n{run.stderr_tail}")
        if run.summary and run.summary.get("published", 0) < run.summary.get("designs", 0):
            published, designs = run.summary["published"], run.summary["designs"]
            print(f"\nnote: {run.label} published {published} of {designs}")
        if run.other_cpu_s > max(2.0, 0.1 * run.wall_s):
            print(
                f"\nwarning: {run.label}: other processes used {run.other_cpu_s:.0f} CPU s "
                f"during its {run.wall_s:.0f} s: its wall time is not trustworthy"
            )


def run_series(args: argparse.Namespace, project: Path, extra_set: Path) -> list[BuildRun]:
    """--repeat cold builds, then a no-change and a one-added rebuild."""
    count = len(list((project / "content" / "designs").rglob("*.jpg")))
    options = {"interval": args.interval, "workers": args.workers or None, "pss": not args.pss_off}

    def timed(label: str) -> BuildRun:
        if args.max_wait_idle > 0:
            wait_until_idle(args.max_wait_idle)
        run = run_build(project, label, **options)
        print(f"  {label}: {run.wall_s:.2f} s, exit {run.exit_code}", file=sys.stderr)
        return run

    runs = []
    for i in range(args.repeat):
        clear_state(project)
        run = timed(f"cold #{i + 1}")
        run.images_per_s = round(count / run.wall_s, 2)
        runs.append(run)
    runs.append(timed("no-change"))
    add_photos(extra_set, project / "content" / "designs")
    runs.append(timed("one-added"))
    return runs


def median_cold(colds: list[BuildRun], count: int) -> BuildRun:
    """The cold run nearest the median, relabelled, carrying the median wall time."""
    median_wall = statistics.median(r.wall_s for r in colds)
    nearest = min(colds, key=lambda r: abs(r.wall_s - median_wall))
    run = BuildRun(**{**asdict(nearest), "label": f"cold (median/{len(colds)})"})
    run.wall_s = round(median_wall, 3)
    run.images_per_s = round(count / median_wall, 2)
    return run


def results(args: argparse.Namespace, count: int, runs: list[BuildRun], cold: BuildRun) -> dict:
    import PIL

    return {
        "photos": count,
        "repeat": args.repeat,
        "workers": args.workers or "default",
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "pillow": PIL.__version__,
            "platform": platform.platform(),
        },
        "cold_median_s": cold.wall_s,
        "cold_images_per_s": cold.images_per_s,
        "peak_tree_mb": max(r.peak_tree_mb for r in runs),
        "peak_tree_pss_mb": max(r.peak_tree_pss_mb for r in runs),
        "peak_single_mb": max(r.peak_single_mb for r in runs),
        "runs": [asdict(r) for r in runs],
        "reference": {
            "sigal_cold_200_s": SIGAL_COLD_200_S,
            "sigal_images_per_s": SIGAL_IMAGES_PER_S,
            "sigal_peak_mb": 135,
            "pillow_1600_ms": REFERENCE_PILLOW_MS,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="Time Nailfolio builds on generated phone photos.")
    parser.add_argument("--photos", type=int, default=200, help="photos in the gallery")
    parser.add_argument("--repeat", type=int, default=1, help="cold builds to take the median of")
    parser.add_argument("--workers", type=int, default=0, help="pass --workers N to the build")
    parser.add_argument("--interval", type=float, default=0.05, help="memory sampling period, s")
    parser.add_argument(
        "--no-pss", dest="pss_off", action="store_true", help="skip PSS (smaps_rollup) sampling"
    )
    parser.add_argument(
        "--max-wait-idle",
        type=float,
        default=120.0,
        help="before each build, wait up to this many seconds for the machine to go idle (0: no)",
    )
    parser.add_argument("--json", type=Path, default=OUT / "results-build.json")
    args = parser.parse_args()
    if args.photos < 1 or args.repeat < 1:
        parser.error("--photos and --repeat must be at least 1")

    photo_set = make_photos.ensure_photos(args.photos)
    extra_set = make_photos.ensure_photos(1, first=args.photos, name=f"photos-{args.photos}-extra")
    project = make_project(OUT / f"project-{args.photos}")
    count = add_photos(photo_set, project / "content" / "designs")
    print(f"project {project}: {count} photos", file=sys.stderr)

    if args.max_wait_idle > 0:
        wait_until_idle(args.max_wait_idle)
    calibration = calibrate(photo_set)
    print(
        f"  Pillow decode+resize+save 1600 px: {calibration['draft']:.0f} ms with draft, "
        f"{calibration['full']:.0f} ms without (reference photos: 150 and 278 ms)",
        file=sys.stderr,
    )
    runs = run_series(args, project, extra_set)
    cold = median_cold(runs[:-2], count)
    nochange, added = runs[-2:]
    peak = max(r.peak_tree_mb for r in runs)
    verdicts = _verdicts(count, cold, nochange, added, peak)
    print_table(runs, cold, count, verdicts, calibration)
    result = results(args, count, runs, cold) | {
        "project": str(project),
        "verdicts": verdicts,
        "calibration_pillow_1600_ms": calibration,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2))
    print(f"\nwrote {args.json}")
    if any(r.exit_code for r in runs):
        sys.exit(1)


if __name__ == "__main__":
    main()
