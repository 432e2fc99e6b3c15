"""`insights`: upkeep of the insights' counters (registered on the main CLI group)."""

from __future__ import annotations

import click

from nailfolio import config


@click.group()
def insights() -> None:
    """The insights' counters, kept as comments are written."""


@insights.command("count-earlier")
def count_earlier() -> None:
    """Count in the comments stored before the insights existed (once, after upgrading an
    aws deployment; locally the comments file's migration did it). Safe to repeat."""
    settings = click.get_current_context().obj
    with config.open_comment_store(settings) as store:
        counted = store.count_earlier()  # type: ignore[attr-defined]
    click.echo(f"counted {counted} earlier comment{'' if counted == 1 else 's'} into the insights")
