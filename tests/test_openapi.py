"""The API against its own OpenAPI document: schemathesis drives the real one-origin server.

Each operation gets its documented examples, then a few generated cases (fixed seed,
derandomized), sent with an admin's session cookie; every answer must be no server error,
with a documented status, Content-Type and body. Rate limits are set out of reach so the
run is deterministic; sign-in lockouts stay real and are documented as 429s.
"""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import pytest
import schemathesis
from conftest import PASSWORD, ApiProject
from hypothesis import settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from nailfolio.config import open_identity
from nailfolio.identity.provider import Unauthorized
from nailfolio.web import api
from nailfolio.web.openapi import openapi

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
MAX_EXAMPLES = 40
SEED = 20_251_128


class AdminSession:
    """A live admin token for the project the API serves now. Some cases sign out or delete
    the account they are sent with; then the next case gets a new admin, made in-process
    (no HTTP, so no sign-in lockout). Applied when each case is sent, not when it is
    generated: schemathesis generates some phases' cases ahead of sending them."""

    def __init__(self) -> None:
        self._token = ""
        self._count = itertools.count()

    def cookie(self) -> dict[str, str]:
        try:
            api.accounts().authenticate(self._token)
        except Unauthorized:  # revoked, deleted, from another project, or never made
            self._token = self._new_admin()
        return {api.SESSION_COOKIE: self._token}

    def _new_admin(self) -> str:
        email = f"admin-{next(self._count)}-{uuid.uuid4().hex[:6]}@example.com"
        with open_identity(api.services().settings) as identity:
            identity.create_user(email, PASSWORD, "Admin", "admins")  # confirmed, on both
            return identity.sign_in(email, PASSWORD, "192.0.2.1").id_token


ADMIN = AdminSession()


@pytest.fixture
def api_schema(live_api: str, api_project: ApiProject) -> Any:
    schema = schemathesis.openapi.from_url(f"{live_api}/api/openapi.json")
    schema.config.base_url = live_api
    schema.config.seed = SEED
    schema.config.generation.update(
        max_examples=MAX_EXAMPLES, deterministic=True, with_security_parameters=False
    )
    return schema


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None)
def test_api_conforms_to_its_openapi_document(case: Any) -> None:
    case.call_and_validate(checks=CHECKS, cookies=ADMIN.cookie())


def test_document_is_openapi_3_1_with_both_security_schemes() -> None:
    document = openapi()
    assert document["openapi"] == "3.1.0"
    schemes = document["components"]["securitySchemes"]
    assert schemes["session"] == {"type": "apiKey", "in": "cookie", "name": "nf_session"}
    assert schemes["bearer"]["scheme"] == "bearer"


def test_document_lists_every_route_of_the_app() -> None:
    from chalice_app.app import app

    documented = {
        (method.upper(), path) for path, item in openapi()["paths"].items() for method in item
    }
    routes = {(method, path) for path, methods in app.routes.items() for method in methods}
    assert documented == routes
