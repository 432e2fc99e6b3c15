"""What the aws deployment costs a month, line by line, from the price table in the repo.

`estimate` turns a workload (page views, new designs and comments a month) and the built
site's page weights (nailfolio.gallery.page_weight) into one CostLine per billed quantity,
each priced three ways: with every free tier, with the always-free ones only (what is left
after the first 12 months), and with none. Prices come from deploy/prices.json (us-east-1
list prices, dated, with their source); how much of each thing a month brings is modelled
here from the Assumptions, each stated where it is used, so a reader can check the sums.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from nailfolio.errors import ConfigError
from nailfolio.gallery.page_weight import PHONE_CSS_PX, PHONE_DPR, Fetches, PageWeights

PRICES_FILE = Path(__file__).resolve().parent.parent / "deploy" / "prices.json"
GB = 2**30  # AWS bills data and storage in binary gigabytes
FREE_TIERS = ("included", "always", "12-month", "none")  # see deploy/prices.json
SECONDS_A_MONTH = 30 * 24 * 3600
# Write units a comment costs: 2 rate counters, then 2 transactions (stored; scored) of the
# comment (1 KB) and its week's insights counter (2 KB with its phrases), each unit doubled
# in a transaction, and 1 for the occasional attention entry.
COMMENT_WRITES = 2 + 2 * 2 * (1 + 2) + 1


@dataclass(frozen=True)
class Price:
    """One row of the price table: `price` dollars per `per` units, `free` units free."""

    key: str
    service: str
    unit: str
    price: float
    per: float = 1
    free: float = 0
    free_tier: str = "none"  # included | always | 12-month | none
    note: str = ""


@dataclass(frozen=True)
class PriceTable:
    region: str
    as_of: str
    source: str
    prices: Mapping[str, Price]


@dataclass(frozen=True)
class Workload:
    """A month of traffic and content."""

    views: int = 100_000
    designs: int = 500
    comments: int = 2_000


@dataclass(frozen=True)
class Assumptions:
    """What the model takes for granted; every figure is printed with the table."""

    views_per_visit: float = 3  # the shared assets load once a visit
    design_page_share: float = 0.6  # the other views are listing pages (index, designer, colour)
    listing_cards: float = 24  # card images a listing view loads: a page's worth (lazy loading;
    # the front page holds 24 to 47, NAILFOLIO_PER_PAGE to twice that less one)
    cache_hit_ratio: float = 0.9  # CloudFront answers 90% of requests from its caches
    signed_in_share: float = 0.02  # views by a signed-in visitor call GET /api/me once
    api_calls_per_comment: float = 3  # sign in, GET /api/me, POST the comment
    admin_api_calls: float = 1_000  # the admins' pages a month (comments, insights, queue)
    comments_per_commenter: float = 2  # Cognito MAUs: commenters, plus designers and admins
    designers_and_admins: float = 30
    months_stored: float = 12  # storage holds a year of uploads
    original_bytes: float = 3_000_000  # a phone photo as a designer drops it in
    approvals_per_rebuild: float = 5  # SQS batching window: bursts coalesce
    pages_per_rebuild: float = 6  # changed HTML: design page, index, designer, colour, feed, map
    comment_chars: float = 200  # average comment: under 300 characters is 3 Comprehend units
    held_back_share: float = 0.1  # uploads held for review or rejected: an SNS email each
    alarms: float = 2  # the dead-letter queue's depth, the Lambdas' errors
    sqs_pollers: float = 5  # Lambda long-polls the queue with 5 pollers, 20 s each
    log_bytes_per_invocation: float = 1_000
    cognito_plan: str = "lite"  # the user pool's plan (aws/cognito_pool.user_pool)
    # Lambda functions: memory (MB) and average duration (s) of one invocation.
    api_lambda: tuple[int, float] = (512, 0.12)  # token check + a DynamoDB call or two
    moderate_lambda: tuple[int, float] = (1024, 4.0)  # decode, Rekognition, 5 variants
    sidecar_lambda: tuple[int, float] = (1024, 0.5)  # a sidecar's upload event
    rebuild_lambda: tuple[int, float] = (1769, 45.0)  # render in /tmp, publish the diff
    backfill_lambda: tuple[int, float] = (256, 2.0)
    backfill_runs: float = 720  # hourly schedule
    digest_lambda: tuple[int, float] = (256, 0.3)  # read the mark, maybe list and publish
    digest_runs: float = 8_640  # every 5 minutes (comments.digest.CHECK_MINUTES)
    digest_minutes: float = 15  # at most one digest (an SNS email) per 15 minutes


@dataclass(frozen=True)
class CostLine:
    key: str  # the price table's row
    service: str
    counted: str  # what is counted, in words
    quantity: float
    unit: str
    unit_price: float  # dollars per `per` units
    per: float
    free: float
    free_tier: str
    with_free_tier: float
    always_free_only: float
    without_free_tier: float


@dataclass(frozen=True)
class Estimate:
    workload: Workload
    lines: tuple[CostLine, ...]
    weights: PageWeights
    prices: PriceTable
    assumptions: Assumptions
    notes: tuple[str, ...] = field(default=())

    def total(self, column: str) -> float:
        """The sum of one column: with_free_tier, always_free_only or without_free_tier."""
        return sum(getattr(line, column) for line in self.lines)


def load_prices(path: Path = PRICES_FILE) -> PriceTable:
    """The price table; a ConfigError saying what is wrong with it."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        prices = {key: Price(key=key, **row) for key, row in data["prices"].items()}
        table = PriceTable(data["region"], data["as_of"], data["source"], prices)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the price table ({exc.strerror})") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path}: not a price table ({exc!r})") from None
    for price in prices.values():
        if price.free_tier not in FREE_TIERS:
            raise ConfigError(f"{path}: {price.key}: free_tier must be one of {FREE_TIERS}")
    return table


def line_cost(price: Price, quantity: float, free_tier: bool = True) -> float:
    """Dollars for `quantity` units at `price`, the free allowance taken off if asked."""
    billed = max(0.0, quantity - price.free) if free_tier else quantity
    return billed / price.per * price.price


def estimate(
    workload: Workload,
    weights: PageWeights,
    prices: PriceTable,
    assumptions: Assumptions | None = None,
) -> Estimate:
    """The month's cost of `workload`, one line per billed quantity."""
    a = assumptions or Assumptions()
    lines = []
    for key, counted, quantity in _usage(workload, weights, a):
        price = _price(prices, key)
        always = line_cost(price, quantity, price.free_tier in ("always", "included"))
        lines.append(
            CostLine(
                key=key,
                service=price.service,
                counted=counted,
                quantity=quantity,
                unit=price.unit,
                unit_price=price.price,
                per=price.per,
                free=price.free,
                free_tier=price.free_tier,
                with_free_tier=line_cost(price, quantity),
                always_free_only=always,
                without_free_tier=line_cost(price, quantity, price.free_tier == "included"),
            )
        )
    notes = (
        f"page weights: {weights.source}; a phone {PHONE_CSS_PX} CSS px wide at {PHONE_DPR:g}x, "
        "text gzip-compressed",
        _cognito_note(prices, lines, a),
        "not counted: a custom domain (Route 53 hosted zone $0.50/month), a customer-managed "
        "KMS key ($1/month; the buckets use SSE-S3 and the tables AWS-owned keys), bots",
    )
    return Estimate(workload, tuple(lines), weights, prices, a, notes)


def _cognito_note(prices: PriceTable, lines: list[CostLine], a: Assumptions) -> str:
    """What the other Cognito feature plan would cost for the same MAUs."""
    mine = next(line for line in lines if line.key.startswith("cognito_mau_"))
    other = "lite" if a.cognito_plan == "essentials" else "essentials"
    price = _price(prices, f"cognito_mau_{other}")
    return (
        f"Cognito is priced on the {a.cognito_plan.title()} plan; on {other.title()} "
        f"({_usd(price.price, 4)}/MAU) the same {mine.quantity:,.0f} MAUs cost "
        f"{_usd(line_cost(price, mine.quantity, False))} without the free tier; the first "
        f"{price.free:,.0f} MAUs are free on both, for good"
    )


def _usd(value: float, places: int = 2) -> str:
    return f"${value:,.{places}f}"


def to_json(estimate: Estimate) -> dict[str, Any]:
    """The estimate as plain data, its totals under monthly_usd."""
    return {
        "workload": asdict(estimate.workload),
        "prices": {
            "region": estimate.prices.region,
            "as_of": estimate.prices.as_of,
            "source": estimate.prices.source,
        },
        "page_weights": asdict(estimate.weights),
        "assumptions": asdict(estimate.assumptions),
        "lines": [asdict(line) for line in estimate.lines],
        "monthly_usd": {
            column: round(estimate.total(column), 4)
            for column in ("with_free_tier", "always_free_only", "without_free_tier")
        },
        "notes": list(estimate.notes),
    }


def _price(prices: PriceTable, key: str) -> Price:
    try:
        return prices.prices[key]
    except KeyError:
        raise ConfigError(f"the price table has no {key!r}; add it to deploy/prices.json") from None


Usage = tuple[str, str, float]  # (price key, what is counted, quantity in the price's unit)


def _usage(w: Workload, pw: PageWeights, a: Assumptions) -> list[Usage]:
    """Every billed quantity of the month, by service."""
    views = _per_view(pw, a)
    requests = w.views * views.requests
    api_calls = (
        w.comments * a.api_calls_per_comment + w.views * a.signed_in_share + a.admin_api_calls
    )
    return [
        *_cloudfront(w, pw, views, a),
        *_s3(w, pw, a, requests),
        *_compute(w, a, api_calls),
        *_data(w, a, api_calls),
    ]


def _per_view(pw: PageWeights, a: Assumptions) -> Fetches:
    """What one page view fetches from CloudFront, on average."""
    share, visit = a.design_page_share, a.views_per_visit
    listing_bytes = pw.listing_html.bytes + a.listing_cards * pw.card_image.bytes
    listing_requests = pw.listing_html.requests + a.listing_cards * pw.card_image.requests
    return Fetches(
        share * pw.design_page.bytes + (1 - share) * listing_bytes + pw.assets.bytes / visit,
        share * pw.design_page.requests
        + (1 - share) * listing_requests
        + pw.assets.requests / visit,
    )


def _cloudfront(w: Workload, pw: PageWeights, views: Fetches, a: Assumptions) -> list[Usage]:
    rebuilds = _rebuilds(w, a)
    requests = w.views * views.requests
    listing = pw.listing_html.bytes + a.listing_cards * pw.card_image.bytes
    return [
        (
            "cloudfront_transfer",
            f"{w.views:,} views × {views.bytes / 1000:,.1f} KB: {a.design_page_share:.0%} "
            f"design pages of {pw.design_page.bytes / 1000:,.0f} KB, listings of "
            f"{listing / 1000:,.0f} KB ({a.listing_cards:g} cards), "
            f"{pw.assets.bytes / 1000:,.0f} KB of assets once a visit of "
            f"{a.views_per_visit:g} views",
            w.views * views.bytes / GB,
        ),
        ("cloudfront_requests", f"{w.views:,} views × {views.requests:,.2f} requests", requests),
        ("cloudfront_functions", "viewer-request function on every static request", requests),
        (
            "cloudfront_invalidations",
            f"{rebuilds:,.0f} rebuilds × {a.pages_per_rebuild:g} changed HTML paths",
            rebuilds * a.pages_per_rebuild,
        ),
    ]


def _s3(w: Workload, pw: PageWeights, a: Assumptions, requests: float) -> list[Usage]:
    """The three buckets: content (originals), assets (variants), site (pages, copies)."""
    stored = w.designs * a.months_stored
    rebuilds = _rebuilds(w, a)
    listings = rebuilds * 2 * math.ceil(stored * pw.variants / 1000 + 1)  # site and assets
    puts = 2 * w.designs + 2 * w.designs * pw.variants + rebuilds * a.pages_per_rebuild
    return [
        (
            "s3_storage",
            f"{stored:,.0f} designs ({a.months_stored:g} months): originals "
            f"{a.original_bytes / 1e6:g} MB, variants {pw.variant_bytes / 1000:,.0f} KB twice",
            stored * (a.original_bytes + 2 * pw.variant_bytes) / GB,
        ),
        (
            "s3_put",
            "uploads (image, sidecar), variants written and copied, changed pages, listings "
            "by each publish",
            puts + listings,
        ),
        (
            "s3_get",
            f"CloudFront misses ({1 - a.cache_hit_ratio:.0%} of requests), originals and "
            "sidecars read by moderation",
            requests * (1 - a.cache_hit_ratio) + 2 * w.designs,
        ),
    ]


def _compute(w: Workload, a: Assumptions, api_calls: float) -> list[Usage]:
    """Lambda, API Gateway, SQS, EventBridge and the Lambdas' logs."""
    lambdas = {
        "api": (api_calls, *a.api_lambda),
        "moderate": (w.designs, *a.moderate_lambda),
        "sidecar events": (w.designs, *a.sidecar_lambda),
        "rebuild": (_rebuilds(w, a), *a.rebuild_lambda),
        "backfill": (a.backfill_runs, *a.backfill_lambda),
        "comment digest": (a.digest_runs, *a.digest_lambda),
    }
    invocations = sum(count for count, _, _ in lambdas.values())
    gb_seconds = sum(count * mb / 1024 * seconds for count, mb, seconds in lambdas.values())
    each = ", ".join(
        f"{name} {count:,.0f} × {seconds:g} s × {mb:,} MB"
        for name, (count, mb, seconds) in lambdas.items()
    )
    return [
        (
            "lambda_requests",
            ", ".join(f"{n} {c:,.0f}" for n, (c, _, _) in lambdas.items()),
            invocations,
        ),
        ("lambda_compute", each, gb_seconds),
        (
            "apigateway_rest",
            f"{w.comments:,} comments × {a.api_calls_per_comment:g} calls, "
            f"{a.signed_in_share:.0%} of views signed in, {a.admin_api_calls:,.0f} admin calls",
            api_calls,
        ),
        (
            "sqs_requests",
            f"send, receive, delete per approval; {a.sqs_pollers:g} idle long polls of 20 s "
            "by Lambda",
            3 * w.designs + a.sqs_pollers * SECONDS_A_MONTH / 20,
        ),
        (
            "eventbridge_aws_events",
            "S3 Object Created/Deleted events, the backfill and comment digest schedules",
            2 * w.designs + a.backfill_runs + a.digest_runs,
        ),
        (
            "cloudwatch_logs",
            f"{a.log_bytes_per_invocation:,.0f} bytes a Lambda invocation",
            invocations * a.log_bytes_per_invocation / GB,
        ),
        ("cloudwatch_alarms", "dead-letter queue depth, Lambda errors", a.alarms),
    ]


def _data(w: Workload, a: Assumptions, api_calls: float) -> list[Usage]:
    """DynamoDB, Cognito, Rekognition, Comprehend and SNS."""
    stored = w.designs * a.months_stored
    table_gb = (stored * 2_000 + w.comments * a.months_stored * 1_500) / GB
    catalog_reads = _rebuilds(w, a) * stored * 2_000 / 4_096 / 2  # eventually consistent
    units = max(3, math.ceil(a.comment_chars / 100))
    held = math.ceil(w.designs * a.held_back_share)
    digests = min(w.comments, SECONDS_A_MONTH / 60 / a.digest_minutes)
    return [
        (
            "dynamodb_write",
            f"{COMMENT_WRITES} a comment (2 rate counters; stored, then scored, each a "
            "transaction of the comment and its week's insights counter, 2 KB, at double "
            "price; an attention entry now and then), 4 a design, 1 an API call (rate counter)",
            COMMENT_WRITES * w.comments + 4 * w.designs + api_calls,
        ),
        (
            "dynamodb_read",
            "1 an API call (revocation check), 1 a comment (read before it is scored), the "
            "catalog read by each rebuild (2 KB an item, eventually consistent), 1 a comment "
            "digest check (its mark)",
            api_calls + w.comments + catalog_reads + a.digest_runs,
        ),
        ("dynamodb_storage", f"{stored:,.0f} designs and a year of comments", table_gb),
        ("dynamodb_pitr", "the same, backed up continuously", table_gb),
        (
            f"cognito_mau_{a.cognito_plan}",
            f"one commenter every {a.comments_per_commenter:g} comments, plus "
            f"{a.designers_and_admins:g} designers and admins",
            math.ceil(w.comments / a.comments_per_commenter + a.designers_and_admins),
        ),
        ("rekognition_moderation", "one DetectModerationLabels per uploaded image", w.designs),
        (
            "comprehend_sentiment",
            f"one DetectSentiment per comment ({a.comment_chars:g} characters: {units} units)",
            w.comments * units,
        ),
        (
            "comprehend_key_phrases",
            f"one DetectKeyPhrases per comment, for the insights ({units} units)",
            w.comments * units,
        ),
        (
            "sns_publish",
            f"{a.held_back_share:.0%} of uploads held back or rejected; comment digests (at "
            f"most one per {a.digest_minutes:g} minutes, and per comment)",
            held + digests,
        ),
        ("sns_email", "one email to the admin each", held + digests),
    ]


def _rebuilds(w: Workload, a: Assumptions) -> float:
    return math.ceil(w.designs / a.approvals_per_rebuild)
