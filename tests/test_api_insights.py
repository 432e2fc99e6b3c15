"""GET /api/admin/insights (and its JSON and CSV downloads) on both backends: counters kept
at write time by the comment store, whichever backend it is."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from conftest import PUBLISHED, ApiClient, ApiProject

COMMENTS = f"/api/designs/{PUBLISHED}/comments"
TEXTS = (
    "I love the chrome powder, gorgeous!",
    "This is awful, the chrome powder flaked.",
    "Can I book this for my wedding?",
)


@pytest.fixture
def admin(api_project: ApiProject, api_client: ApiClient) -> ApiClient:
    api_project.add_user("boss@example.com", "admins", "Boss")
    return api_client.session("boss@example.com")


@pytest.fixture
def commented(api_project: ApiProject, api_client: ApiClient, admin: ApiClient) -> ApiClient:
    api_project.add_user("cleo@example.com", name="Cleo")
    customer = api_client.session("cleo@example.com")
    for text in TEXTS:
        assert customer.request("POST", COMMENTS, {"text": text}).status_code == 201
    return admin


def answer(client: ApiClient, path: str) -> Any:
    response = client.request("GET", path)
    assert response.status_code == 200, response.body
    return json.loads(response.body)


def test_insights_count_the_comments_posted(commented: ApiClient) -> None:
    found = answer(commented, "/api/admin/insights")
    assert found["totals"]["comments"] == 3 and found["totals"]["scored"] == 3
    (design,) = found["designs"]
    assert design["name"] == PUBLISHED and design["negative"] >= 1
    assert [d["name"] for d in found["designers"]] == [PUBLISHED.split("/")[0]]
    assert sum(week["comments"] for week in found["volume"]) == 3
    assert "chrome powder" in [p["phrase"] for p in found["key_phrases"]["overall"]]
    reasons = [set(entry["reasons"]) for entry in found["needs_attention"]]
    texts = [entry["text"] for entry in found["needs_attention"]]
    assert texts == [TEXTS[1], TEXTS[2]]  # oldest first
    assert reasons == [{"negative"}, {"booking", "question"}]
    assert {entry["author_email"] for entry in found["needs_attention"]} == {"cleo@example.com"}


def test_a_deleted_comment_leaves_the_counts_and_the_list(commented: ApiClient) -> None:
    entry = answer(commented, "/api/admin/insights")["needs_attention"][0]
    path = f"/api/admin/comments/{entry['comment_id']}"
    assert commented.request("DELETE", path).status_code == 204
    found = answer(commented, "/api/admin/insights")
    assert found["totals"]["comments"] == 2
    assert entry["comment_id"] not in [e["comment_id"] for e in found["needs_attention"]]


@pytest.mark.parametrize("status", ["answered", "closed"])
def test_answered_or_closed_leaves_the_attention_list_and_new_brings_it_back(
    commented: ApiClient, status: str
) -> None:
    first, second = answer(commented, "/api/admin/insights")["needs_attention"]
    path = f"/api/admin/comments/{first['comment_id']}"
    assert commented.request("PATCH", path, {"status": status}).status_code == 200
    left = answer(commented, "/api/admin/insights")["needs_attention"]
    assert [entry["comment_id"] for entry in left] == [second["comment_id"]]
    assert answer(commented, "/api/admin/insights")["totals"]["comments"] == 3  # still counted
    # Set back to new (answered by mistake, say), it is on the owner's list again.
    assert commented.request("PATCH", path, {"status": "new"}).status_code == 200
    back = answer(commented, "/api/admin/insights")["needs_attention"]
    assert back == [first, second]


def test_filters_by_weeks_and_designer(commented: ApiClient) -> None:
    later = (datetime.now(UTC) + timedelta(days=14)).date().isoformat()
    assert answer(commented, f"/api/admin/insights?since={later}")["totals"]["comments"] == 0
    assert answer(commented, "/api/admin/insights?designer=nobody")["designs"] == []
    found = answer(commented, f"/api/admin/insights?designer={PUBLISHED.split('/')[0]}")
    assert found["totals"]["comments"] == 3


def test_exports_are_downloads(commented: ApiClient) -> None:
    response = commented.request("GET", "/api/admin/insights.csv")
    assert response.status_code == 200
    assert "nailfolio-insights.csv" in response.headers["Content-Disposition"]
    (row,) = csv.DictReader(io.StringIO(response.body.decode()))
    assert (row["design"], row["comments"], row["scored"]) == (PUBLISHED, "3", "3")
    response = commented.request("GET", "/api/admin/insights.json")
    assert "nailfolio-insights.json" in response.headers["Content-Disposition"]
    assert json.loads(response.body)["totals"]["comments"] == 3


def test_a_bad_date_is_a_400(admin: ApiClient) -> None:
    response = admin.request("GET", "/api/admin/insights?until=soon")
    assert response.status_code == 400
    assert json.loads(response.body)["error"]["code"] == "invalid_query"
