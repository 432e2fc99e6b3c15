"""`publish`: render the approved gallery and bring the site target up to date, printing
the plan first (uploads by phase, copies, deletions now and deferred, CDN paths).

The render is the build's (nailfolio.gallery.pipeline.build_configured), its site target
wrapped so the plan is shown before it is carried out, or, with --dry-run, shown and not
carried out: nothing in the target changes. Locally the target is output/; on the aws
backend the site bucket and its CloudFront distribution, so an owner building on a laptop
publishes to the deployed site.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import click

from nailfolio import config
from nailfolio.gallery import lambda_root
from nailfolio.gallery.pipeline import build_configured
from nailfolio.gallery.publish import PHASES, PublishPlan, Rehearsal


@click.command()
@click.option("--dry-run", is_flag=True, help="Print the plan and change nothing.")
@click.option(
    "--allow-deletes",
    is_flag=True,
    help="Go on when the publish would delete more than half of the site.",
)
def publish(dry_run: bool, allow_deletes: bool) -> None:
    """Render the approved gallery, print the publish plan, then carry it out (output/, or
    the S3 site bucket and CloudFront on the aws backend)."""
    settings: config.Settings = click.get_current_context().obj
    if not settings.project_found:
        raise click.ClickException(
            f"no project found in {settings.root} or above it; run inside the project "
            "folder or pass --root"
        )
    if settings.backend == "aws" and not settings.site_url_explicit:
        raise click.ClickException(
            "NAILFOLIO_SITE_URL is not set: the pages' canonical links, feed and sitemap "
            f"would name {settings.site_url}; set it to the site's address (your domain, or "
            "the distribution's https://<id>.cloudfront.net)"
        )
    started = time.perf_counter()
    # The target first: a missing setting is told in a second, not after a render.
    target = config.open_site_target(settings, allow_deletes=allow_deletes)
    plans: list[PublishPlan] = []

    def show(plan: PublishPlan) -> None:
        plans.append(plan)
        for line in describe_plan(plan, where(settings)):
            click.echo(line)

    # Locally the build's own ingest runs first (a dry run too, so its plan is the real one;
    # the decisions it records are reused). On aws each upload has its own ingest (the
    # moderate Lambda): render what the catalog holds, with the rebuild Lambda's settings.
    on_aws = settings.backend == "aws"
    report = build_configured(
        settings,
        moderate_new=not on_aws,
        conf=lambda_root.settings_file(settings.root) if on_aws else None,
        target=Rehearsal(target, show, carry_out=not dry_run),
    )
    for problem in report.problems:
        click.secho(f"skipped {problem}", fg="yellow", err=True)
    if not plans:  # a target with no record of its own is not even asked to do nothing
        click.echo(f"{where(settings)} is up to date: nothing to publish")
        return
    plan = plans[-1]
    if plan.empty:
        return
    if dry_run:
        click.echo("dry run: nothing was changed")
        return
    click.echo(summary(plan, time.perf_counter() - started))


def where(settings: config.Settings) -> str:
    """The target as the user knows it."""
    if settings.backend == "aws":
        return f"s3://{settings.aws.get('site_bucket')}"
    return f"{settings.output_dir}/"


def describe_plan(plan: PublishPlan, target: str) -> Iterator[str]:
    """The plan, a line per file, grouped as it will be carried out."""
    if plan.empty:
        yield f"{target} is up to date: nothing to publish"
        return
    yield f"publish to {target}: {len(plan.uploads)} uploads ({plan.copies} copies), " + (
        f"{len(plan.deletions)} deletions, {len(plan.deferred)} deferred"
    )
    for phase in PHASES:
        uploads = [upload for upload in plan.uploads if upload.phase == phase]
        if uploads:
            yield f"  {phase}: {len(uploads)}"
        for upload in uploads:
            how = "copy" if upload.rendition else ("change" if upload.replaces else "new")
            yield f"    {how:<6} {upload.path}  [{upload.content_type}; {upload.cache_control}]"
    if plan.deletions:
        yield f"  delete now: {len(plan.deletions)}"
        yield from (f"    delete {path}" for path in plan.deletions)
    if plan.deferred:
        yield f"  deletion deferred to a later publish: {len(plan.deferred)}"
        for path, since in sorted(plan.deferred.items()):
            unused = datetime.fromtimestamp(since, UTC)
            yield f"    keep   {path}  (unused since {unused:%Y-%m-%d %H:%M} UTC)"
    if plan.invalidations:
        yield f"  invalidate: {len(plan.invalidations)} paths"
        yield from (f"    {path}" for path in plan.invalidations)


def summary(plan: PublishPlan, seconds: float) -> str:
    """One line for a publish carried out."""
    return (
        f"published: {len(plan.uploads)} uploaded ({plan.copies} copied), "
        f"{len(plan.deletions)} deleted, {len(plan.deferred)} deferred, "
        f"{len(plan.invalidations)} paths invalidated in {seconds:.1f} s"
    )
