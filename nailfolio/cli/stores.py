"""`backup` and `check`: the local stores' safety net (registered on the main CLI group)."""

from __future__ import annotations

from pathlib import Path

import click

from nailfolio.config import Settings
from nailfolio.gallery.studio import load_studio
from nailfolio.local.backup import backup_stores, check_stores


def _settings() -> Settings:
    return click.get_current_context().obj


def _shown(path: Path, settings: Settings) -> str:
    """A path relative to the project when it is inside it: shorter lines."""
    try:
        return str(path.relative_to(settings.root))
    except ValueError:
        return str(path)


@click.command()
@click.argument("folder", required=False, type=click.Path(file_okay=False, path_type=Path))
def backup(folder: Path | None) -> None:
    """Copy every store and the signing key into a dated folder under FOLDER (default:
    backups/ in the project). Safe while `serve` runs."""
    settings = _settings()
    target = backup_stores(settings, folder or settings.root / "backups")
    files = sorted(path for path in target.rglob("*") if path.is_file())
    for path in files:
        click.echo(f"  {path.relative_to(target)}  {path.stat().st_size:,} bytes")
    click.echo(f"backed up {len(files)} files to {_shown(target, settings)}")


@click.command()
def check() -> None:
    """Check every store's integrity and content/studio.md's values; exits 1 if any store is
    damaged or a value is bad."""
    settings = _settings()
    damaged = 0
    for found in check_stores(settings):
        where = _shown(found.store.path, settings)
        if not found.present:
            click.echo(f"absent   {where} (made on first use)")
        elif found.problem is None:
            click.echo(f"ok       {where}")
        else:
            damaged += 1
            click.secho(f"DAMAGED  {where}: {found.problem}", fg="red")
    studio = load_studio(settings.content_dir).problems
    for problem in studio:
        click.secho(f"problem  {_shown(settings.content_dir, settings)}/{problem}", fg="yellow")
    if damaged:
        raise click.ClickException(
            f"{damaged} damaged: restore from a backup (see README, Backups), or move the "
            "file aside to start that store empty"
        )
    if studio:
        raise click.ClickException(
            f"{len(studio)} bad value{'s' if len(studio) != 1 else ''} in studio.md: fix "
            "them (until then the site is built without them)"
        )
