"""`deploy` and `destroy`: the stack of one stage, from the packaged bundle to the site's URL.

The steps are in the library (nailfolio.aws.bundle packages, nailfolio.aws.cloudformation
uploads, changes and waits); this module parses options and prints.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from nailfolio import config
from nailfolio.aws import bundle, cloudformation

PACKAGE_REGION = "us-east-1"  # what Chalice writes into ARNs when no region is set


def _root() -> Path:
    settings: config.Settings = click.get_current_context().obj
    if not (settings.root / "chalice_app" / "app.py").is_file():
        raise click.ClickException(f"no chalice_app/app.py in {settings.root}: pass --root")
    return settings.root


def _clients(service: str) -> Any:
    from nailfolio.aws.clients import client

    aws = click.get_current_context().obj.aws
    return client(service, aws.get("region"), aws.values.get("endpoint_url", ""))


def _package(stage: str, out: Path, region: str) -> bundle.Bundle:
    click.echo(f"Packaging stage {stage} (cp312 wheels, nailfolio, project files)...")
    python = bundle.find_python()
    if python is None:
        click.secho(
            "  no Python 3.12 here to precompile the bundle with: cold starts will compile "
            "what they import (install python3.12 to avoid that)",
            fg="yellow",
            err=True,
        )
    tuning = click.get_current_context().obj.tuning
    for name, value in tuning:
        click.echo(f"  the functions get {name}={value}, as set here")
    made = bundle.package_app(
        _root(), stage, out, region=region, bytecode_python=python, tuning=dict(tuning)
    )
    click.echo(
        f"  {made.zip_path}: {made.zipped_bytes / 2**20:.1f} MB zipped, "
        f"{made.unzipped_bytes / 2**20:.1f} MB unzipped; template {made.template_path}"
    )
    return made


@click.command()
@click.option("--stage", required=True, help="The stage to deploy (prod, dev...).")
@click.option("--dry-run", is_flag=True, help="Print the change set, then delete it.")
@click.option(
    "--package-only",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write the bundle and template into this folder; touch no AWS account.",
)
@click.option("--admin-email", help="The admins' address (needed on the first deploy).")
@click.option("--domain", help="The site's domain name (with --certificate-arn).")
@click.option("--certificate-arn", help="ACM certificate (us-east-1) for --domain.")
def deploy(
    stage: str,
    dry_run: bool,
    package_only: Path | None,
    admin_email: str | None,
    domain: str | None,
    certificate_arn: str | None,
) -> None:
    """Package and deploy the stack of STAGE through a CloudFormation change set."""
    aws = click.get_current_context().obj.aws
    if package_only:
        _package(stage, package_only, aws.values.get("region") or PACKAGE_REGION)
        return
    region = aws.get("region")
    # The account first: missing credentials are told in a second, not after packaging.
    account = cloudformation.account_id(_clients("sts"))
    made = _package(stage, _root() / "var" / "deploy" / stage / "out", region)
    cfn, s3 = _clients("cloudformation"), _clients("s3")
    name = cloudformation.stack_name(stage)
    bucket = cloudformation.deployment_bucket_name(account, region)
    if cloudformation.ensure_bucket(s3, bucket, region):
        click.echo(f"Made the deployment bucket {bucket}")
    template = json.loads(made.template_path.read_text())
    url = cloudformation.package(s3, bucket, stage, made.zip_path, template)
    exists = cloudformation.stack_status(cfn, name) is not None
    parameters = cloudformation.stack_parameters(
        stage, admin_email, domain, certificate_arn, exists=exists
    )
    change_set = cloudformation.create_change_set(cfn, name, url, parameters)
    if change_set is None:
        click.echo(f"{name} is up to date: nothing to change")
        _print_url(cloudformation.outputs(cfn, name))
        return
    click.echo(f"Change set {change_set.name} ({change_set.kind} {name}):")
    for change in change_set.changes:
        replaced = " (replaced)" if change.replacement == "True" else ""
        click.echo(f"  {change.action:<7} {change.logical_id:<28} {change.resource_type}{replaced}")
    if dry_run:
        cloudformation.delete_change_set(cfn, name, change_set.name)
        click.echo("--dry-run: nothing changed (the change set is deleted)")
        return
    found = cloudformation.execute(cfn, change_set, lambda line: click.echo(f"  {line}"))
    _print_url(found)


def _print_url(outputs: dict[str, str]) -> None:
    if "SiteURL" in outputs:
        click.echo(f"Site: {outputs['SiteURL']}")


@click.command()
@click.option("--stage", required=True, help="The stage whose stack goes.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def destroy(stage: str, yes: bool) -> None:
    """Empty the buckets of STAGE (every version) and delete its stack: data is lost."""
    name = cloudformation.stack_name(stage)
    if not yes and not click.confirm(
        f"Delete {name}: its site, designs, comments and accounts, for good?", err=True
    ):
        raise click.ClickException("nothing deleted")
    cfn, s3 = _clients("cloudformation"), _clients("s3")
    cloudformation.destroy(cfn, s3, name, lambda line: click.echo(f"  {line}"))
    click.echo(f"{name} is deleted")
