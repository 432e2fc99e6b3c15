"""build.py commands through click's runner, on a throwaway project."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import REPO, MarkerModerator, Project
from serve_process import free_port

from nailfolio import cli, config
from nailfolio.gallery import watch
from nailfolio.web.server import SiteServer


@pytest.fixture(autouse=True)
def fake_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "moderator_factory", lambda settings: MarkerModerator)
    monkeypatch.setenv("NAILFOLIO_WORKERS", "1")


def invoke(project: Project, *args: str) -> Result:
    return CliRunner().invoke(cli.main, ["--root", str(project.root), *args])


def test_build_prints_a_summary_and_skipped_files(project: Project) -> None:
    project.add_image("ana/red.jpg")
    project.add_image("ana/bad.jpg", marker=255)
    (project.designs / "ana" / "readme.jpg").write_text("not a picture")
    result = invoke(project, "build", "--quiet")
    assert result.exit_code == 0, result.output
    assert "3 designs: 3 processed, 0 reused, 1 published, 1 rejected" in result.output
    assert "skipped content/designs/ana/readme.jpg: not an image" in result.output


def test_a_bad_sidecar_is_printed_and_counted_as_a_warning(project: Project) -> None:
    project.add_image("ana/red.jpg")
    (project.designs / "ana" / "red.md").write_text("Date: 31/02/2026\n")
    result = invoke(project, "build", "--quiet")
    assert result.exit_code == 0, result.output
    assert "warning content/designs/ana/red.md: Date: '31/02/2026' is not a date" in result.output
    assert "1 published, 0 rejected, 0 need review, 0 not usable, 1 warning in" in result.output
    assert "skipped" not in result.output


def test_a_rebuild_reports_a_known_bad_file_without_processing_it(project: Project) -> None:
    project.add_image("ana/red.jpg")
    (project.designs / "ana" / "readme.jpg").write_text("not a picture")
    invoke(project, "build", "--quiet")
    result = invoke(project, "build", "--quiet")
    assert "2 designs: 0 processed, 1 reused, 1 published" in result.output
    assert "skipped content/designs/ana/readme.jpg: not an image" in result.output


def test_image_widths_come_from_the_environment_and_a_change_renders_again(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.add_image("ana/red.jpg", size=(1600, 1200))
    page = project.root / "output" / "designs" / "ana" / "red" / "index.html"
    monkeypatch.setenv("NAILFOLIO_IMAGE_WIDTHS", "640,320")
    assert invoke(project, "build", "--quiet").exit_code == 0
    assert re.findall(r"-(\d+)w\.webp (\d+)w", page.read_text()) == [("320", "320"), ("640", "640")]
    monkeypatch.setenv("NAILFOLIO_IMAGE_WIDTHS", "480,960,1200")
    result = invoke(project, "build", "--quiet")
    assert "1 designs: 1 processed, 0 reused, 1 published" in result.output, result.output
    widths = re.findall(r"-(\d+)w\.webp \d+w", page.read_text())
    assert widths == ["480", "960", "1200"]
    monkeypatch.setenv("NAILFOLIO_IMAGE_WIDTHS", "480,9600")
    result = invoke(project, "build", "--quiet")
    assert result.exit_code == 1
    assert result.output.startswith("Error: NAILFOLIO_IMAGE_WIDTHS='480,9600' must be 1 to 6")


def test_strict_build_fails_when_anything_is_rejected(project: Project) -> None:
    project.add_image("ana/red.jpg")
    project.add_image("ana/bad.jpg", marker=255)
    result = invoke(project, "build", "--quiet", "--strict")
    assert result.exit_code == 1
    assert "--strict: 1 rejected and 0 unusable images" in result.output


def test_missing_content_folder_is_one_line_not_a_traceback(tmp_path) -> None:
    result = CliRunner().invoke(cli.main, ["--root", str(tmp_path / "nowhere"), "build"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: no content folder at")
    assert "Traceback" not in result.output


def test_bad_backend_setting_is_one_line(project: Project, monkeypatch) -> None:
    monkeypatch.setenv("NAILFOLIO_BACKEND", "cloud")
    result = invoke(project, "build")
    assert result.exit_code == 1
    assert "NAILFOLIO_BACKEND='cloud' is not a backend" in result.output


def test_moderation_list_approve_and_reject(project: Project) -> None:
    project.add_image("ana/maybe.jpg", marker=128)
    project.add_image("ana/fine.jpg")
    invoke(project, "build", "--quiet")
    listing = invoke(project, "moderation", "list", "--status", "needs_review").output
    assert "ana/maybe" in listing and "ana/fine" not in listing

    approved = invoke(project, "approve", "ana/maybe", "--reason", "glitter, not skin")
    assert approved.exit_code == 0, approved.output
    assert (project.root / "output/designs/ana/maybe/index.html").is_file()

    rejected = invoke(project, "reject", "ana/fine", "--reason", "blurry")
    assert rejected.exit_code == 0, rejected.output
    assert not (project.root / "output/designs/ana/fine").exists()
    assert "rejected" in invoke(project, "moderation", "list").output


def test_approving_an_unknown_design_says_so(project: Project) -> None:
    result = invoke(project, "approve", "nobody/nothing")
    assert result.exit_code == 1
    assert "no design 'nobody/nothing' in the catalog" in result.output


def test_outbox_lists_moderation_notifications(project: Project) -> None:
    project.add_image("ana/bad.jpg", marker=255)
    invoke(project, "build", "--quiet")
    assert "Design ana/bad was rejected" in invoke(project, "moderation", "outbox").output


def test_clean_keeps_moderation_decisions(project: Project) -> None:
    project.add_image("ana/red.jpg")
    invoke(project, "build", "--quiet")
    assert invoke(project, "clean").exit_code == 0
    assert not (project.root / "output").exists()
    assert "ana/red" in invoke(project, "moderation", "list").output


def test_sentiment_backfill_scores_pending_comments(project: Project) -> None:
    from datetime import UTC, datetime

    from nailfolio.comments.query import new_comment_id
    from nailfolio.comments.service import Comment, SentimentStatus

    at = datetime(2026, 5, 1, tzinfo=UTC)
    with config.open_comment_store(project.settings) as store:
        for text in ("I love this design, gorgeous!", "Chipped and ugly, awful work."):
            comment = Comment(
                new_comment_id(at),
                "ana/red",
                "sub-1",
                "Ana",
                text,
                at,
                None,
                SentimentStatus.PENDING,
            )
            store.add(comment)
    result = invoke(project, "sentiment", "backfill")
    assert result.exit_code == 0, result.output
    assert result.output == "scored 2 comments\n"
    with config.open_comment_store(project.settings) as store:
        assert store.pending_sentiment(10) == []
        labels = sorted(c.sentiment.label for c in store.list().comments)
    assert labels == ["NEGATIVE", "POSITIVE"]


@pytest.mark.parametrize(
    ("status", "message"),
    [
        ("needs_review", "nothing needs review"),
        ("rejected", "no design is rejected"),
    ],
)
def test_moderation_list_of_an_empty_status_says_so(
    project: Project, status: str, message: str
) -> None:
    project.add_image("ana/red.jpg")
    invoke(project, "build", "--quiet")
    assert invoke(project, "moderation", "list", "--status", status).output == f"{message}\n"


def test_moderation_list_before_any_build_says_to_build(project: Project) -> None:
    listing = invoke(project, "moderation", "list", "--status", "needs_review").output
    assert listing.startswith("no decisions recorded yet: run ")


def test_moderation_list_shows_the_reason_of_an_override(project: Project) -> None:
    project.add_image("ana/maybe.jpg", marker=128)
    invoke(project, "build", "--quiet")
    invoke(project, "approve", "ana/maybe", "--reason", "glitter, not skin", "--no-rebuild")
    (line,) = invoke(project, "moderation", "list").output.splitlines()
    assert line.startswith("approved") and line.endswith("(glitter, not skin)")


def test_an_empty_outbox_says_it_is_empty(project: Project) -> None:
    assert "the outbox is empty" in invoke(project, "moderation", "outbox").output


@pytest.mark.parametrize("start", ["content", "content/designs/ana"])
def test_build_from_inside_the_content_folder_finds_the_project(
    project: Project, monkeypatch: pytest.MonkeyPatch, start: str
) -> None:
    project.add_image("ana/red.jpg")
    monkeypatch.delenv("NAILFOLIO_ROOT", raising=False)
    monkeypatch.chdir(project.root / start)
    result = CliRunner().invoke(cli.main, ["build", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "1 published" in result.output
    assert (project.root / "output/designs/ana/red/index.html").is_file()


def test_no_project_above_says_where_it_looked(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NAILFOLIO_ROOT", raising=False)
    monkeypatch.setattr(config, "find_project_root", lambda start: None)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli.main, ["build"])
    assert result.exit_code == 1
    assert result.output == (
        f"Error: no project found: looked for content/ or pelicanconf.py in {tmp_path.resolve()}"
        " and every folder above it; run inside the project folder or pass --root\n"
    )


@pytest.mark.parametrize("module", ["nailfolio", "nailfolio.cli"])
def test_python_dash_m_runs_the_commands(project: Project, module: str) -> None:
    command = [sys.executable, "-m", module, "--root", str(project.root), "moderation", "list"]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"no decisions recorded yet: run python -m {module} build\n"


# -- serve: the port, the links, the watcher (the server's loop is replaced by a stand-in) ----


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Make serve_forever return (as Ctrl-C would) once the returned event is set."""
    done = threading.Event()

    def serve_forever(self: SiteServer, poll_interval: float = 0.5) -> None:
        done.wait(60)
        raise KeyboardInterrupt

    monkeypatch.setattr(SiteServer, "serve_forever", serve_forever)
    return done


def test_serve_on_a_busy_port_fails_before_building(project: Project) -> None:
    project.add_image("ana/red.jpg")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = invoke(project, "serve", "--port", str(port))
    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.output
    assert "building" not in result.output
    assert MarkerModerator.calls == 0 and not (project.root / "output").exists()


def test_serve_links_follow_its_port(project: Project, served: threading.Event) -> None:
    project.add_image("ana/red.jpg")
    invoke(project, "build", "--quiet")  # a site built for :8000 already
    port = free_port()
    served.set()
    result = invoke(project, "serve", "--port", str(port))
    assert result.exit_code == 0, result.output
    page = (project.root / "output/designs/ana/red/index.html").read_text()
    assert f'<link rel="canonical" href="http://127.0.0.1:{port}/designs/ana/red/">' in page
    assert ":8000" not in page


def test_serve_keeps_an_explicit_site_url(
    project: Project, served: threading.Event, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NAILFOLIO_SITE_URL", "https://studio.example")
    project.add_image("ana/red.jpg")
    served.set()
    port = free_port()
    result = invoke(project, "serve", "--port", str(port))
    assert result.exit_code == 0, result.output
    assert f"at http://127.0.0.1:{port}/" in result.output
    page = (project.root / "output/designs/ana/red/index.html").read_text()
    assert 'href="https://studio.example/designs/ana/red/"' in page


def test_serve_watch_prints_when_and_why_each_rebuild_skips_a_file(
    project: Project, served: threading.Event, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.add_image("ana/red.jpg")
    ana = project.designs / "ana"

    def one_change(folder: Path, on_change: Callable[[], None], stop: threading.Event) -> None:
        (ana / "phone.heic").write_bytes(b"\0\0\0\x18ftypheic" + bytes(100))
        truncated = project.add_image("ana/cut.jpg")
        truncated.write_bytes(truncated.read_bytes()[:2000])
        (ana / "linked.jpg").symlink_to(project.add_image("../../elsewhere.jpg"))
        (ana / "red.md").write_text("Date: 31/02/2026\n")
        on_change()
        served.set()

    monkeypatch.setattr(watch, "watch_folder", one_change)
    result = invoke(project, "serve", "--watch", "--port", str(free_port()))
    assert result.exit_code == 0, result.output
    rebuild = result.output[result.output.index("change in content/") - 9 :]
    assert re.match(r"\d\d:\d\d:\d\d change in content/: rebuilding\n", rebuild)
    for line in (
        "skipped content/designs/ana/phone.heic: truncated or corrupt image data",
        "skipped content/designs/ana/cut.jpg: truncated or corrupt image data",
        "skipped content/designs/ana/linked.jpg: is a symbolic link; copy the file in instead",
        "warning content/designs/ana/red.md: Date: '31/02/2026' is not a date;",
        "4 designs: 2 processed, 1 reused, 1 published, 0 rejected, 0 need review, 3 not usable,"
        " 1 warning in",
    ):
        assert line in rebuild


def test_a_build_never_imports_the_other_commands_code() -> None:
    # The image workers fork from the build's process: what it imports, each of them holds.
    code = (
        "import sys; from nailfolio.cli import commands; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'jwt', 'boto3', 'botocore'}"
        " or m in {m2.split(':')[0] for m2 in commands.LAZY_COMMANDS.values()}))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_every_command_imported_on_use_is_listed_and_runs() -> None:
    from nailfolio.cli.commands import LAZY_COMMANDS

    listing = CliRunner().invoke(cli.main, ["--help"])
    assert listing.exit_code == 0
    for name in LAZY_COMMANDS:
        assert re.search(rf"^  {name} ", listing.output, re.MULTILINE), name
        shown = CliRunner().invoke(cli.main, [name, "--help"])
        assert shown.exit_code == 0 and "Usage:" in shown.output, (name, shown.output)
