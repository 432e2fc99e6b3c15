"""The event entry points: thin handlers over the incremental build."""

from __future__ import annotations

import pytest
from conftest import MarkerModerator, Project

from hooks import moderate, rebuild
from nailfolio import config


@pytest.fixture(autouse=True)
def configured(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "moderator_factory", lambda settings: MarkerModerator)
    monkeypatch.setenv("NAILFOLIO_ROOT", str(project.root))
    monkeypatch.setenv("NAILFOLIO_WORKERS", "1")


def test_moderate_hook_ingests_each_landed_image_and_publishes_the_approved(
    project: Project,
) -> None:
    project.add_image("ana/fine.jpg")
    project.add_image("ana/bad.jpg", marker=255)
    keys = ["designs/ana/fine.jpg", "designs/ana/bad.jpg", "designs/ana/missing.jpg"]
    result = moderate.handle({"keys": keys})
    assert result["decisions"] == {
        "designs/ana/fine.jpg": "approved",
        "designs/ana/bad.jpg": "rejected",
        "designs/ana/missing.jpg": "unknown",
    }
    assert result["problems"] == []
    assert (project.root / "output/designs/ana/fine/index.html").is_file()  # rebuilt
    assert not (project.root / "output/designs/ana/bad").exists()


def test_moderate_hook_does_no_work_twice_for_the_same_bytes(project: Project) -> None:
    project.add_image("ana/fine.jpg")
    moderate.handle({"keys": ["designs/ana/fine.jpg"]})
    calls = MarkerModerator.calls
    again = moderate.handle({"keys": ["designs/ana/fine.jpg"]})
    assert again["decisions"] == {"designs/ana/fine.jpg": "approved"}
    assert MarkerModerator.calls == calls


def test_rebuild_hook_publishes_what_was_approved(project: Project) -> None:
    project.add_image("ana/fine.jpg")
    assert rebuild.handle() == {"published": 1, "processed": 1}
    assert rebuild.handle({"source": "approval"}) == {"published": 1, "processed": 0}
    assert (project.root / "output/designs/ana/fine/index.html").is_file()


def test_moderate_hook_calls_a_key_outside_the_designers_folders_unknown(
    project: Project,
) -> None:
    result = moderate.handle({"keys": ["../etc/passwd", "designs/ana/../../x.jpg"]})
    assert result["decisions"] == {"../etc/passwd": "unknown", "designs/ana/../../x.jpg": "unknown"}
    assert not (project.root / "output").exists()  # nothing changed: no rebuild
