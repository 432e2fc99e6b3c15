"""The designers' studio through the API, on both backends: whose folder is whose, upload
forms, the local backend's receiving end, sidecars and each design's status; an upload over
HTTP runs the hooks (moderation, then the rebuild) and the design goes live."""

from __future__ import annotations

import base64
import io
import json
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from chalice.test import Client
from conftest import ApiClient, ApiProject, MarkerModerator
from PIL import Image

from chalice_app.app import app
from nailfolio import config
from nailfolio.config import open_catalog, open_content_store
from nailfolio.gallery import design_uploads as studio_module
from nailfolio.gallery import events
from nailfolio.gallery.models import Status

ANA = "ana@example.com"


def jpeg(marker: int = 0, size: tuple[int, int] = (600, 800)) -> bytes:
    """A real JPEG; `marker` is MarkerModerator's score (0 clean, 128 review, 255 reject)."""
    image = Image.new("RGB", size, (200, 120, 160))
    image.paste((marker, 0, 0), (0, 0, 32, 32))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def multipart(
    fields: dict[str, str], data: bytes, filename: str = "photo.jpg"
) -> tuple[str, bytes]:
    """(Content-Type, body) of a form post as a browser sends it: the fields, then the file."""
    boundary = f"----nailfolio{uuid.uuid4().hex}"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + data
        + b"\r\n"
    )
    return f"multipart/form-data; boundary={boundary}", b"".join(
        parts
    ) + f"--{boundary}--\r\n".encode()


@pytest.fixture
def studio(api_project: ApiProject, monkeypatch: pytest.MonkeyPatch) -> Iterator[ApiClient]:
    """Ana's folder (designer.md names her account), Ana signed in as a designer."""
    monkeypatch.setattr(config, "moderator_factory", lambda settings: MarkerModerator)
    store = open_content_store(api_project.settings)
    if api_project.settings.backend == "local":
        (api_project.settings.designs_dir / "ana-lima").mkdir()
        (api_project.settings.designs_dir / "bo").mkdir()
    store.write("designs/ana-lima/designer.md", f"Name: Ana Lima\nAccount: {ANA}\n".encode())
    store.write("designs/bo/designer.md", b"Name: Bo\nAccount: bo@example.com\n")
    api_project.add_user(ANA, "designers", "Ana")
    with Client(app) as client:
        signed_in = ApiClient(client)
        assert signed_in.sign_in(ANA).status_code == 200
        yield signed_in


def ask(client: ApiClient, **body: Any) -> Any:
    fields = {"filename": "Ruby Chrome.jpg", "content_type": "image/jpeg", "size": 1000} | body
    return client.request("POST", "/api/studio/uploads", fields)


def post_form(client: ApiClient, form: dict[str, Any], data: bytes) -> Any:
    content_type, body = multipart(form["fields"], data)
    return client.http.request(
        "POST", form["url"], headers={"Content-Type": content_type}, body=body
    )


def listing(client: ApiClient, query: str = "") -> dict[str, Any]:
    response = client.request("GET", f"/api/studio/designs{query}")
    assert response.status_code == 200, response.body
    return json.loads(response.body)


def error(response: Any) -> tuple[int, str]:
    return response.status_code, json.loads(response.body)["error"]["code"]


# -- the form --------------------------------------------------------------------------------


def test_a_designer_gets_a_form_for_a_new_file_in_her_own_folder(
    api_project: ApiProject, studio: ApiClient
) -> None:
    answer = ask(studio)
    assert answer.status_code == 201, answer.body
    form = json.loads(answer.body)
    assert form["key"] == "designs/ana-lima/ruby-chrome.jpg"
    assert form["fields"]["Content-Type"] == "image/jpeg"
    if api_project.settings.backend == "aws":
        assert form["url"].endswith(f"/{api_project.settings.aws.get('content_bucket')}/")
        assert form["fields"]["key"] == form["key"] and form["fields"]["x-amz-signature"]
    else:
        assert form["url"] == "/api/studio/files" and form["fields"]["signature"]


def test_a_new_file_never_takes_a_designs_name_nor_designer_md(
    api_project: ApiProject, studio: ApiClient
) -> None:
    store = open_content_store(api_project.settings)
    store.write("designs/ana-lima/ruby-chrome.jpg", jpeg())
    store.write("designs/ana-lima/Design.png", jpeg())
    assert json.loads(ask(studio).body)["key"] == "designs/ana-lima/ruby-chrome-2.jpg"
    named = json.loads(ask(studio, filename="designer.jpg").body)["key"]
    assert named == "designs/ana-lima/design-2.jpg"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"content_type": "image/svg+xml"}, 400, "content_type"),
        ({"content_type": "text/html"}, 400, "content_type"),
        ({"size": 60 * 2**20}, 413, "size"),
        ({"size": 0}, 400, "size"),
        ({"size": "12"}, 400, "size"),
        ({"filename": ""}, 400, "filename"),
        ({"colour": "red"}, 400, "colour"),
    ],
    ids=["svg", "html", "too-big", "empty", "size-text", "no-name", "unknown-field"],
)
def test_a_form_is_refused_for_what_could_not_be_published(
    studio: ApiClient, body: dict[str, Any], status: int, field: str
) -> None:
    answer = ask(studio, **body)
    assert answer.status_code == status, answer.body
    assert json.loads(answer.body)["error"]["field"] == field


def test_a_form_over_a_small_cap_names_the_cap_as_people_read_it(
    api_project: ApiProject, studio: ApiClient
) -> None:
    images = replace(api_project.settings.images, max_file_bytes=200 * 1024)
    api_project.settings = replace(api_project.settings, images=images)
    api_project.configure()
    answer = ask(studio, size=300_000)
    assert answer.status_code == 413
    assert json.loads(answer.body)["error"]["message"].startswith(
        "The file is over the 200 KB limit"  # not "the 0 MB limit"
    )


@pytest.mark.parametrize(
    ("filename", "content_type", "key"),
    [
        ("IMG_2041.HEIC", "image/heic", "designs/ana-lima/img-2041.heic"),
        ("IMG_2042.HEIC", "", "designs/ana-lima/img-2042.heic"),  # a browser that knows no type
        ("photo.heif", "image/heif", "designs/ana-lima/photo.heif"),
        ("photo.avif", "image/avif", "designs/ana-lima/photo.avif"),
        ("photo.jpeg", "image/png", "designs/ana-lima/photo.png"),  # the type names the ending
    ],
)
def test_iphone_and_newer_formats_are_accepted(
    studio: ApiClient, filename: str, content_type: str, key: str
) -> None:
    answer = ask(studio, filename=filename, content_type=content_type)
    assert answer.status_code == 201, answer.body
    assert json.loads(answer.body)["key"] == key


# -- who may work where ----------------------------------------------------------------------


def test_visitors_and_customers_are_refused(api_project: ApiProject, studio: ApiClient) -> None:
    studio.cookie = None
    assert error(ask(studio)) == (401, "unauthorized")
    api_project.add_user("cleo@example.com")
    customer = studio.session("cleo@example.com")
    assert error(ask(customer)) == (403, "forbidden")
    assert error(customer.request("GET", "/api/studio/designs")) == (403, "forbidden")


def test_a_designer_without_a_folder_is_told_what_to_ask_the_admin(
    api_project: ApiProject, studio: ApiClient
) -> None:
    api_project.add_user("dee@example.com", "designers")
    answer = ask(studio.session("dee@example.com"))
    assert error(answer) == (403, "forbidden")
    message = json.loads(answer.body)["error"]["message"]
    assert "dee@example.com" in message and "designers assign" in message


def test_a_designer_never_works_in_another_folder(studio: ApiClient) -> None:
    assert error(ask(studio, designer="bo")) == (403, "forbidden")
    assert error(studio.request("GET", "/api/studio/designs?designer=bo")) == (403, "forbidden")
    put = studio.request("PUT", "/api/studio/designs/bo/anything", {"title": "Mine now"})
    assert error(put) == (403, "forbidden")


def test_an_admin_works_in_any_folder_she_names(api_project: ApiProject, studio: ApiClient) -> None:
    api_project.add_user("boss@example.com", "admins")
    admin = studio.session("boss@example.com")
    answer = ask(admin, designer="bo")
    assert answer.status_code == 201 and json.loads(answer.body)["key"].startswith("designs/bo/")
    assert error(ask(admin)) == (400, "invalid_upload")  # whose folder?
    assert error(ask(admin, designer="nobody")) == (404, "not_found")
    assert listing(admin, "?designer=bo")["designer"] == {"slug": "bo", "name": "Bo"}


# -- the local backend's receiving end, and the hooks ------------------------------------------


@pytest.mark.local_only  # on aws it goes to S3: test_a_presigned_post_lands_in_the_bucket
def test_an_upload_over_http_is_moderated_published_and_listed_live(
    api_project: ApiProject, studio: ApiClient
) -> None:
    form = json.loads(ask(studio).body)
    put = studio.request(
        "PUT", "/api/studio/designs/ana-lima/ruby-chrome", {"title": "x"}
    )  # no such design until the file is there
    assert error(put) == (404, "design_not_found")
    assert post_form(studio, form, jpeg()).status_code == 204
    designs = listing(studio)["designs"]
    assert [(d["design"], d["status"], d["page"]) for d in designs] == [
        ("ana-lima/ruby-chrome", "approved", "designs/ana-lima/ruby-chrome/")
    ]
    page = api_project.settings.output_dir / "designs" / "ana-lima" / "ruby-chrome" / "index.html"
    assert page.is_file() and "Ruby Chrome" in page.read_text()
    saved = studio.request(
        "PUT",
        "/api/studio/designs/ana-lima/ruby-chrome",
        {"title": "Ruby Glass", "tags": ["chrome", "Party"], "colours": "red, gold"},
    )
    assert saved.status_code == 200, saved.body
    design = json.loads(saved.body)["design"]
    assert (design["title"], design["tags"], design["colours"]) == (
        "Ruby Glass",
        ["chrome", "party"],
        ["red", "gold"],
    )
    assert "Ruby Glass" in page.read_text()  # the sidecar's write rebuilt the page


@pytest.mark.local_only
@pytest.mark.parametrize(("marker", "status"), [(128, "needs_review"), (255, "rejected")])
def test_a_held_or_rejected_upload_is_listed_so_and_not_published(
    api_project: ApiProject, studio: ApiClient, marker: int, status: str
) -> None:
    form = json.loads(ask(studio).body)
    assert post_form(studio, form, jpeg(marker)).status_code == 204
    [design] = listing(studio)["designs"]
    assert (design["status"], design["page"]) == (status, None)
    assert not (api_project.settings.output_dir / "designs" / "ana-lima").exists()


@pytest.mark.local_only
def test_an_unusable_upload_is_listed_with_its_reason(
    api_project: ApiProject, studio: ApiClient
) -> None:
    form = json.loads(ask(studio).body)
    assert post_form(studio, form, jpeg()[:600]).status_code == 204  # a cut-off JPEG
    [design] = listing(studio)["designs"]
    assert (design["status"], design["reason"]) == ("not_usable", "truncated or corrupt image data")


@pytest.mark.local_only
def test_the_receiving_end_checks_the_form_as_s3_would(
    api_project: ApiProject, studio: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    cap = 200_000
    images = replace(api_project.settings.images, max_file_bytes=cap)
    api_project.settings = replace(api_project.settings, images=images)
    api_project.configure()
    form = json.loads(ask(studio).body)
    fields = form["fields"]
    cases = {
        "forged": (fields | {"signature": "0" * 64}, jpeg(), (403, "forbidden")),
        "other key": (fields | {"key": "designs/bo/ruby-chrome.jpg"}, jpeg(), (403, "forbidden")),
        "other type": (fields | {"Content-Type": "image/png"}, jpeg(), (403, "forbidden")),
        "not the type": (fields, b"<html><script>alert(1)</script>", (400, "invalid_upload")),
        "png for jpeg": (fields, _png(), (400, "invalid_upload")),
        "empty": (fields, b"", (413, "too_large")),
    }
    for name, (sent, data, expected) in cases.items():
        answer = post_form(studio, {"url": form["url"], "fields": sent}, data)
        assert answer.status_code != 204, name
        assert error(answer) == expected, name
    too_big = jpeg() + b"\0" * cap
    refused = post_form(studio, form, too_big)
    assert error(refused) == (413, "too_large")
    assert json.loads(refused.body)["error"]["message"].startswith(
        "The file is over the 196 KB limit"  # 200,000 bytes; not "the 0 MB limit"
    )
    monkeypatch.setattr(studio_module, "UPLOAD_TTL_S", -1)  # a form whose time is up
    expired = json.loads(ask(studio).body)
    assert error(post_form(studio, expired, jpeg())) == (403, "forbidden")
    assert listing(studio)["designs"] == []  # nothing was stored
    not_a_form = studio.request("POST", "/api/studio/files", {"key": "x"})
    assert error(not_a_form) == (415, "unsupported_media_type")


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (100, 100)).save(out, "PNG")
    return out.getvalue()


# -- metadata --------------------------------------------------------------------------------


def test_metadata_becomes_the_sidecar_and_cannot_smuggle_fields(
    api_project: ApiProject, studio: ApiClient
) -> None:
    store = open_content_store(api_project.settings)
    store.write("designs/ana-lima/ruby.jpg", jpeg())
    body = {
        "title": "Ruby\nAccount: evil@example.com",
        "technique": "chrome",
        "description": "Two coats.\n\nThen *top coat*.",
    }
    saved = studio.request("PUT", "/api/studio/designs/ana-lima/ruby", body)
    assert saved.status_code == 200, saved.body
    assert store.read("designs/ana-lima/ruby.md").decode() == (
        "Title: Ruby Account: evil@example.com\nTechnique: chrome\n\n"
        "Two coats.\n\nThen *top coat*.\n"
    )
    assert store.read("designs/ana-lima/designer.md").decode().endswith(f"Account: {ANA}\n")
    [listed] = listing(studio)["designs"]
    assert listed["description"] == "Two coats.\n\nThen *top coat*."
    # Locally the sidecar's write ran the hooks (a rebuild, which moderated the new image);
    # on aws the bucket's events do, in their Lambdas.
    local = api_project.settings.backend == "local"
    assert listed["status"] == ("approved" if local else "processing")


def test_metadata_never_writes_designer_md(api_project: ApiProject, studio: ApiClient) -> None:
    store = open_content_store(api_project.settings)
    store.write("designs/ana-lima/Designer.jpg", jpeg())  # dropped in by hand
    answer = studio.request("PUT", "/api/studio/designs/ana-lima/designer", {"title": "Evil"})
    assert error(answer) == (400, "invalid_upload")
    assert store.read("designs/ana-lima/designer.md").decode().endswith(f"Account: {ANA}\n")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": 3}, "title"),
        ({"title": "x" * 121}, "title"),
        ({"tags": [1]}, "tags"),
        ({"tags": [f"t{n}" for n in range(21)]}, "tags"),
        ({"alt": "x"}, "alt"),
        ({"description": "bell\x07"}, "description"),
    ],
)
def test_bad_metadata_is_refused_naming_the_field(
    api_project: ApiProject, studio: ApiClient, body: dict[str, Any], field: str
) -> None:
    open_content_store(api_project.settings).write("designs/ana-lima/ruby.jpg", jpeg())
    answer = studio.request("PUT", "/api/studio/designs/ana-lima/ruby", body)
    assert error(answer) == (400, "invalid_upload")
    assert json.loads(answer.body)["error"]["field"] == field


def test_the_listing_shows_the_catalogs_decision_for_the_current_bytes(
    api_project: ApiProject, studio: ApiClient
) -> None:
    from nailfolio.gallery.images import hash_bytes
    from nailfolio.gallery.models import Decision

    store = open_content_store(api_project.settings)
    store.write("designs/ana-lima/ruby.jpg", jpeg())
    with open_catalog(api_project.settings) as catalog:
        catalog.record_decision(
            Decision("ana-lima/ruby", hash_bytes(jpeg()), Status.REJECTED, "admin", reason="blurry")
        )
    [listed] = listing(studio)["designs"]
    assert (listed["status"], listed["reason"], listed["page"]) == ("rejected", "blurry", None)
    assert listed["decided_at"].endswith("Z")


# -- aws: the presigned POST ------------------------------------------------------------------


@pytest.mark.aws_only  # the local form is posted to the API (see the local tests above)
def test_a_presigned_post_lands_in_the_bucket(api_project: ApiProject, studio: ApiClient) -> None:
    assert api_project.settings.backend == "aws"
    form = json.loads(ask(studio).body)
    content_type, body = multipart(form["fields"], jpeg())
    sent = urllib.request.Request(form["url"], body, {"Content-Type": content_type}, method="POST")
    with urllib.request.urlopen(sent) as answer:  # moto's server, on loopback
        assert answer.status == 204
    store = open_content_store(api_project.settings)
    assert store.read(form["key"]) == jpeg()
    [listed] = listing(studio)["designs"]
    assert (listed["design"], listed["status"]) == ("ana-lima/ruby-chrome", "processing")
    # What the bucket's "Object Created" event makes the moderate Lambda do, with its handler:
    requested: list[tuple[str, list[str]]] = []

    class Queue:
        def request(self, reason: str, keys: list[str] = ()) -> None:
            requested.append((reason, list(keys)))

    change = events.ContentChange(form["key"])
    report = events.moderate_changes(api_project.settings, [change], Queue())
    assert report.decisions == {form["key"]: "approved"}
    assert [keys for _, keys in requested] == [[form["key"]]]  # the rebuild queue's message
    [listed] = listing(studio)["designs"]
    assert (listed["status"], listed["page"]) == ("approved", "designs/ana-lima/ruby-chrome/")
    policy = json.loads(base64.b64decode(form["fields"]["policy"]))
    conditions = policy["conditions"]  # all of them: tests/test_upload_forms.py
    assert {"key": form["key"]} in conditions and {"Content-Type": "image/jpeg"} in conditions


# -- the pieces ------------------------------------------------------------------------------


def test_every_accepted_upload_type_is_one_the_decoder_reads() -> None:
    from nailfolio.gallery.images import PLUGINS, UPLOAD_TYPES

    assert {kind for kind, _ in UPLOAD_TYPES.values()} == set(PLUGINS)
    assert {"image/heic", "image/heif", "image/avif"} <= set(UPLOAD_TYPES)


@pytest.mark.local_only
def test_designer_md_names_its_account_folded_and_the_hooks_skip_it_on_aws(
    api_project: ApiProject, studio: ApiClient
) -> None:
    from dataclasses import replace as changed

    from nailfolio.gallery.content import designer_folders

    store = open_content_store(api_project.settings)
    store.write("designs/bo/designer.md", b"Name: Bo\nAccount:  Bo@Example.COM \n")
    accounts = {f.name: f.designer.account for f in designer_folders(store)}
    assert accounts == {"ana-lima": ANA, "bo": "bo@example.com"}
    assert config.content_written_hook(changed(api_project.settings, backend="aws")) is None
