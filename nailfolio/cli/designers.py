"""`designers`: which designer account owns which folder (registered on the main CLI group).

A folder's owner is the `Account:` field of its designer.md, written here through the
content store, so it works on both backends; the account itself is made with `users add
EMAIL --role designers`.
"""

from __future__ import annotations

import re

import click

from nailfolio.config import Settings, open_content_store, open_identity
from nailfolio.errors import ConfigError, ContentNotFound
from nailfolio.gallery.content import DESIGNER_FILE, designer_folders
from nailfolio.gallery.design_uploads import with_account
from nailfolio.identity.provider import fold_email

_FOLDER = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")


def _settings() -> Settings:
    return click.get_current_context().obj


@click.group()
def designers() -> None:
    """Designer folders and the accounts that upload into them."""


@designers.command("assign")
@click.argument("email")
@click.argument("folder")
@click.option("--name", default="", help="The designer's name, for a new folder.")
def assign(email: str, folder: str, name: str) -> None:
    """Let the designer account EMAIL upload into content/designs/FOLDER/ (made if new)."""
    settings, email = _settings(), fold_email(email)
    if not _FOLDER.fullmatch(folder):
        raise ConfigError(f"{folder!r}: a folder name is lowercase letters, digits, - and _")
    with open_identity(settings) as identity:
        user = identity.find_user(email)
    if user is None or "designers" not in user.groups:
        raise ConfigError(
            f"{email} has no designer account; add one with "
            f"`users add {email} --role designers` (or `users role {email} designers`)"
        )
    content = open_content_store(settings)
    key = f"designs/{folder}"
    for found in designer_folders(content):
        if found.designer.account == email and found.key != key:
            raise ConfigError(f"{email} already owns {found.key}/; one folder per designer")
    if settings.backend == "local":
        (settings.designs_dir / folder).mkdir(parents=True, exist_ok=True)
    marker = f"{key}/{DESIGNER_FILE}"
    try:
        text = content.read(marker, 256 * 1024).decode("utf-8")
    except ContentNotFound:  # a new folder
        text = ""
    content.write(marker, with_account(text, email, name or user.name).encode("utf-8"))
    click.echo(f"{email} uploads into {key}/")


@designers.command("list")
def list_folders() -> None:
    """Every designer folder with the account that owns it."""
    found = designer_folders(open_content_store(_settings()))
    if not found:
        click.echo("no designer folders yet: make one with `designers assign EMAIL FOLDER`")
    for folder in found:
        owner = folder.designer.account or "(no account: only admins upload here)"
        click.echo(f"{folder.key + '/':<32} {folder.designer.name:<24} {owner}")
