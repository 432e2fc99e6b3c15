"""The upload forms' adapters: a presigned S3 POST (moto does not enforce a POST policy, so its
conditions are checked exactly, and against S3's documented rules for them), and the local
signed form's round trip."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from nailfolio.aws.s3_upload_forms import S3UploadForms, upload_url
from nailfolio.gallery.design_uploads import UploadRefused
from nailfolio.local.folder_content_store import FolderContentStore
from nailfolio.local.signed_upload_forms import SignedUploadForms

BUCKET, REGION, KEY, CAP = "studio-content", "eu-west-1", "designs/ana/ruby.heic", 50 * 2**20


def s3_accepts(policy: dict[str, Any], form: dict[str, str], size: int) -> bool:
    """Whether S3 would take a POST of `form` and a file of `size` bytes under `policy`
    (its rules: every condition holds; eq on a field is exact; content-length-range bounds
    the file; fields other than the policy's own must each have a condition)."""
    named = {"policy", "x-amz-signature", "file"}
    covered = set()
    for condition in policy["conditions"]:
        if isinstance(condition, dict):
            ((name, value),) = condition.items()
            if name != "bucket" and form.get(name) != value:
                return False
            covered.add(name)
        elif condition[0] == "content-length-range":
            if not condition[1] <= size <= condition[2]:
                return False
        elif condition[0] == "eq":
            if form.get(condition[1].lstrip("$")) != condition[2]:
                return False
            covered.add(condition[1].lstrip("$"))
        elif condition[0] == "starts-with":
            if not form.get(condition[1].lstrip("$"), "").startswith(condition[2]):
                return False
            covered.add(condition[1].lstrip("$"))
    return set(form) - named <= covered


@pytest.fixture
def s3_form() -> Any:
    with mock_aws():
        client = boto3.client("s3", region_name=REGION, config=_v4())
        yield S3UploadForms(client, BUCKET, upload_url(BUCKET, REGION)).form(
            KEY, "image/heic", CAP, 1800
        )


def _v4() -> Any:
    from botocore.config import Config

    return Config(signature_version="s3v4")


def _policy(form: Any) -> dict[str, Any]:
    return json.loads(base64.b64decode(form.fields["policy"]))


def test_the_presigned_post_is_limited_to_the_key_the_type_and_the_size(s3_form: Any) -> None:
    policy = _policy(s3_form)
    signing = [c for c in policy["conditions"] if isinstance(c, dict) and "x-amz-" in next(iter(c))]
    assert [c for c in policy["conditions"] if c not in signing] == [
        {"Content-Type": "image/heic"},
        ["content-length-range", 1, CAP],
        {"bucket": BUCKET},
        {"key": KEY},
    ]
    assert {next(iter(c)) for c in signing} >= {"x-amz-algorithm", "x-amz-credential"}
    assert s3_form.fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"  # SigV4, never SigV2
    expires = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    assert timedelta(minutes=29) < expires - datetime.now(UTC) <= timedelta(minutes=30)
    assert s3_form.url == f"https://{BUCKET}.s3.{REGION}.amazonaws.com/"


@pytest.mark.parametrize(
    ("change", "size", "accepted"),
    [
        ({}, 3_000_000, True),
        ({"key": "designs/bo/ruby.heic"}, 3_000_000, False),
        ({"key": "designs/ana/../bo/ruby.heic"}, 3_000_000, False),
        ({"key": "designs/ana/designer.md"}, 3_000_000, False),
        ({}, CAP + 1, False),
        ({}, 0, False),
        ({"Content-Type": "text/html"}, 3_000_000, False),
        ({"Content-Type": "image/svg+xml"}, 3_000_000, False),
        ({"success_action_redirect": "https://evil.example/"}, 3_000_000, False),
    ],
    ids=[
        "as-issued",
        "other-folder",
        "dot-dot",
        "designer-md",
        "too-big",
        "empty",
        "html",
        "svg",
        "extra-field",
    ],
)
def test_s3_refuses_a_post_outside_the_form(
    s3_form: Any, change: dict[str, str], size: int, accepted: bool
) -> None:
    assert s3_accepts(_policy(s3_form), dict(s3_form.fields) | change, size) is accepted


def test_the_local_form_carries_the_same_fields_and_is_received_once_checked(
    tmp_path: Path,
) -> None:
    (tmp_path / "designs" / "ana").mkdir(parents=True)
    content = FolderContentStore(tmp_path)
    forms = SignedUploadForms(tmp_path / "key.pem", "/api/studio/files", content)
    form = forms.form("designs/ana/red.png", "image/png", 1000, 60)
    assert sorted(form.fields) == ["Content-Type", "key", "policy", "signature"]
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 100
    assert forms.receive(form.fields, png) == "designs/ana/red.png"
    assert content.read("designs/ana/red.png") == png
    other = SignedUploadForms(tmp_path / "other.pem", "/api/studio/files", content)
    with pytest.raises(UploadRefused):  # another signing key: another secret
        other.receive(form.fields, png)


def _heic() -> bytes:
    import io

    import pillow_heif
    from PIL import Image

    out = io.BytesIO()
    pillow_heif.from_pillow(Image.new("RGB", (64, 64), (200, 10, 10))).save(out, format="HEIF")
    return out.getvalue()


def test_an_iphone_photo_is_received_as_heic_and_a_jpeg_is_not(tmp_path: Path) -> None:
    from nailfolio.gallery.design_uploads import InvalidUpload

    (tmp_path / "designs" / "ana").mkdir(parents=True)
    content = FolderContentStore(tmp_path)
    forms = SignedUploadForms(tmp_path / "key.pem", "/api/studio/files", content)
    form = forms.form("designs/ana/img-2041.heic", "image/heic", 10**6, 60)
    with pytest.raises(InvalidUpload, match=r"not a HEIF image \(looks like JPEG\)"):
        forms.receive(form.fields, b"\xff\xd8\xff\xe0" + b"\0" * 100)
    heic = _heic()
    assert forms.receive(form.fields, heic) == "designs/ana/img-2041.heic"
    assert content.read("designs/ana/img-2041.heic") == heic


@pytest.fixture(params=["s3", "local"])
def forms(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "local":
        yield SignedUploadForms(
            tmp_path / "key.pem", "/api/studio/files", FolderContentStore(tmp_path)
        )
        return
    with mock_aws():
        client = boto3.client("s3", region_name=REGION, config=_v4())
        yield S3UploadForms(client, BUCKET, upload_url(BUCKET, REGION))


def test_every_form_names_its_key_and_type_and_expires(forms: Any) -> None:
    """The contract both adapters keep: the browser posts `fields` (the key and the declared
    Content-Type among them), then the file, to `url`, before `expires_at`."""
    form = forms.form(KEY, "image/heic", CAP, 1800)
    assert form.key == KEY and form.fields["key"] == KEY
    assert form.fields["Content-Type"] == "image/heic" and form.fields["policy"]
    assert form.url.endswith("/") or form.url == "/api/studio/files"
    left = form.expires_at - datetime.now(UTC)
    assert timedelta(minutes=29) < left <= timedelta(minutes=30)
