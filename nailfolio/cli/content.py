"""`content sync`: upload the local content/ folder to the content bucket (aws backend).

Registered on the main CLI group, which turns library errors into one-line messages. The
comparison and the order are nailfolio.gallery.content_sync's; this module parses, prints
the plan or a progress bar, and sums up.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click

from nailfolio.config import Settings, open_content_sync
from nailfolio.errors import ConfigError
from nailfolio.gallery.content_sync import SyncPlan, plan_sync, run_sync


@click.group()
def content() -> None:
    """The designers' content folder: sync it to the content bucket (aws)."""


@content.command()
@click.option("--delete", is_flag=True, help="Also delete objects that are only in the bucket.")
@click.option("--dry-run", is_flag=True, help="Print what would change; change nothing.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def sync(delete: bool, dry_run: bool, quiet: bool) -> None:
    """Upload new and changed files of content/designs/ to the content bucket (compared by
    content hash); each upload runs the moderation hook on AWS."""
    settings: Settings = click.get_current_context().obj
    local, bucket = open_content_sync(settings)  # first: on local, say so and stop
    if not settings.content_dir.is_dir():
        raise ConfigError(f"no content folder at {settings.content_dir}; pass --root")
    plan = plan_sync(local, bucket, settings.images.max_file_bytes)
    for refusal in plan.refused:
        click.secho(f"refused {refusal}", fg="yellow", err=True)
    if dry_run:
        _echo_plan(plan, delete)
        deletions = len(plan.only_in_bucket) if delete else 0
        line = _summary(plan, len(plan.uploads), deletions, delete, would=True)
        click.echo(f"dry run: {line}")
        return
    steps = len(plan.uploads) + (len(plan.only_in_bucket) if delete else 0)
    with _bar(steps, not quiet) as step:
        done = run_sync(plan, local, bucket, delete, step)
    for refusal in done.refused:
        click.secho(f"refused {refusal}", fg="yellow", err=True)
    click.echo(_summary(plan, done.uploaded, done.deleted, delete, late=len(done.refused)))


def _echo_plan(plan: SyncPlan, delete: bool) -> None:
    for upload in plan.uploads:
        why = "new" if upload.new else "changed"
        click.echo(f"upload  {upload.key}  ({why}, {upload.size:,} bytes)")
    if delete:
        for key in plan.only_in_bucket:
            click.echo(f"delete  {key}")


def _summary(
    plan: SyncPlan, uploaded: int, deleted: int, delete: bool, would: bool = False, late: int = 0
) -> str:
    """One line: "3 uploaded, 120 unchanged, 0 deleted (2 only in the bucket: ...)"."""
    verbs = ("to upload", "to delete") if would else ("uploaded", "deleted")
    line = f"{uploaded} {verbs[0]}, {plan.unchanged} unchanged, {deleted} {verbs[1]}"
    if plan.refused or late:
        line += f", {len(plan.refused) + late} refused"
    if plan.only_in_bucket and not delete:
        line += f" ({len(plan.only_in_bucket)} only in the bucket: pass --delete to remove)"
    return line


@contextmanager
def _bar(total: int, enabled: bool) -> Iterator[Callable[[str], None]]:
    """A progress bar over uploads and deletions (stderr, like the build's); silent for none.
    Not the build's _progress: that one is labelled for images being processed."""
    if not (enabled and total):
        yield lambda key: None
        return
    with click.progressbar(length=total, label="Syncing content", file=sys.stderr) as bar:
        yield lambda key: bar.update(1)
