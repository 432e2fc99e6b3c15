"""The sidecar cache: a scan reads and renders a sidecar again only when its size or mtime
changed, and gives what a scan without a cache gives."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nailfolio.gallery import content
from nailfolio.gallery.content import scan_designs
from nailfolio.local.folder_content_store import FolderContentStore

SETTLED = 10**9 * 3600  # an hour, in ns: far past the racy window


def write(path: Path, text: str, age_ns: int = SETTLED) -> None:
    path.write_text(text, encoding="utf-8")
    mtime = path.stat().st_mtime_ns - age_ns
    os.utime(path, ns=(mtime, mtime))


@pytest.fixture
def designs(tmp_path: Path) -> Path:
    ana = tmp_path / "content" / "designs" / "ana"
    ana.mkdir(parents=True)
    for name in ("red", "blue"):
        (ana / f"{name}.jpg").write_bytes(b"not decoded by a scan")
        write(ana / f"{name}.md", f"Title: {name.title()} Nails\nTags: gel\n\nA *{name}* set.\n")
    return tmp_path / "content"


def scanned(root: Path, cache: Path | None) -> dict:
    scan = scan_designs(FolderContentStore(root), "", cache)
    return {d.key: (d.title, d.tags, d.description) for d in scan.designs}


def count_renders(monkeypatch) -> list[str]:
    rendered: list[str] = []
    real = content.render_markdown

    def counting(text: str) -> str:
        rendered.append(text)
        return real(text)

    monkeypatch.setattr(content, "render_markdown", counting)
    return rendered


def test_an_unchanged_sidecar_is_not_rendered_again(designs, tmp_path, monkeypatch):
    cache = tmp_path / "var" / "sidecars.json"
    first, plain = scanned(designs, cache), scanned(designs, None)
    assert cache.is_file()
    rendered = count_renders(monkeypatch)
    assert scanned(designs, cache) == first == plain
    assert [t for t in rendered if t] == []  # "": the bio of a designer with no designer.md


def test_an_edited_sidecar_is_read_again(designs, tmp_path, monkeypatch):
    cache = tmp_path / "var" / "sidecars.json"
    scanned(designs, cache)
    sidecar = designs / "designs" / "ana" / "red.md"
    write(sidecar, "Title: Ruby Nails\nTags: gel\n\nA *ruby* set.\n", age_ns=SETTLED // 2)
    rendered = count_renders(monkeypatch)
    result = scanned(designs, cache)
    assert [t for t in rendered if t] == ["A *ruby* set."]
    assert result["ana/red"][0] == "Ruby Nails"
    assert result == scanned(designs, None)


def test_a_sidecar_changed_just_now_is_not_kept(designs, tmp_path, monkeypatch):
    """Within the clock's granularity a second edit could keep the size and mtime."""
    cache = tmp_path / "var" / "sidecars.json"
    write(designs / "designs" / "ana" / "red.md", "Title: Fresh\n\nJust *now*.\n", age_ns=0)
    scanned(designs, cache)
    rendered = count_renders(monkeypatch)
    scanned(designs, cache)
    assert [t for t in rendered if t] == ["Just *now*."]


def test_a_damaged_cache_is_ignored(designs, tmp_path):
    cache = tmp_path / "var" / "sidecars.json"
    cache.parent.mkdir()
    cache.write_text("{half")
    assert scanned(designs, cache) == scanned(designs, None)
