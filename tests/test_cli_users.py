"""`users` commands through click's runner, on a throwaway var/ folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from nailfolio.cli import main
from nailfolio.config import Settings, open_identity

PASSWORD = "Nail-Art-2024"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(root=tmp_path)


def invoke(settings: Settings, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, ["users", *args], obj=settings, input=input)


def add(settings: Settings, email: str, role: str = "customers") -> Result:
    return invoke(settings, "add", email, "--role", role, "--password-stdin", input=PASSWORD)


def one_line_error(result: Result) -> str:
    """The message of a failed command, checked to be one `Error:` line and no traceback."""
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    return lines[0].removeprefix("Error: ")


def test_add_with_password_on_stdin_creates_a_working_account(settings: Settings) -> None:
    result = add(settings, "Ana@Example.com", "admins")
    assert result.exit_code == 0, result.output
    assert result.output == "added ana@example.com (admins)\n"
    with open_identity(settings) as identity:
        token = identity.sign_in("ana@example.com", PASSWORD, "127.0.0.1").id_token
        assert identity.verify(token).groups == ("admins",)


def test_add_prompts_twice_for_a_hidden_password(settings: Settings) -> None:
    typed = f"{PASSWORD}\nOther-Pass-99\n{PASSWORD}\n{PASSWORD}\n"
    result = invoke(settings, "add", "ana@example.com", "--name", "Ana", input=typed)
    assert result.exit_code == 0, result.output
    assert "Error: The two entered values do not match." in result.output
    assert PASSWORD not in result.output  # hidden input is not echoed
    assert result.output.endswith("added ana@example.com (customers)\n")
    with open_identity(settings) as identity:
        assert identity.find_user("ana@example.com").name == "Ana"


def test_list_shows_every_account_with_its_role(settings: Settings) -> None:
    assert invoke(settings, "list").output.startswith("no users yet")
    add(settings, "bea@example.com", "designers")
    add(settings, "ana@example.com")
    lines = invoke(settings, "list").output.splitlines()
    assert [line.split()[:2] for line in lines] == [
        ["ana@example.com", "customers"],
        ["bea@example.com", "designers"],
    ]


def test_role_changes_the_role(settings: Settings) -> None:
    add(settings, "ana@example.com")
    result = invoke(settings, "role", "ANA@example.com", "admins")
    assert result.exit_code == 0, result.output
    assert result.output == "ana@example.com: admins\n"
    assert "admins" in invoke(settings, "list").output


def test_remove_with_yes_deletes_the_account(settings: Settings) -> None:
    add(settings, "ana@example.com")
    result = invoke(settings, "remove", "ana@example.com", "--yes")
    assert result.exit_code == 0, result.output
    assert result.output == "removed ana@example.com\n"
    assert invoke(settings, "list").output.startswith("no users yet")


@pytest.mark.parametrize(("answer", "kept"), [("n\n", True), ("y\n", False)])
def test_remove_asks_for_confirmation(settings: Settings, answer: str, kept: bool) -> None:
    add(settings, "ana@example.com", "designers")
    result = invoke(settings, "remove", "ana@example.com", input=answer)
    assert "Remove ana@example.com (designers)? [y/N]" in result.output
    assert result.exit_code == (1 if kept else 0)
    assert ("ana@example.com" in invoke(settings, "list").output) is kept


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (
            ("add", "ana@example.com", "--role", "admin", "--password-stdin"),
            PASSWORD,
            "unknown role 'admin'; use one of: admins, designers, customers",
        ),
        (
            ("role", "ana@example.com", "owner"),
            None,
            "unknown role 'owner'; use one of: admins, designers, customers",
        ),
        (
            ("role", "nobody@example.com", "admins"),
            None,
            "no user with email 'nobody@example.com'",
        ),
        (
            ("remove", "Nobody@example.com", "--yes"),
            None,
            "no user with email 'nobody@example.com'",
        ),
        (
            ("add", "bea@example.com", "--password-stdin"),
            "password",
            "the password needs an uppercase letter, a digit, a symbol such as ! ? # or -",
        ),
        (
            ("add", "not-an-email", "--password-stdin"),
            PASSWORD,
            "'not-an-email' is not an email address (expected name@example.com)",
        ),
        (
            ("add", "ANA@example.com", "--password-stdin"),
            PASSWORD,
            "ana@example.com already has an account; change its role with `users role` "
            "or remove it with `users remove`",
        ),
    ],
    ids=[
        "add unknown role",
        "role unknown role",
        "role unknown user",
        "remove unknown user",
        "weak password",
        "bad email",
        "duplicate",
    ],
)
def test_errors_are_one_line(
    settings: Settings, args: tuple[str, ...], stdin: str | None, message: str
) -> None:
    add(settings, "ana@example.com")
    assert one_line_error(invoke(settings, *args, input=stdin)) == message
    assert len(invoke(settings, "list").output.splitlines()) == 1  # nothing was added


def test_unknown_role_is_refused_before_asking_for_a_password(settings: Settings) -> None:
    result = invoke(settings, "add", "ana@example.com", "--role", "root")
    assert "Password" not in result.output
    assert one_line_error(result).startswith("unknown role 'root'")


def test_taken_email_is_refused_before_asking_for_a_password(settings: Settings) -> None:
    add(settings, "ana@example.com")
    result = invoke(settings, "add", "Ana@Example.com")
    assert "Password" not in result.output
    assert one_line_error(result).startswith("ana@example.com already has an account;")


def test_aws_backend_without_its_pool_is_one_line_naming_the_setting(tmp_path: Path) -> None:
    result = invoke(Settings(root=tmp_path, backend="aws"), "list")
    assert one_line_error(result) == (
        "NAILFOLIO_COGNITO_CLIENT_ID is not set; the aws backend needs it "
        "(the pool's app client the web form signs in with)"
    )


def test_add_makes_a_confirmed_account_where_sign_ups_wait_for_a_code(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As on Cognito: the admin's account needs no emailed code, and list flags sign-ups that
    still wait for theirs."""
    from nailfolio.cli import users
    from nailfolio.local.sqlite_identity import LocalIdentity

    sent: list[str] = []

    def confirming(settings: Settings) -> LocalIdentity:
        path, key = settings.identity_path, settings.signing_key_path
        return LocalIdentity(path, key, send_code=lambda email, _code: sent.append(email))

    monkeypatch.setattr(users, "open_identity", confirming)
    assert add(settings, "ana@example.com", "designers").exit_code == 0
    with confirming(settings) as identity:
        token = identity.sign_in("ana@example.com", PASSWORD, "127.0.0.1").id_token
        assert identity.verify(token).groups == ("designers",)
        identity.sign_up("bea@example.com", PASSWORD)
    assert sent == ["bea@example.com"]
    listed = invoke(settings, "list").output.splitlines()
    assert [line.endswith("(unconfirmed)") for line in listed] == [False, True]
