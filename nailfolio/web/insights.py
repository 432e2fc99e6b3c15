"""The insights routes' side of the web API: the service over the API's comment store, the
query, and the answers (JSON, a JSON download, CSV). Admins only: the views check first."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.app import Request, Response

from nailfolio.web import api, plumbing

if TYPE_CHECKING:
    from nailfolio.comments.insights import (
        AttentionEntry,
        InsightsFilter,
        InsightsReport,
        InsightsService,
        PhraseCount,
        Ranked,
        Tally,
    )

JSON_FILENAME = "nailfolio-insights.json"
CSV_FILENAME = "nailfolio-insights.csv"


def service() -> InsightsService:
    """Insights over the API's comment store (it keeps the counters)."""
    from nailfolio.comments.insights import InsightsService

    return InsightsService(api.services().stores["comments"])


def query(request: Request) -> InsightsFilter:
    """since, until, designer from the query string; raises InvalidQuery (400)."""
    from nailfolio.comments.insights import QUERY_FIELDS, parse_insights_query

    return parse_insights_query(plumbing.query_params(request, QUERY_FIELDS))


def report_response(request: Request, download: bool = False) -> Response:
    """The admin's insights as JSON; `download` adds the attachment header."""
    shaped = report_json(service().report(query(request)))
    attachment = {"Content-Disposition": f'attachment; filename="{JSON_FILENAME}"'}
    return plumbing.json_response(shaped, headers=attachment if download else None)


def csv_response(request: Request) -> Response:
    """One CSV row per design and week of the filters' range."""
    return plumbing.csv_response("".join(service().export_csv(query(request))), CSV_FILENAME)


# -- JSON shapes (tests/test_openapi.py holds them to the documented schema) ------------

LABELS = ("positive", "negative", "neutral", "mixed")


def report_json(report: InsightsReport) -> dict[str, Any]:
    """The report as JSON (dates ISO, shares and averages as numbers or null)."""
    filters = report.filters
    return {
        "filters": {
            "since": filters.since and filters.since.isoformat(),
            "until": filters.until and filters.until.isoformat(),
            "designer": filters.designer,
        },
        "totals": tally_json(report.totals),
        "designs": [_ranked_json(entry) for entry in report.designs],
        "designers": [_ranked_json(entry) for entry in report.designers],
        "volume": [{"week": week.isoformat(), **tally_json(t)} for week, t in report.volume],
        "this_month": {
            "since": report.recent_since.isoformat(),
            "most_loved": [_ranked_json(entry) for entry in report.most_loved],
            "most_criticised": [_ranked_json(entry) for entry in report.most_criticised],
        },
        "key_phrases": {
            "overall": [_phrase_json(p) for p in report.phrases.overall],
            "by_design": {
                design: [_phrase_json(p) for p in phrases]
                for design, phrases in report.phrases.by_design.items()
            },
        },
        "needs_attention": [_attention_json(entry) for entry in report.attention],
    }


def tally_json(tally: Tally) -> dict[str, Any]:
    return {
        "comments": tally.comments,
        "scored": tally.scored,
        **{label: getattr(tally, label) for label in LABELS},
        "share": {label: _rounded(tally.share(label)) for label in LABELS},
        "average_score": _rounded(tally.average_score),
    }


def _ranked_json(entry: Ranked) -> dict[str, Any]:
    shaped = {"name": entry.name, **tally_json(entry.tally)}
    if entry.weekly:
        shaped["weekly"] = [
            {
                "week": week.isoformat(),
                "comments": t.comments,
                "average_score": _rounded(t.average_score),
            }
            for week, t in entry.weekly
        ]
    return shaped


def _phrase_json(phrase: PhraseCount) -> dict[str, Any]:
    return {"phrase": phrase.phrase, "count": phrase.count}


def _attention_json(entry: AttentionEntry) -> dict[str, Any]:
    return {
        "comment_id": entry.comment_id,
        "design": entry.design,
        "author_name": entry.author_name,
        "author_email": entry.author_email,  # an admins-only answer, like their comment list
        "text": entry.text,
        "created_at": api.timestamp(entry.created_at),
        "reasons": sorted(str(reason) for reason in entry.reasons),
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
