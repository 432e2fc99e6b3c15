#!/usr/bin/env python3
"""Insights API benchmark: `python bench/bench_insights.py [--comments 100000] [--calls 30]`.

Makes a throwaway project under a temp folder and fills its comment store (the real
SqliteCommentStore file, var/comments.sqlite3) with --comments comments over --designs
designs of 20 designers and a year of weeks: random labels and scores, 0 to 4 key phrases
each from a vocabulary of 400 (Zipf-like: a few phrases are everywhere), one in ten a
question or a booking request. The rows go in through plain INSERTs in one transaction, so
the store's own triggers keep the counters exactly as the service's writes do (the fill
time is reported too).

Then it serves the project with the real one-origin server (nailfolio.web.server, the one
`build.py serve` runs) and times --calls GET /api/admin/insights answers with an admin's
Bearer token on one keep-alive connection: the whole year, the last 13 weeks, and one
designer, plus the CSV export. It reports the median and p95 of each (goal: the insights
answer under 200 ms) to stdout and bench/out/results-insights.json.
"""

from __future__ import annotations

import argparse
import http.client
import json
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
OUT = BENCH / "out"
PASSWORD = "Bench-2025!"
TARGET_MS = 200.0
DESIGNERS = 20
VOCABULARY = 400
TEXTS = (
    "Love the {p}, gorgeous work!",
    "The {p} chipped after two days, disappointed.",
    "Nice {p}.",
    "Can I book this for Saturday?",
    "How long does the {p} last",
    "Stunning {p} and a lovely finish.",
    "Not sure about the {p}, but the colour is great.",
)
LABELS = ("POSITIVE", "NEGATIVE", "NEUTRAL", "MIXED")


def fill(path: Path, comments: int, designs: int, seed: int = 2026) -> float:
    """Store `comments` comments (through the store's triggers); returns the seconds it took."""
    sys.path.insert(0, str(REPO))
    from nailfolio.comments.intent import Intent, classify_intent
    from nailfolio.comments.query import new_comment_id
    from nailfolio.local.sqlite_comment_store import SqliteCommentStore

    SqliteCommentStore(path).close()  # creates the file and its schema (with the triggers)
    rng = random.Random(seed)
    keys = [f"designer-{n % DESIGNERS:02d}/design-{n:03d}" for n in range(designs)]
    phrases = [f"phrase {n}" for n in range(VOCABULARY)]
    weights = [1 / (rank + 1) for rank in range(VOCABULARY)]
    end = datetime.now(UTC)
    started = time.perf_counter()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    for _ in range(comments):
        at = end - timedelta(seconds=rng.randrange(365 * 86_400))
        comment_id = new_comment_id(at)
        label = rng.choice(LABELS)
        positive, negative = rng.random() * 0.6, rng.random() * 0.4
        chosen = list(dict.fromkeys(rng.choices(phrases, weights, k=rng.randrange(5))))
        text = rng.choice(TEXTS).format(p=chosen[0] if chosen else "colour")
        conn.execute(
            "INSERT INTO comments (id, design, author_sub, author_name, text, created_at,"
            " sentiment_status, label, positive, negative, neutral, mixed)"
            " VALUES (?, ?, ?, 'Bench', ?, ?, 'scored', ?, ?, ?, ?, 0)",
            (comment_id, rng.choice(keys), f"sub-{rng.randrange(5_000)}", text,
             at.isoformat(timespec="microseconds"), label, positive, negative,
             1 - positive - negative),
        )  # fmt: skip
        intents = classify_intent(text)
        if intents:
            conn.execute(
                "INSERT INTO attention (comment_id, design, created_at, question, booking)"
                " SELECT id, design, created_at, ?, ? FROM comments WHERE id = ?",
                (Intent.QUESTION in intents, Intent.BOOKING in intents, comment_id),
            )
        conn.executemany(
            "INSERT INTO comment_phrases SELECT id, design,"
            " date(substr(created_at, 1, 10), '-6 days', 'weekday 1'), ? FROM comments"
            " WHERE id = ?",
            [(phrase, comment_id) for phrase in chosen],
        )
    conn.execute("COMMIT")
    conn.close()
    return time.perf_counter() - started


def admin_token(settings: object) -> str:
    from nailfolio.config import open_identity

    with open_identity(settings) as identity:  # type: ignore[arg-type]
        identity.create_user("bench@example.com", PASSWORD, "Bench", "admins")
        return identity.sign_in("bench@example.com", PASSWORD, "127.0.0.1").id_token


def timed(conn: http.client.HTTPConnection, path: str, token: str, calls: int) -> dict[str, float]:
    """Median and p95 (ms) of `calls` GETs of `path`, after one warm-up call."""
    headers = {"Authorization": f"Bearer {token}"}
    times = []
    size = 0
    for _ in range(calls + 1):
        started = time.perf_counter()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise SystemExit(f"GET {path}: {response.status} {body[:300]!r}")
        times.append((time.perf_counter() - started) * 1000)
        size = len(body)
    times = times[1:]  # the first call opened the stores and loaded the modules
    quantiles = statistics.quantiles(times, n=20)
    return {"median_ms": statistics.median(times), "p95_ms": quantiles[18], "bytes": size}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comments", type=int, default=100_000)
    parser.add_argument("--designs", type=int, default=200)
    parser.add_argument("--calls", type=int, default=30)
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from nailfolio.config import load_settings
    from nailfolio.web.server import make_server

    with tempfile.TemporaryDirectory(prefix="nailfolio-bench-insights-") as folder:
        root = Path(folder)
        (root / "content" / "designs").mkdir(parents=True)
        (root / "output").mkdir()
        (root / "output" / "index.html").write_text("<h1>Bench</h1>")
        settings = load_settings(env={}, root=root)
        fill_s = fill(settings.comments_path, args.comments, args.designs)
        print(f"filled {args.comments:,} comments over {args.designs} designs in {fill_s:.1f} s")
        token = admin_token(settings)
        server = make_server(settings.output_dir, port=0, settings=settings)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=60)
        since = (datetime.now(UTC) - timedelta(weeks=13)).date().isoformat()
        cases = {
            "insights, the whole year": "/api/admin/insights",
            "insights, the last 13 weeks": f"/api/admin/insights?since={since}",
            "insights, one designer": "/api/admin/insights?designer=designer-07",
            "CSV export, the whole year": "/api/admin/insights.csv",
        }
        results = {name: timed(conn, path, token, args.calls) for name, path in cases.items()}
        conn.close()
        server.shutdown()
        server.server_close()
    for name, found in results.items():
        print(
            f"{name:30} median {found['median_ms']:6.1f} ms  p95 {found['p95_ms']:6.1f} ms"
            f"  ({found['bytes'] / 1024:.0f} KB)"
        )
    worst = max(found["p95_ms"] for name, found in results.items() if name.startswith("insights"))
    verdict = "meets" if worst < TARGET_MS else "misses"
    print(f"worst insights p95 {worst:.1f} ms: {verdict} the {TARGET_MS:.0f} ms goal")
    OUT.mkdir(exist_ok=True)
    report = {
        "comments": args.comments,
        "designs": args.designs,
        "calls": args.calls,
        "fill_seconds": fill_s,
        "results": results,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }
    (OUT / "results-insights.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
