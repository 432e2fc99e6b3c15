#!/usr/bin/env python3
"""Lighthouse scores of the sample gallery: `python bench/bench_lighthouse.py`.

Installs Lighthouse (LIGHTHOUSE_VERSION, from the npm registry) into bench/node_modules on
first use, builds the repo's own gallery (`build.py build --quiet` in the repo root), serves
it with `build.py serve` on a free loopback port, and runs Lighthouse (mobile, the default
form factor) with Debian's Chromium on the index page and on the first design page linked
from output/index.html. Prints the four category scores x100 per page and, for each category
under 100, the audits that failed; writes bench/out/results-lighthouse.json. The server is
stopped at the end whatever happens.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
OUT = BENCH / "out"
LIGHTHOUSE_VERSION = "12"  # 13 needs node >= 22.19; this machine has node 20
LIGHTHOUSE_BIN = BENCH / "node_modules" / ".bin" / "lighthouse"
CHROME_PATH = "/usr/bin/chromium"
CHROME_FLAGS = (
    "--headless=new --no-sandbox --disable-gpu --disable-background-networking "
    "--disable-component-update --disable-sync --no-first-run"
)
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
TARGET = 95
SCORED_MODES = ("binary", "numeric", "metricSavings")


def ensure_lighthouse() -> Path:
    """bench/node_modules/.bin/lighthouse, installed from the npm registry if missing."""
    if _installed_major() != LIGHTHOUSE_VERSION:
        print(
            f"installing lighthouse@{LIGHTHOUSE_VERSION} into {BENCH / 'node_modules'}...",
            file=sys.stderr,
        )
        subprocess.run(
            [
                "npm",
                "install",
                "--prefix",
                str(BENCH),
                "--no-audit",
                "--no-fund",
                "--no-save",
                f"lighthouse@{LIGHTHOUSE_VERSION}",
            ],
            check=True,
        )
    return LIGHTHOUSE_BIN


def _installed_major() -> str | None:
    manifest = BENCH / "node_modules" / "lighthouse" / "package.json"
    if not (manifest.is_file() and LIGHTHOUSE_BIN.exists()):
        return None
    return json.loads(manifest.read_text())["version"].split(".")[0]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    """Until url answers 200 (the server builds first if output/ is empty)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode} before answering")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


def first_design_path(index_html: Path) -> str | None:
    """The first link to a design page in the built index, e.g. /designs/ana/red-tips/."""
    html = index_html.read_text(encoding="utf-8")
    for href in re.findall(r'href="([^"]+)"', html):
        path = re.sub(r"^https?://[^/]+", "", href)
        path = re.sub(r"^(\./|\.\./)+", "/", path)  # the theme writes relative links
        if path.startswith("/designs/") and path.rstrip("/") != "/designs":
            return path
    return None


def run_lighthouse(binary: Path, url: str, report: Path) -> dict:
    env = os.environ | {"CHROME_PATH": CHROME_PATH}
    cmd = [
        str(binary),
        url,
        "--output=json",
        f"--output-path={report}",
        f"--chrome-flags={CHROME_FLAGS}",
        f"--only-categories={','.join(CATEGORIES)}",
        "--quiet",
    ]
    subprocess.run(cmd, check=True, env=env, timeout=300)
    return json.loads(report.read_text())


def summarise(lhr: dict) -> dict:
    """Category scores x100; the audits that did not pass, per category.

    `failing` lists them for categories under 100 (weighted ones first); `diagnostics` lists
    the unweighted ones that did not pass in categories at 100: no score lost, still hints.
    """
    result: dict = {
        "url": lhr.get("finalDisplayedUrl") or lhr.get("finalUrl"),
        "scores": {},
        "failing": {},
        "diagnostics": {},
        "runtime_error": lhr.get("runtimeError"),
    }
    for cid in CATEGORIES:
        category = lhr["categories"].get(cid)
        score = category["score"] if category else None
        result["scores"][cid] = None if score is None else round(score * 100)
        if category is None:
            continue
        missed = _not_passed(category, lhr["audits"])
        if missed:
            result["failing" if score is None or score < 1 else "diagnostics"][cid] = missed
    return result


def _not_passed(category: dict, audits: dict) -> list[dict]:
    missed = []
    for ref in category["auditRefs"]:
        audit = audits[ref["id"]]
        if audit.get("scoreDisplayMode") not in SCORED_MODES or audit.get("score") is None:
            continue
        if audit["score"] < 1:
            missed.append(
                {
                    "id": ref["id"],
                    "title": audit["title"],
                    "score": audit["score"],
                    "weight": ref.get("weight", 0),
                    "display_value": audit.get("displayValue", ""),
                }
            )
    return sorted(missed, key=lambda a: -a["weight"])


@contextmanager
def served(root: Path, port: int) -> Iterator[str]:
    """`build.py serve` on a loopback port for the duration; always stopped afterwards."""
    base = f"http://127.0.0.1:{port}"
    env = os.environ | {"NAILFOLIO_SITE_URL": base}
    cmd = [sys.executable, "build.py", "--root", str(root), "serve", "--port", str(port)]
    with open(OUT / "lighthouse-server.log", "w") as log:
        server = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for(base + "/", server)
            yield base
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def measure(binary: Path, root: Path, base: str) -> dict[str, dict]:
    """Lighthouse on the index and on the first design page it links to."""
    targets = {"index": "/"}
    design = first_design_path(root / "output" / "index.html")
    if design:
        targets["design"] = design
    else:
        print(
            "warning: no /designs/ link in output/index.html: is the sample gallery "
            "empty? Only the index page is measured.",
            file=sys.stderr,
        )
    pages = {}
    for name, path in targets.items():
        print(f"lighthouse {base}{path} ...", file=sys.stderr)
        lhr = run_lighthouse(binary, base + path, OUT / f"lighthouse-{name}.json")
        pages[name] = summarise(lhr)
    return pages


def site_root() -> Path:
    """The repo itself when its content/designs holds the sample gallery.

    In a checkout where the sample designs have not been drawn yet, a throwaway project under
    bench/out/ gets them from scripts/make_sample_content.py instead, so the repo's own
    content/ is never written to.
    """
    if any(p.is_file() for p in (REPO / "content" / "designs").rglob("*")):
        return REPO
    script = REPO / "scripts" / "make_sample_content.py"
    if not script.is_file():
        print("warning: content/designs is empty: measuring an empty gallery", file=sys.stderr)
        return REPO
    root = OUT / "lighthouse-project"
    print(f"content/designs is empty: drawing the sample gallery into {root}", file=sys.stderr)
    shutil.rmtree(root, ignore_errors=True)
    (root / "content").mkdir(parents=True)
    subprocess.run(
        [sys.executable, str(script), "--out", str(root / "content")],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    os.symlink(REPO / "theme", root / "theme")
    shutil.copy2(REPO / "pelicanconf.py", root / "pelicanconf.py")
    return root


def build_site(root: Path, port: int) -> None:
    """`build.py build --quiet` with the site URL the server will answer on."""
    env = os.environ | {"NAILFOLIO_SITE_URL": f"http://127.0.0.1:{port}"}
    cmd = [sys.executable, "build.py", "--root", str(root), "build", "--quiet"]
    subprocess.run(cmd, cwd=REPO, check=True, env=env)


def main() -> None:
    parser = argparse.ArgumentParser(description="Lighthouse scores of the sample gallery.")
    parser.add_argument("--json", type=Path, default=OUT / "results-lighthouse.json")
    parser.add_argument("--no-build", action="store_true", help="serve output/ as it is")
    args = parser.parse_args()
    if not Path(CHROME_PATH).exists():
        sys.exit(f"{CHROME_PATH} not found: apt-get install -y chromium")
    if shutil.which("npm") is None:
        sys.exit("npm not found: install node and npm")
    binary = ensure_lighthouse()
    OUT.mkdir(parents=True, exist_ok=True)

    root = REPO if args.no_build else site_root()
    port = free_port()
    if not args.no_build:
        build_site(root, port)
    with served(root, port) as base:
        pages = measure(binary, root, base)

    print(f"\n{'page':<8}" + "".join(f"{c:>16}" for c in CATEGORIES) + "   url")
    for name, page in pages.items():
        cells = "".join(f"{'-' if s is None else s:>16}" for s in page["scores"].values())
        print(f"{name:<8}{cells}   {page['url']}")
    for kind, heading in (("failing", "failing audits"), ("diagnostics", "unweighted hints")):
        for name, page in pages.items():
            for cid, audits in page[kind].items():
                print(f"\n{name} / {cid} ({page['scores'][cid]}): {heading}")
                for audit in audits:
                    value = f" ({audit['display_value']})" if audit["display_value"] else ""
                    print(
                        f"  - {audit['title']}{value}  [{audit['id']}, score {audit['score']}, "
                        f"weight {audit['weight']}]"
                    )
    below = [
        (n, c) for n, p in pages.items() for c, s in p["scores"].items() if s is None or s < TARGET
    ]
    verdict = "PASS" if not below else "MISS"
    print(
        f"\n{verdict}: target {TARGET}+ in each category"
        + ("" if not below else f"; below: {', '.join(f'{n}/{c}' for n, c in below)}")
    )
    result = {
        "lighthouse": LIGHTHOUSE_VERSION,
        "form_factor": "mobile",
        "site_root": str(root),
        "target": TARGET,
        "pages": pages,
        "ok": not below,
    }
    args.json.write_text(json.dumps(result, indent=2))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
