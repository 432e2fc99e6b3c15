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


def test_moderate_hook_reports_the_decision_of_each_landed_image(project: Project) -> None:
    project.add_image("ana/fine.jpg")
    project.add_image("ana/bad.jpg", marker=255)
    result = moderate.handle({"keys": ["ana/fine", "ana/bad", "ana/missing"]})
    assert result["decisions"] == {
        "ana/fine": "approved",
        "ana/bad": "rejected",
        "ana/missing": "unknown",
    }
    assert result["problems"] == []


def test_rebuild_hook_publishes_what_was_approved(project: Project) -> None:
    project.add_image("ana/fine.jpg")
    assert rebuild.handle() == {"published": 1, "processed": 1}
    assert rebuild.handle({"source": "approval"}) == {"published": 1, "processed": 0}
    assert (project.root / "output/designs/ana/fine/index.html").is_file()
