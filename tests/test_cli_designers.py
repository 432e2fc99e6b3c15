"""`designers` commands: which designer account owns which folder (designer.md's Account:)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from nailfolio.cli import main
from nailfolio.config import Settings
from nailfolio.gallery.design_uploads import with_account

PASSWORD = "Nail-Art-2024"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    (tmp_path / "content" / "designs").mkdir(parents=True)
    return Settings(root=tmp_path)


def invoke(settings: Settings, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), obj=settings, input=input)


def add_designer(settings: Settings, email: str, role: str = "designers") -> None:
    added = invoke(
        settings,
        "users",
        "add",
        email,
        "--role",
        role,
        "--name",
        "Ana",
        "--password-stdin",
        input=PASSWORD,
    )
    assert added.exit_code == 0, added.output


def test_assign_makes_the_folder_and_names_the_account(settings: Settings) -> None:
    add_designer(settings, "ana@example.com")
    result = invoke(settings, "designers", "assign", "Ana@Example.com", "ana-lima")
    assert (result.exit_code, result.output) == (
        0,
        "ana@example.com uploads into designs/ana-lima/\n",
    )
    marker = settings.designs_dir / "ana-lima" / "designer.md"
    assert marker.read_text() == "Name: Ana\nAccount: ana@example.com\n"
    listed = invoke(settings, "designers", "list").output
    assert "designs/ana-lima/" in listed and "ana@example.com" in listed


def test_assign_keeps_designer_md_and_moves_only_the_account(settings: Settings) -> None:
    add_designer(settings, "bea@example.com")
    folder = settings.designs_dir / "bea"
    folder.mkdir()
    (folder / "designer.md").write_text("Name: Bea\nAccount: old@example.com\n\nBio *here*.\n")
    assert invoke(settings, "designers", "assign", "bea@example.com", "bea").exit_code == 0
    assert (folder / "designer.md").read_text() == (
        "Name: Bea\nAccount: bea@example.com\n\nBio *here*.\n"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Bio only.\n", "Account: a@x.io\n\nBio only.\n"),
        ("Name: A\n  continued\n\nBody\n", "Name: A\n  continued\nAccount: a@x.io\n\nBody\n"),
        ("", "Account: a@x.io\n"),
    ],
)
def test_with_account_adds_the_field_to_the_header(text: str, expected: str) -> None:
    assert with_account(text, "a@x.io") == expected


def test_assign_refuses_what_would_give_a_folder_to_the_wrong_person(settings: Settings) -> None:
    add_designer(settings, "cleo@example.com", "customers")
    refused = invoke(settings, "designers", "assign", "cleo@example.com", "cleo")
    assert "users add cleo@example.com --role designers" in refused.output
    assert refused.exit_code == 1 and not (settings.designs_dir / "cleo").exists()
    add_designer(settings, "ana@example.com")
    assert invoke(settings, "designers", "assign", "ana@example.com", "ana").exit_code == 0
    twice = invoke(settings, "designers", "assign", "ana@example.com", "other")
    assert twice.exit_code == 1 and "already owns designs/ana/" in twice.output
    bad = invoke(settings, "designers", "assign", "ana@example.com", "../up")
    assert bad.exit_code == 1 and "a folder name is" in bad.output
