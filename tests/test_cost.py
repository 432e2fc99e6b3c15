"""`build.py cost`: the model's arithmetic against figures worked out by hand, the JSON shape,
and page weights read from a built site (or the defaults when there is none)."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import MarkerModerator, Project

from nailfolio import cli, config
from nailfolio.costs import (
    GB,
    Price,
    Workload,
    estimate,
    line_cost,
    load_prices,
    to_json,
)
from nailfolio.errors import ConfigError
from nailfolio.gallery.page_weight import (
    DEFAULT_WEIGHTS,
    Fetches,
    PageWeights,
    pick_candidate,
    read_page_weights,
    slot_px,
    wire_bytes,
)

WEIGHTS = PageWeights(
    design_page=Fetches(100_000, 2),
    listing_html=Fetches(8_000, 1),
    card_image=Fetches(8_000, 1),  # 24 cards: a listing view is 200,000 bytes, 25 requests
    assets=Fetches(30_000, 6),
    variant_bytes=200_000,
    variants=5,
    source="test",
)
SMALL = Workload(views=1_000, designs=10, comments=20)


def _cost(project: Project, *args: str) -> Result:
    return CliRunner().invoke(cli.main, ["cost", *args], obj=project.settings)


@pytest.fixture(scope="module")
def small() -> dict[str, object]:
    """The lines of SMALL on WEIGHTS, by price key."""
    return {line.key: line for line in estimate(SMALL, WEIGHTS, load_prices()).lines}


# Worked out by hand from the Assumptions' defaults:
# a view: 0.6 × 100,000 + 0.4 × 200,000 + 30,000 / 3 = 150,000 bytes and
# 0.6 × 2 + 0.4 × 25 + 6 / 3 = 13.2 requests; 2 rebuilds (10 designs, 5 a rebuild);
# 120 designs stored (12 months); API calls 20 × 3 + 2% of 1,000 + 1,000 admin = 1,080.
@pytest.mark.parametrize(
    "key,quantity,without",
    [
        ("cloudfront_transfer", 150_000_000 / GB, 150_000_000 / GB * 0.085),
        ("cloudfront_requests", 13_200, 13_200 / 10_000 * 0.01),
        ("cloudfront_functions", 13_200, 13_200 / 1e6 * 0.10),
        ("cloudfront_invalidations", 12, 0.0),  # 2 × 6 paths, inside the 1,000 included
        ("s3_storage", 120 * 3_400_000 / GB, 120 * 3_400_000 / GB * 0.023),
        # 20 uploads + 10 × 5 variants × 2 + 2 × 6 pages + 2 × 2 listings of 2 pages
        ("s3_put", 140, 140 / 1000 * 0.005),
        ("s3_get", 20 + 1_320, 1_340 / 1000 * 0.0004),  # originals + 10% of 13,200
        ("apigateway_rest", 1_080, 1_080 / 1e6 * 3.50),
        ("lambda_requests", 1_080 + 10 + 10 + 2 + 720 + 8_640, 10_462 / 1e6 * 0.20),
        # 1,080 × 0.5 GB × 0.12 s + 10 × 4 + 10 × 0.5 + 2 × 1769/1024 × 45 + 720 × 0.25 × 2
        # + 8,640 digest checks × 0.25 × 0.3
        ("lambda_compute", 1_273.278515625, 1_273.278515625 * 0.0000166667),
        # 15 a comment: 2 rate counters, 2 transactions of (1 KB comment + 2 KB counter) x 2, 1
        ("dynamodb_write", 15 * 20 + 4 * 10 + 1_080, 1_420 / 1e6 * 0.625),
        (
            "dynamodb_read",
            1_080 + 20 + 2 * 120 * 2_000 / 4_096 / 2 + 8_640,  # + a read a comment, each mark
            9_798.59375 / 1e6 * 0.125,
        ),
        ("sns_publish", 1 + 20, 21 / 1e6 * 0.50),  # 1 held back; at most 20 digests
        ("cognito_mau_lite", 40, 40 * 0.0055),  # 20 comments / 2 + 30
        ("rekognition_moderation", 10, 10 * 0.001),
        ("comprehend_sentiment", 60, 60 * 0.0001),  # 200 characters: the minimum 3 units
        ("comprehend_key_phrases", 60, 60 * 0.0001),  # the insights' phrases, likewise
        ("sqs_requests", 30 + 5 * 2_592_000 / 20, 648_030 / 1e6 * 0.40),
        ("cloudwatch_alarms", 2, 0.20),
    ],
)
def test_each_line_matches_the_sum_worked_out_by_hand(
    small: dict[str, object], key: str, quantity: float, without: float
) -> None:
    line = small[key]
    assert line.quantity == pytest.approx(quantity)
    assert line.without_free_tier == pytest.approx(without)


def test_a_free_tier_takes_its_allowance_off_and_no_more() -> None:
    price = Price("x", "S3", "1,000 requests", 0.005, per=1000, free=2000)
    assert line_cost(price, 2_010) == pytest.approx(10 / 1000 * 0.005)
    assert line_cost(price, 1_500) == 0
    assert line_cost(price, 2_010, free_tier=False) == pytest.approx(2_010 / 1000 * 0.005)


def test_the_three_columns_keep_each_kind_of_free_tier_apart() -> None:
    # Always-free rows keep their allowance after the first year, 12-month rows lose it,
    # an included allowance (CloudFront's 1,000 invalidation paths) is never charged.
    lines = {line.key: line for line in estimate(SMALL, WEIGHTS, load_prices()).lines}
    invalidations, storage, functions = (
        lines["cloudfront_invalidations"],
        lines["s3_storage"],
        lines["cloudfront_functions"],
    )
    assert (invalidations.always_free_only, invalidations.without_free_tier) == (0, 0)
    assert storage.with_free_tier == 0 and storage.always_free_only == storage.without_free_tier
    assert functions.always_free_only == 0 < functions.without_free_tier


def test_the_totals_are_the_sums_of_their_columns() -> None:
    result = estimate(SMALL, WEIGHTS, load_prices())
    data = to_json(result)
    for column in ("with_free_tier", "always_free_only", "without_free_tier"):
        assert data["monthly_usd"][column] == round(sum(line[column] for line in data["lines"]), 4)


def test_the_price_table_is_dated_with_its_source_and_every_row_is_well_formed() -> None:
    table = load_prices()
    assert table.region == "us-east-1" and table.as_of == "2026-12-02"
    assert "aws.amazon.com" in table.source
    assert all(price.per > 0 and price.price >= 0 for price in table.prices.values())


def test_a_broken_price_table_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text('{"region": "us-east-1"}')
    with pytest.raises(ConfigError, match="not a price table"):
        load_prices(path)


def test_json_has_the_two_totals_and_the_lines(project: Project) -> None:
    result = _cost(project, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data["monthly_usd"]) == {"with_free_tier", "always_free_only", "without_free_tier"}
    assert all(isinstance(value, float) for value in data["monthly_usd"].values())
    assert data["workload"] == {"views": 100_000, "designs": 500, "comments": 2_000}
    assert data["prices"]["as_of"] == "2026-12-02"
    line = data["lines"][0]
    assert set(line) >= {"service", "counted", "quantity", "unit_price", "free_tier"}
    assert {line["service"] for line in data["lines"]} >= {
        "CloudFront", "S3", "Lambda", "API Gateway", "DynamoDB", "Cognito", "Rekognition",
        "Comprehend", "SNS", "SQS", "CloudWatch", "EventBridge",
    }  # fmt: skip


def test_options_scale_the_workload(project: Project) -> None:
    data = json.loads(_cost(project, "--json", "--views", "10", "--comments", "0").output)
    assert data["workload"] == {"views": 10, "designs": 500, "comments": 0}
    comprehend = next(line for line in data["lines"] if line["service"] == "Comprehend")
    assert comprehend["quantity"] == 0


def test_without_a_built_site_the_defaults_are_used_and_said_so(project: Project) -> None:
    result = _cost(project)
    assert result.exit_code == 0, result.output
    assert f"note: page weights: {DEFAULT_WEIGHTS.source}" in result.output
    assert "total: $" in result.output and "after the first 12 months" in result.output
    data = json.loads(_cost(project, "--json").output)
    assert data["page_weights"]["source"] == DEFAULT_WEIGHTS.source


def test_the_markdown_table_has_a_row_a_line_and_the_totals(project: Project) -> None:
    output = _cost(project, "--markdown").output
    rows = [row for row in output.splitlines() if row.startswith("| ")]
    assert len(rows) == 2 + len(load_prices().prices) - 1 + 1  # header, rule, lines, total
    assert rows[-1].startswith("| **total** |")


# --- page weights --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sizes,slot",
    [
        ("(min-width: 60em) 36rem, calc(100vw - 2.5rem)", 390 - 40),
        ("100vw", 390),
        ("50vw", 195),
        ("", 390),
        ("(min-width: 40em) 20rem, 30em", 390),  # not understood: a full-width slot
    ],
)
def test_the_slot_comes_from_the_last_sizes_entry(sizes: str, slot: float) -> None:
    assert slot_px(sizes) == pytest.approx(slot)


def test_a_phone_takes_the_smallest_candidate_wide_enough() -> None:
    srcset = "a-480w.webp 480w, a-960w.webp 960w, a-1200w.webp 1200w"
    assert pick_candidate(srcset, "calc(100vw - 2.5rem)") == "a-1200w.webp"  # 350 × 3 = 1,050
    assert pick_candidate(srcset, "25vw") == "a-480w.webp"  # 97.5 × 3
    assert pick_candidate("a-480w.webp 480w", "100vw") == "a-480w.webp"  # the widest there is


def test_a_hand_made_site_weighs_what_its_files_weigh(tmp_path: Path) -> None:
    site = tmp_path / "output"
    page = site / "designs" / "ana" / "red"
    (site / "img").mkdir(parents=True)
    page.mkdir(parents=True)
    (site / "theme" / "js").mkdir(parents=True)
    for name, size in (("h-s-480w.webp", 100), ("h-s-1200w.webp", 1_200), ("h-s-thumb.webp", 40)):
        (site / "img" / name).write_bytes(b"x" * size)
    (site / "theme" / "site.css").write_text("body { color: red; }\n" * 50)
    (site / "theme" / "js" / "main.js").write_text('import { a } from "./lib.js";\n')
    (site / "theme" / "js" / "lib.js").write_text("export const a = 1;\n")
    head = (
        '<link rel="stylesheet" href="/theme/site.css?v=1">'
        '<script type="module" src="/theme/js/main.js?v=1"></script>'
    )
    (page / "index.html").write_text(
        f"<html><head>{head}</head><body><picture>"
        '<source type="image/webp" sizes="100vw" '
        'srcset="../../../img/h-s-480w.webp 480w, ../../../img/h-s-1200w.webp 1200w">'
        '<img src="../../../img/h-s-1200w.jpg" width="1200" height="1500" alt=""></picture>'
        '<img src="data:image/gif;base64,R0lGOD" alt=""></body></html>'
    )
    (site / "index.html").write_text(
        f'<html><head>{head}</head><body><img src="./img/h-s-thumb.webp" loading="lazy" '
        'alt=""><img src="https://elsewhere.example/x.png" alt=""></body></html>'
    )
    weights = read_page_weights(site)
    assert weights is not None
    assert weights.design_page == Fetches(wire_bytes(page / "index.html") + 1_200, 2)
    assert weights.listing_html == Fetches(wire_bytes(site / "index.html"), 1)
    assert weights.card_image == Fetches(40, 1)  # the other host's image is not ours
    shared = [site / "theme" / "site.css", site / "theme" / "js" / "main.js"]
    shared.append(site / "theme" / "js" / "lib.js")  # followed through main.js's import
    assert weights.assets == Fetches(sum(wire_bytes(path) for path in shared), 3)
    assert (weights.variants, weights.variant_bytes) == (3, 1_340)
    css = (site / "theme" / "site.css").read_bytes()
    assert wire_bytes(site / "theme" / "site.css") == len(gzip.compress(css, 6, mtime=0))


def test_no_built_site_gives_no_weights(tmp_path: Path) -> None:
    assert read_page_weights(tmp_path / "output") is None


def test_a_built_site_is_read_for_its_real_weights(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(config, "moderator_factory", lambda settings: MarkerModerator)
    project.add_image("ana/red.jpg", size=(1200, 1500))  # variants up to 1200w
    built = CliRunner().invoke(cli.main, ["build", "--quiet"], obj=project.settings)
    assert built.exit_code == 0, built.output
    output = project.settings.output_dir
    weights = read_page_weights(output)
    assert weights is not None and weights.source.startswith(f"measured in {output}")
    (design,) = (output / "designs").glob("*/*/index.html")
    (chosen,) = (output / "img").glob("*-1200w.webp")  # 350 CSS px × 3 = 1,050 device px
    assert weights.design_page == Fetches(wire_bytes(design) + chosen.stat().st_size, 2)
    (thumb,) = (output / "img").glob("*-thumb.webp")
    assert weights.listing_html == Fetches(wire_bytes(output / "index.html"), 1)
    assert weights.card_image == Fetches(thumb.stat().st_size, 1)
    assert weights.assets.requests >= 2  # the stylesheet and the comment form's script at least
    assert weights.variants == len(list((output / "img").iterdir()))
    data = json.loads(_cost(project, "--json").output)
    assert data["page_weights"]["design_page"]["bytes"] == weights.design_page.bytes
    assert math.isclose(
        data["lines"][0]["quantity"],
        100_000
        * (
            0.6 * weights.design_page.bytes
            + 0.4 * (weights.listing_html.bytes + 24 * weights.card_image.bytes)
            + weights.assets.bytes / 3
        )
        / GB,
    )


def test_the_model_prices_what_the_stack_deploys() -> None:
    """The Lambdas' memory sizes are .chalice/config.json's, and the Cognito plan the pool's:
    a change to either that the model missed would misprice the bill."""
    from nailfolio.aws import cognito_pool
    from nailfolio.costs import Assumptions

    deployed = json.loads(
        (Path(__file__).parents[1] / "chalice_app" / ".chalice" / "config.json").read_text()
    )
    functions = deployed["lambda_functions"]
    default = deployed["lambda_memory_size"]
    a = Assumptions()
    for name, (memory, _) in {
        "api_handler": a.api_lambda,
        "moderate": a.moderate_lambda,
        "rebuild": a.rebuild_lambda,
        "backfill_sentiment": a.backfill_lambda,
        "comment_digest": a.digest_lambda,
    }.items():
        assert memory == functions[name].get("lambda_memory_size", default), name
    assert a.cognito_plan.upper() == cognito_pool.user_pool("x")["UserPoolTier"]
