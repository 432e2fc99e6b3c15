"""`users`: accounts and roles from the command line (registered on the main CLI group).

Settings come from the click context (`ctx.obj`, a nailfolio.config.Settings), the adapter
from `open_identity`, and everything goes through the IdentityProvider port, so the commands
work on both backends; the main group turns library errors into one-line messages.
"""

from __future__ import annotations

import click

from nailfolio.config import Settings, open_identity
from nailfolio.identity.provider import (
    DEFAULT_ROLE,
    ROLES,
    AccountExists,
    IdentityProvider,
    UserNotFound,
    check_role,
    fold_email,
)


def _identity() -> IdentityProvider:
    settings: Settings = click.get_current_context().obj
    return open_identity(settings)


@click.group()
def users() -> None:
    """Accounts and their roles: admins, designers, customers."""


@users.command("add")
@click.argument("email")
@click.option(
    "--role",
    default=DEFAULT_ROLE,
    show_default=True,
    metavar="ROLE",
    help=f"One of {', '.join(ROLES)}.",
)
@click.option("--name", default="", help="Display name.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def add(email: str, role: str, name: str, password_stdin: bool) -> None:
    """Create an account for EMAIL (prompts for the password)."""
    check_role(role)  # before anything is created or asked
    with _identity() as identity:
        if identity.find_user(email) is not None:  # say so before asking for a password
            raise AccountExists(_already_there(email))
        if password_stdin:
            password = click.get_text_stream("stdin").readline().rstrip("\r\n")
        else:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        try:  # confirmed, with its role, no code emailed: on Cognito, AdminCreateUser
            user = identity.create_user(email, password, name, role)
        except AccountExists:  # made by someone else since we looked
            raise AccountExists(_already_there(email)) from None
    click.echo(f"added {user.email} ({role})")


def _already_there(email: str) -> str:
    """The command-line words for a taken email (the web form says "sign in")."""
    return (
        f"{fold_email(email)} already has an account; change its role with `users role` "
        "or remove it with `users remove`"
    )


@users.command("list")
def list_users() -> None:
    """Every account with its role."""
    with _identity() as identity:
        found = identity.list_users()
    if not found:
        click.echo("no users yet: add one with `users add EMAIL --role admins`")
    for user in found:
        role = ",".join(user.groups)
        pending = "" if user.confirmed else "  (unconfirmed)"
        click.echo(
            f"{user.email:<40} {role:<10} {user.created_at:%Y-%m-%d %H:%M}  {user.sub}{pending}"
        )


@users.command("role")
@click.argument("email")
@click.argument("role")
def role(email: str, role: str) -> None:
    """Give EMAIL the role ROLE (effective on their next request)."""
    with _identity() as identity:
        user = identity.set_role(email, role)
    click.echo(f"{user.email}: {role}")


@users.command("remove")
@click.argument("email")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def remove(email: str, yes: bool) -> None:
    """Delete the account of EMAIL; its sessions end at once."""
    with _identity() as identity:
        user = identity.find_user(email)
        if user is None:
            raise UserNotFound(f"no user with email {fold_email(email)!r}")
        if not yes:
            click.confirm(f"Remove {user.email} ({','.join(user.groups)})?", abort=True)
        identity.delete_user(user.sub)
    click.echo(f"removed {user.email}")
