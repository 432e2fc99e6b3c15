"""The command line: parses options, builds settings and adapters, calls the library.

The same commands run as `python build.py ...`, as the `nailfolio` console script and as
`python -m nailfolio ...`; hints name whichever the user typed.
"""

from __future__ import annotations

import getpass
import importlib
import shutil
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from nailfolio import config
from nailfolio.errors import DesignNotFound, NailfolioError
from nailfolio.gallery import moderation_queue
from nailfolio.gallery.models import Decision, Status
from nailfolio.gallery.pipeline import BuildReport, build_configured

# What `moderation list --status S` says when nothing has that status.
NOTHING_WITH_STATUS = {
    Status.NEEDS_REVIEW: "nothing needs review",
    Status.APPROVED: "no design is approved yet",
    Status.REJECTED: "no design is rejected",
}


# Commands in modules of their own, imported only when run (or listed by --help): a build's
# process, which its image workers fork from, then never holds identity, AWS or deploy code.
# That kept ~12 MB out of the parent, and so out of each worker.
LAZY_COMMANDS = {
    "users": "nailfolio.cli.users:users",
    "designers": "nailfolio.cli.designers:designers",
    "backup": "nailfolio.cli.stores:backup",
    "check": "nailfolio.cli.stores:check",
    "content": "nailfolio.cli.content:content",
    "cost": "nailfolio.cli.cost:cost",
    "publish": "nailfolio.cli.publish:publish",
    "deploy": "nailfolio.cli.deploy:deploy",
    "destroy": "nailfolio.cli.deploy:destroy",
    "insights": "nailfolio.cli.insights:insights",
}


class _Errors(click.Group):
    """Turns library errors into one-line messages and exit code 1, never a traceback; and
    finds LAZY_COMMANDS."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in LAZY_COMMANDS and cmd_name not in self.commands:
            module, name = LAZY_COMMANDS[cmd_name].split(":")
            self.add_command(getattr(importlib.import_module(module), name), cmd_name)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except NailfolioError as exc:
            raise click.ClickException(str(exc)) from None
        except OSError as exc:
            where = f": {exc.filename}" if exc.filename else ""
            raise click.ClickException(f"{exc.strerror or exc}{where}") from None


@click.group(cls=_Errors)
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    help="Project folder holding content/ (default: NAILFOLIO_ROOT, else the nearest folder "
    "from here upwards holding content/ or pelicanconf.py).",
)
@click.pass_context
def main(ctx: click.Context, root: Path | None) -> None:
    """Nailfolio: a moderated nail-art gallery built from the content folder."""
    if not isinstance(ctx.obj, config.Settings):  # tests may hand in ready-made settings
        ctx.obj = config.load_settings(root=root)


def _settings() -> config.Settings:
    """The settings, for commands that work on the content folder."""
    settings: config.Settings = click.get_current_context().obj
    if not settings.project_found:
        raise click.ClickException(
            f"no project found: looked for content/ or pelicanconf.py in {settings.root} "
            "and every folder above it; run inside the project folder or pass --root"
        )
    if not settings.content_dir.is_dir():
        raise click.ClickException(
            f"no content folder at {settings.content_dir}; "
            "run from the project folder or pass --root"
        )
    return settings


def _prog() -> str:
    """How the user called us (build.py, nailfolio, python -m nailfolio), for hints."""
    return click.get_current_context().find_root().info_name or "nailfolio"


@contextmanager
def _progress(enabled: bool) -> Iterator[tuple[Callable[[int], None], Callable[[str], None]]]:
    """A progress bar over the images that need work; silent when there are none."""
    bar: list[Any] = []

    def start(total: int) -> None:
        if enabled and total:
            bar.append(click.progressbar(length=total, label="Processing images", file=sys.stderr))
            bar[0].__enter__()

    def step(_key: str) -> None:
        if bar:
            bar[0].update(1)

    try:
        yield start, step
    finally:
        if bar:
            bar[0].__exit__(None, None, None)


def run_build(settings: config.Settings, show_progress: bool = True) -> BuildReport:
    """One build with a progress bar; shared by build, serve --watch and approve."""
    with _progress(show_progress) as (start, step):
        return build_configured(settings, on_progress=step, on_start=start)


def _summary(report: BuildReport) -> str:
    """One line whose outcomes add up: published + rejected + review + not usable = designs."""
    warnings = len(report.warnings)
    noted = f", {warnings} warning{'s' if warnings != 1 else ''}" if warnings else ""
    return (
        f"{report.designs} designs: {report.processed} processed, {report.reused} reused, "
        f"{report.published} published, {report.rejected} rejected, "
        f"{report.needs_review} need review, {report.invalid} not usable{noted} "
        f"in {report.seconds:.1f} s"
    )


def _echo_report(report: BuildReport) -> None:
    """Each problem and warning on its own line (stderr), then the summary: every build,
    from `build`, `serve` or a rebuild in `serve --watch`, reads the same."""
    for problem in report.problems:
        click.secho(f"skipped {problem}", fg="yellow", err=True)
    for warning in report.warnings:
        click.secho(f"warning {warning}", fg="yellow", err=True)
    click.echo(_summary(report))


@main.command()
@click.option("--strict", is_flag=True, help="Fail if any image is rejected or not usable.")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="Image workers, this process among them (default: one per core).",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def build(strict: bool, workers: int | None, quiet: bool) -> None:
    """Moderate new images and build the static site into output/."""
    settings = _settings()
    if workers:
        settings = replace(settings, workers=workers)
    report = run_build(settings, show_progress=not quiet)
    _echo_report(report)
    if strict and (report.rejected or report.invalid):
        raise click.ClickException(
            f"--strict: {report.rejected} rejected and {report.invalid} unusable images"
        )


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--watch", is_flag=True, help="Rebuild whenever the content folder changes.")
def serve(host: str, port: int, watch: bool) -> None:
    """Bring output/ up to date, then serve it and the API (/api/) over HTTP on loopback.

    Links point at this server (http://HOST:PORT) unless NAILFOLIO_SITE_URL is set.
    """
    from nailfolio.gallery.watch import watch_folder
    from nailfolio.web.server import make_server

    settings = config.serve_settings(_settings(), host, port)
    # Bind first: a busy port fails in a second, not after building the whole site.
    server = make_server(settings.output_dir, host, port, settings)
    stop = threading.Event()
    _start_api_upkeep(stop)
    try:
        click.echo(f"building the site for {settings.site_url}")
        _echo_report(run_build(settings))
        if watch:
            args = (settings.content_dir, lambda: _rebuild(settings), stop)
            threading.Thread(target=watch_folder, args=args, daemon=True).start()
        here = config.local_site_url(host, port)
        click.echo(f"Serving {settings.output_dir} at {here}/ (Ctrl-C to stop)")
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("stopped")
    finally:
        stop.set()
        server.server_close()


def _start_api_upkeep(stop: threading.Event) -> None:
    """Say which stores are unhealthy (their routes answer 503); score comments left
    pending and send the admins' comment digests in the background until `stop`."""
    from nailfolio.cli.digest import start_comment_digests
    from nailfolio.comments.backfill import run_sentiment_backfill
    from nailfolio.web import api

    for name, problem in api.store_health().items():
        if problem:
            click.secho(f"warning: {problem}", fg="yellow", err=True)
            click.secho(f"    the API routes that need {name} answer 503", fg="yellow", err=True)

    def scored(count: int) -> None:
        click.echo(f"scored {count} comments whose scoring had not finished")

    args = (api.comments, stop, scored)
    threading.Thread(target=run_sentiment_backfill, args=args, daemon=True).start()
    start_comment_digests(stop)


def _rebuild(settings: config.Settings) -> None:
    """One `serve --watch` rebuild, printed as `build` prints it; the last good site stays
    served when it fails."""
    click.echo(f"{datetime.now():%H:%M:%S} change in {settings.content_dir.name}/: rebuilding")
    try:
        _echo_report(run_build(settings, show_progress=False))
    except (NailfolioError, OSError) as exc:  # OSError: a file removed mid-build, a full disk
        click.secho(f"rebuild failed: {exc}", fg="red", err=True)


@main.command()
def clean() -> None:
    """Remove output/ and the rendition cache (moderation decisions are kept)."""
    settings = _settings()
    for folder in (settings.output_dir, settings.renditions_dir):
        if folder.exists():
            shutil.rmtree(folder)
            click.echo(f"removed {folder}")


@main.group()
def moderation() -> None:
    """Moderation decisions: list them, see the admins' outbox."""


@moderation.command("list")
@click.option("--status", type=click.Choice([s.value for s in Status]), help="Only this status.")
def moderation_list(status: str | None) -> None:
    """The current decision for every design."""
    wanted = Status(status) if status else None
    with config.open_catalog(_settings()) as catalog:
        decisions = catalog.latest_decisions(wanted)
        anything = bool(decisions) or bool(wanted and catalog.latest_decisions())
    if not anything:
        click.echo(f"no decisions recorded yet: run {_prog()} build")
    elif not decisions and wanted:
        click.echo(NOTHING_WITH_STATUS[wanted])
    for d in decisions:
        click.echo(_decision_line(d))


def _decision_line(d: Decision) -> str:
    """One row of `moderation list`; an override or re-decision ends with its reason."""
    top = max(d.labels, key=lambda lb: lb.confidence, default=None)
    score = f"{top.name} {top.confidence:.1f}%" if top else "-"
    when = d.decided_at.strftime("%Y-%m-%d %H:%M") if d.decided_at else "-"
    by = d.decided_by if d.decided_by != "auto" else d.model
    line = f"{d.status.value:<13} {d.key:<40} {score:<28} {when}  {by}"
    return f"{line}  ({d.reason})" if d.reason else line


@moderation.command("outbox")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1))
def moderation_outbox(limit: int) -> None:
    """Notifications sent to the admins, newest first."""
    with config.open_outbox(_settings()) as outbox:
        notes = outbox.list_notifications(limit)
    if not notes:
        click.echo("the outbox is empty: no notifications for the admins yet")
    for note in notes:
        click.echo(f"{note.created_at:%Y-%m-%d %H:%M}  {note.subject}\n    {note.body}")


def _override(key: str, status: Status, reason: str, rebuild: bool) -> None:
    settings = _settings()
    with config.open_catalog(settings) as catalog:
        try:
            decision = moderation_queue.record_override(
                catalog, key, status, reason, getpass.getuser()
            )
        except DesignNotFound as exc:
            raise DesignNotFound(f"{exc}; see {_prog()} moderation list") from None
    click.echo(f"{key}: {status.value}")
    if not rebuild:
        return
    # An approval (or a withdrawal) republishes the site through the rebuild queue: at once
    # here locally, by the rebuild Lambda on aws.
    queue = config.open_rebuild_queue(settings, lambda: click.echo(_summary(run_build(settings))))
    moderation_queue.request_republish(queue, decision)
    if settings.backend == "aws":
        click.echo("rebuild requested: the rebuild queue republishes the site within a minute")


@main.command()
@click.argument("design")
@click.option("--reason", default="", help="Why (kept in the audit log).")
@click.option("--no-rebuild", is_flag=True, help="Record only; publish with the next build.")
def approve(design: str, reason: str, no_rebuild: bool) -> None:
    """Approve DESIGN (designer/slug) against the moderator's decision, then rebuild."""
    _override(design, Status.APPROVED, reason, not no_rebuild)


@main.command()
@click.argument("design")
@click.option("--reason", required=True, help="Why (kept in the audit log).")
@click.option("--no-rebuild", is_flag=True, help="Record only; unpublish with the next build.")
def reject(design: str, reason: str, no_rebuild: bool) -> None:
    """Reject DESIGN (designer/slug) and take it off the site."""
    _override(design, Status.REJECTED, reason, not no_rebuild)


@main.group()
def sentiment() -> None:
    """Sentiment scores of customers' comments."""


@sentiment.command()
@click.option("--batch", default=200, show_default=True, type=click.IntRange(1, 1000))
def backfill(batch: int) -> None:
    """Score every comment whose scoring failed or never ran (safe to repeat)."""
    from nailfolio.web import api

    settings = click.get_current_context().obj
    api.configure(settings)
    try:
        total = api.comments().backfill_all(batch)
    finally:
        api.reset()
    with config.open_comment_store(settings) as store:
        left = len(store.pending_sentiment(batch))
    click.echo(f"scored {total} comments")
    if left:
        raise click.ClickException(f"{left} still pending: the analyzer failed; run again later")
