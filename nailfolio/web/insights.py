"""The insights routes' side of the web API: the service over the API's comment store, the
query, and the answers (JSON, a JSON download, CSV). Admins only: the views check first."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Request, Response

from nailfolio.web import api, plumbing

if TYPE_CHECKING:
    from nailfolio.comments.insights import InsightsFilter, InsightsService

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
    from nailfolio.comments.insights import report_json

    shaped = report_json(service().report(query(request)))
    attachment = {"Content-Disposition": f'attachment; filename="{JSON_FILENAME}"'}
    return plumbing.json_response(shaped, headers=attachment if download else None)


def csv_response(request: Request) -> Response:
    """One CSV row per design and week of the filters' range."""
    return plumbing.csv_response("".join(service().export_csv(query(request))), CSV_FILENAME)
