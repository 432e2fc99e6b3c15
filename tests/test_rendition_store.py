"""The rendition store contract (var/renditions/ and an S3 bucket on moto), and what only one
adapter can show: atomic files on disk, S3 object headers and a server-side copy."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from nailfolio.aws.s3_rendition_store import S3RenditionStore
from nailfolio.errors import RenditionNotFound, ServiceUnavailable
from nailfolio.gallery.rendition_store import (
    CACHE_CONTROL,
    RenditionFile,
    RenditionObject,
    RenditionStore,
)
from nailfolio.local.folder_rendition_store import FolderRenditionStore

ASSETS = "nailfolio-assets"
SITE = "nailfolio-site"
REGION = "eu-west-1"
NAME = "0123456789abcdef-fedcba98-480w.webp"


def _s3() -> Any:
    return boto3.client("s3", region_name=REGION)


def _bucket(client: Any, name: str) -> None:
    client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})


@pytest.fixture(params=["folder", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RenditionStore]:
    if request.param == "folder":
        yield FolderRenditionStore(tmp_path / "var" / "renditions")
        return
    with mock_aws():
        _bucket(_s3(), ASSETS)
        yield S3RenditionStore(_s3(), ASSETS)


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = _s3()
        _bucket(client, ASSETS)
        _bucket(client, SITE)
        yield client


def _located_bytes(store: RenditionStore, name: str) -> bytes:
    """What publishing would bring over from where `locate` says the variant is."""
    where = store.locate(name)
    if isinstance(where, RenditionFile):
        return where.path.read_bytes()
    assert isinstance(where, RenditionObject)
    return _s3().get_object(Bucket=where.bucket, Key=where.key)["Body"].read()


# --- the contract ---------------------------------------------------------------------------


def test_a_put_variant_exists_and_reads_back(store: RenditionStore) -> None:
    assert not store.exists(NAME)
    store.put(NAME, b"RIFF webp bytes")
    assert store.exists(NAME)
    assert store.get(NAME) == b"RIFF webp bytes"


def test_names_lists_every_variant_held_in_one_go(store: RenditionStore) -> None:
    assert store.names() == frozenset()
    others = ("ab12-480w.webp", "ab12-1200w.jpg")
    for name in (NAME, *others):
        store.put(name, b"bytes")
    assert store.names() == {NAME, *others}


def test_putting_a_name_again_replaces_it(store: RenditionStore) -> None:
    store.put(NAME, b"first")
    store.put(NAME, b"second")
    assert store.get(NAME) == b"second"


def test_getting_a_missing_variant_is_rendition_not_found(store: RenditionStore) -> None:
    with pytest.raises(RenditionNotFound, match=r"480w\.webp.*again"):
        store.get(NAME)


@pytest.mark.parametrize(
    "name", ["../escape.webp", "sub/x.webp", ".hidden.webp", "x.png", "x.webp.tmp", ""]
)
def test_names_that_are_not_plain_variant_files_are_refused(
    store: RenditionStore, name: str
) -> None:
    with pytest.raises(ValueError, match="not a variant file name"):
        store.put(name, b"x")
    with pytest.raises(ValueError, match="not a variant file name"):
        store.exists(name)


def test_locate_points_publishing_at_the_variants_bytes(store: RenditionStore) -> None:
    store.put(NAME, b"webp")
    store.put("0123456789abcdef-fedcba98-1200w.jpg", b"jpeg")
    assert _located_bytes(store, NAME) == b"webp"
    assert _located_bytes(store, "0123456789abcdef-fedcba98-1200w.jpg") == b"jpeg"


# --- only the folder can show ---------------------------------------------------------------


def test_the_folder_writes_whole_files_world_readable_and_leaves_no_temporary(
    tmp_path: Path,
) -> None:
    store = FolderRenditionStore(tmp_path / "renditions")
    store.put(NAME, b"webp")
    assert os.listdir(tmp_path / "renditions") == [NAME]
    assert (tmp_path / "renditions" / NAME).stat().st_mode & 0o777 == 0o644


def test_a_failed_folder_put_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = FolderRenditionStore(tmp_path)
    store.put(NAME, b"old")

    def no_space(fd: int) -> None:
        raise OSError("no space left on device")

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(OSError, match="no space"):
        store.put(NAME, b"new")
    assert os.listdir(tmp_path) == [NAME]
    assert store.get(NAME) == b"old"


def test_a_located_folder_variant_can_be_hard_linked_into_a_site(tmp_path: Path) -> None:
    store = FolderRenditionStore(tmp_path / "renditions")
    store.put(NAME, b"webp")
    where = store.locate(NAME)
    assert isinstance(where, RenditionFile)
    (tmp_path / "site").mkdir()
    os.link(where.path, tmp_path / "site" / NAME)
    assert (tmp_path / "site" / NAME).stat().st_ino == where.path.stat().st_ino


# --- only S3 can show -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "name,kind", [(NAME, "image/webp"), ("0123456789abcdef-fedcba98-1200w.jpg", "image/jpeg")]
)
def test_s3_variants_carry_their_type_and_an_immutable_cache_header(
    s3: Any, name: str, kind: str
) -> None:
    S3RenditionStore(_s3(), ASSETS).put(name, b"bytes")
    head = s3.head_object(Bucket=ASSETS, Key=f"renditions/{name}")
    assert (head["ContentType"], head["CacheControl"]) == (kind, CACHE_CONTROL)


def test_s3_variants_copy_server_side_into_the_site_bucket_with_their_headers(s3: Any) -> None:
    store = S3RenditionStore(_s3(), ASSETS)
    store.put(NAME, b"webp")
    where = store.locate(NAME)
    assert where == RenditionObject(ASSETS, f"renditions/{NAME}")
    s3.copy_object(
        Bucket=SITE, Key=f"img/{NAME}", CopySource={"Bucket": where.bucket, "Key": where.key}
    )
    copied = s3.get_object(Bucket=SITE, Key=f"img/{NAME}")
    assert copied["Body"].read() == b"webp"
    assert (copied["ContentType"], copied["CacheControl"]) == ("image/webp", CACHE_CONTROL)


def test_s3_prefix_is_where_the_variants_go(s3: Any) -> None:
    S3RenditionStore(_s3(), ASSETS, prefix="v1/").put(NAME, b"webp")
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=ASSETS)["Contents"]]
    assert keys == [f"v1/{NAME}"]


def test_s3_missing_bucket_is_service_unavailable_with_a_hint(s3: Any) -> None:
    store = S3RenditionStore(_s3(), "no-such-bucket")
    with pytest.raises(ServiceUnavailable, match=r"NoSuchBucket.*create the bucket"):
        store.put(NAME, b"x")


@pytest.mark.parametrize("code,status", [("SlowDown", 503), ("InternalError", 500)])
def test_s3_throttles_and_faults_are_service_unavailable(code: str, status: int) -> None:
    client = boto3.client("s3", region_name=REGION)
    with Stubber(client) as stub:
        for operation in ("put_object", "get_object", "head_object"):
            stub.add_client_error(operation, code, "slow down", http_status_code=status)
        store = S3RenditionStore(client, ASSETS)
        for call in (lambda: store.put(NAME, b"x"), lambda: store.get(NAME)):
            with pytest.raises(ServiceUnavailable, match=f"{code}.*try again later"):
                call()
        with pytest.raises(ServiceUnavailable, match="HeadObject"):
            store.exists(NAME)  # a fault is never taken for "missing"
