#!/usr/bin/env python3
"""Comment API benchmark: `python bench/bench_comments.py [--clients 8] [--seconds 10]`.

Makes a throwaway project under a temp folder (one published design in its catalog, a stub
output/index.html so `serve` does not build), starts the real server as a subprocess,
`python build.py --root <project> serve --port P`, and then:

  1. signs up one account per client through POST /api/auth/signup;
  2. runs K client threads for a bounded time, each on its own keep-alive connection
     (http.client), posting comments to POST /api/designs/bench/polish/comments back to back;
  3. reports requests/s, p50/p95/p99/max latency and answers by status.

Rate limits: the server runs with NAILFOLIO_RATE_LIMIT_SCALE=1000000, which multiplies every
API rate limit (5 comments a minute per account, 20 per network, 10 sign-ups an hour per
network) so that the benchmark measures the API rather than its 429s. Everything else is
as in production on the local backend: a real JWT verified per request, the per-network
and per-account rate-limit counters still hit (an UPSERT each), the comment stored in SQLite
(WAL), then scored by VADER and the score stored.

It also measures what `import app` (chalice_app/app.py) costs: the median of --import-runs
fresh `python -c "import app"` from chalice_app/ minus the median of `python -c "pass"`.
Results go to bench/out/results-comments.json.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
OUT = BENCH / "out"
DESIGN = "bench/polish"
PASSWORD = "Bench-2025!"
TARGET_IMPORT_MS = 300.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_project(root: Path) -> None:
    """A project the server can serve at once: one approved design, a stub home page."""
    sys.path.insert(0, str(REPO))
    from nailfolio.config import load_settings, open_catalog
    from nailfolio.gallery.models import Decision, Status

    (root / "content" / "designs").mkdir(parents=True)
    (root / "output").mkdir()
    (root / "output" / "index.html").write_text("<h1>bench</h1>")
    with open_catalog(load_settings(env={}, root=root)) as catalog:
        catalog.record_decision(Decision(DESIGN, "bench-hash", Status.APPROVED, "bench"))


def start_server(root: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = os.environ | {"NAILFOLIO_RATE_LIMIT_SCALE": "1000000"}
    command = [sys.executable, "build.py", "--root", str(root), "serve", "--port", str(port)]
    with log.open("wb") as out:
        server = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=out)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited ({server.returncode}); see {log}")
        try:
            status, _ = request(port, "GET", "/api/health")
            if status == 200:
                return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit(f"the server did not answer within 30 s; see {log}")


def request(
    port: int,
    method: str,
    path: str,
    body: object = None,
    token: str | None = None,
    connection: http.client.HTTPConnection | None = None,
) -> tuple[int, bytes]:
    own = connection is None
    conn = connection or http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Cookie"] = f"nf_session={token}"
    try:
        conn.request(method, path, json.dumps(body) if body is not None else None, headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        if own:
            conn.close()


def sign_up(port: int, index: int) -> str:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        body = {"email": f"client{index}@bench.example", "password": PASSWORD}
        connection.request(
            "POST", "/api/auth/signup", json.dumps(body), {"Content-Type": "application/json"}
        )
        response = connection.getresponse()
        response.read()
        if response.status != 201:
            raise SystemExit(f"sign-up {index} answered {response.status}")
        return response.headers["Set-Cookie"].split(";")[0].partition("=")[2]
    finally:
        connection.close()


def run_client(
    port: int,
    token: str,
    index: int,
    stop_at: float,
    latencies: list[float],
    statuses: Counter[int],
) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    path = f"/api/designs/{DESIGN}/comments"
    sent = 0
    try:
        while time.perf_counter() < stop_at:
            text = f"Client {index} loves this polish, comment {sent}!"
            started = time.perf_counter()
            try:
                status, _ = request(port, "POST", path, {"text": text}, token, connection)
            except (OSError, http.client.HTTPException):
                status = 0  # a dropped connection: count it, reconnect
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            latencies.append(time.perf_counter() - started)
            statuses[status] += 1
            sent += 1
    finally:
        connection.close()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def load_test(port: int, clients: int, seconds: float) -> dict[str, object]:
    tokens = [sign_up(port, i) for i in range(clients)]
    # Warm-up: the first post builds the services' per-thread connections and VADER's lexicon.
    request(port, "POST", f"/api/designs/{DESIGN}/comments", {"text": "warm up"}, tokens[0])
    latencies: list[list[float]] = [[] for _ in range(clients)]
    counts: list[Counter[int]] = [Counter() for _ in range(clients)]
    stop_at = time.perf_counter() + seconds
    threads = [
        threading.Thread(
            target=run_client, args=(port, tokens[i], i, stop_at, latencies[i], counts[i])
        )
        for i in range(clients)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    statuses = sum(counts, Counter())
    every = [value for per_client in latencies for value in per_client]
    ok = statuses[201]
    return {
        "clients": clients,
        "seconds": round(elapsed, 2),
        "requests": len(every),
        "created_201": ok,
        "requests_per_s": round(len(every) / elapsed, 1),
        "latency_ms": {
            "p50": round(percentile(every, 0.50) * 1000, 2),
            "p95": round(percentile(every, 0.95) * 1000, 2),
            "p99": round(percentile(every, 0.99) * 1000, 2),
            "max": round(max(every) * 1000, 2),
            "mean": round(statistics.fmean(every) * 1000, 2),
        },
        "statuses": {str(code): count for code, count in sorted(statuses.items())},
        "errors": {str(code): n for code, n in sorted(statuses.items()) if code != 201},
    }


def import_time(runs: int) -> dict[str, float]:
    """Median wall time of a fresh `import app`, less a bare interpreter's start."""

    def median_ms(code: str) -> float:
        env = os.environ | {"PYTHONPATH": str(REPO)}
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-c", code], cwd=REPO / "chalice_app", env=env, check=True
            )
            samples.append((time.perf_counter() - started) * 1000)
        return statistics.median(samples)

    bare = median_ms("pass")
    with_app = median_ms("import app")
    return {
        "runs": runs,
        "interpreter_ms": round(bare, 1),
        "with_import_ms": round(with_app, 1),
        "import_app_ms": round(with_app - bare, 1),
        "target_ms": TARGET_IMPORT_MS,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8, help="Concurrent clients (K).")
    parser.add_argument("--seconds", type=float, default=10.0, help="How long to post.")
    parser.add_argument("--import-runs", type=int, default=15)
    args = parser.parse_args()

    OUT.mkdir(exist_ok=True)
    imports = import_time(args.import_runs)
    print(
        f"import app: {imports['import_app_ms']:.1f} ms (median of {args.import_runs}, "
        f"interpreter start {imports['interpreter_ms']:.1f} ms subtracted; "
        f"target < {TARGET_IMPORT_MS:.0f} ms)"
    )
    with tempfile.TemporaryDirectory(prefix="nailfolio-bench-") as temp:
        root = Path(temp) / "project"
        make_project(root)
        port = free_port()
        log = OUT / "bench-comments-server.log"
        server = start_server(root, port, log)
        try:
            result = load_test(port, args.clients, args.seconds)
        finally:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    latency: dict[str, float] = result["latency_ms"]  # type: ignore[assignment]
    print(
        f"{result['clients']} clients, {result['seconds']} s: {result['requests']} posts, "
        f"{result['requests_per_s']} req/s; latency p50 {latency['p50']} ms, "
        f"p95 {latency['p95']} ms, p99 {latency['p99']} ms, max {latency['max']} ms; "
        f"statuses {result['statuses']}"
    )
    results = {
        "benchmark": "comments",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "rate_limit_scale": 1_000_000,
        "import": imports,
        "load": result,
    }
    path = OUT / "results-comments.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {path.relative_to(REPO)}")


if __name__ == "__main__":
    main()
