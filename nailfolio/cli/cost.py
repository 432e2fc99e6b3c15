"""`cost`: the aws deployment's monthly cost, line by line (registered on the main CLI group).

The model and the prices are nailfolio.costs' and deploy/prices.json's; the page weights
are read from the built site in output/ when there is one. This module parses the options
and prints a table, markdown or JSON.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from nailfolio.config import Settings
from nailfolio.costs import (
    PRICES_FILE,
    CostLine,
    Estimate,
    Workload,
    estimate,
    load_prices,
    to_json,
)
from nailfolio.gallery.page_weight import DEFAULT_WEIGHTS, read_page_weights

COLUMNS = ("with_free_tier", "always_free_only", "without_free_tier")


@click.command()
@click.option(
    "--views",
    default=100_000,
    show_default=True,
    type=click.IntRange(min=0),
    help="Page views a month.",
)
@click.option(
    "--designs",
    default=500,
    show_default=True,
    type=click.IntRange(min=0),
    help="New designs uploaded a month.",
)
@click.option(
    "--comments",
    default=2_000,
    show_default=True,
    type=click.IntRange(min=0),
    help="Comments posted a month.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.option("--markdown", is_flag=True, help="Print a markdown table (for the README).")
@click.option(
    "--prices",
    type=click.Path(dir_okay=False, path_type=Path),
    default=PRICES_FILE,
    show_default="deploy/prices.json",
    help="The price table.",
)
def cost(
    views: int, designs: int, comments: int, as_json: bool, markdown: bool, prices: Path
) -> None:
    """The monthly cost on AWS, line by line, with and without the free tiers (page
    weights from the site built in output/, us-east-1 prices from deploy/prices.json)."""
    settings: Settings = click.get_current_context().obj
    weights = read_page_weights(settings.output_dir) or DEFAULT_WEIGHTS
    result = estimate(Workload(views, designs, comments), weights, load_prices(prices))
    if as_json:
        click.echo(json.dumps(to_json(result), indent=2))
    elif markdown:
        click.echo(markdown_table(result))
    else:
        click.echo(text_table(result))


def text_table(result: Estimate) -> str:
    """Two rows a line (the figures, then what is counted), the totals and the notes."""
    w, p = result.workload, result.prices
    out = [
        f"Monthly cost of {w.views:,} page views, {w.designs:,} new designs and "
        f"{w.comments:,} comments ({p.region} list prices of {p.as_of})",
        "",
        f"{'service':<12} {'quantity':>22}  {'unit price':<36} {'free tier':<20} "
        f"{'with free':>9} {'without':>9}",
    ]
    for line in result.lines:
        out.append(
            f"{line.service:<12} {_quantity(line):>22}  {_unit_price(line):<36} "
            f"{_free(line):<20} {_usd(line.with_free_tier):>9} {_usd(line.without_free_tier):>9}"
        )
        out.append(f"{'':<12}   {line.counted}")
    out += ["", *_totals(result), "", *(f"note: {note}" for note in result.notes)]
    return "\n".join(out)


def markdown_table(result: Estimate) -> str:
    """The same as a markdown table."""
    w = result.workload
    out = [
        f"Monthly cost of {w.views:,} page views, {w.designs:,} new designs and "
        f"{w.comments:,} comments ({result.prices.region} list prices of "
        f"{result.prices.as_of}):",
        "",
        "| service | what is counted | quantity | unit price | free tier "
        "| with free tier | without |",
        "| --- | --- | ---: | --- | --- | ---: | ---: |",
    ]
    for line in result.lines:
        out.append(
            f"| {line.service} | {line.counted} | {_quantity(line)} | {_unit_price(line)} "
            f"| {_free(line)} | {_usd(line.with_free_tier)} | {_usd(line.without_free_tier)} |"
        )
    totals = [_usd(result.total(column)) for column in COLUMNS]
    out.append(f"| **total** | | | | | **{totals[0]}** | **{totals[2]}** |")
    out += ["", *(f"- {line}" for line in _totals(result)[1:]), *(f"- {n}" for n in result.notes)]
    return "\n".join(out)


def _totals(result: Estimate) -> list[str]:
    with_free, always, without = (result.total(column) for column in COLUMNS)
    return [
        f"total: {_usd(with_free)} a month with the free tiers, {_usd(without)} without",
        f"after the first 12 months (always-free tiers only): {_usd(always)} a month",
    ]


def _quantity(line: CostLine) -> str:
    unit = line.unit.split(" ")[-1] if line.per > 1 else line.unit
    if unit[-1].islower() and not unit.endswith("s"):  # "600 paths", not "GB" or "MAU"
        unit += "s"
    return f"{_number(line.quantity)} {unit}"


def _unit_price(line: CostLine) -> str:
    return f"${_number(line.unit_price, exact=True)} per {line.unit}"


def _free(line: CostLine) -> str:
    if line.free_tier == "none" or not line.free:
        return "none"
    return f"{_number(line.free)} ({line.free_tier})"


def _number(value: float, exact: bool = False) -> str:
    """Thousands separated; small figures with enough decimals to mean something."""
    if exact:
        return f"{value:.10f}".rstrip("0").rstrip(".")
    if value >= 100 or value == int(value):
        return f"{value:,.0f}"
    return f"{value:,.3g}" if value < 1 else f"{value:,.2f}"


def _usd(value: float) -> str:
    return f"${value:,.2f}"
