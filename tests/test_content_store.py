"""The content store contract (the content/ folder and an S3 bucket on moto), and what only
one adapter can show: links on disk, S3's pages, folder markers and errors."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from nailfolio.aws.s3_content_store import S3ContentStore
from nailfolio.errors import ContentNotFound, ContentUnreadable, ServiceUnavailable
from nailfolio.gallery.content import scan_designs
from nailfolio.gallery.content_store import (
    ContentEntry,
    ContentStore,
    EntryKind,
    version_stamp,
)
from nailfolio.local.folder_content_store import FolderContentStore

BUCKET = "nailfolio-content"
REGION = "eu-west-1"
REPO = Path(__file__).resolve().parent.parent


@dataclass
class Content:
    """A content store under test and a way to put a file in it, as a designer would."""

    store: ContentStore
    put: Any  # put(key, data) writes the file (a later write: a new version)


def _s3() -> Any:
    return boto3.client("s3", region_name=REGION)


@pytest.fixture(params=["folder", "s3"])
def content(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Content]:
    if request.param == "folder":
        root = tmp_path / "content"
        root.mkdir()
        writes = [0]

        def put_file(key: str, data: bytes) -> None:
            path = root / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            writes[0] += 1  # each write a second later: coarse file-system clocks
            os.utime(path, ns=(10**18 + writes[0] * 10**9,) * 2)

        yield Content(FolderContentStore(root), put_file)
        return
    with mock_aws():
        client = _s3()
        client.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
        )

        def put_object(key: str, data: bytes) -> None:
            client.put_object(Bucket=BUCKET, Key=key, Body=data)

        yield Content(S3ContentStore(_s3(), BUCKET), put_object)


def _by_key(store: ContentStore) -> dict[str, ContentEntry]:
    return {entry.key: entry for entry in store.list_designs()}


# --- the contract ---------------------------------------------------------------------------


def test_an_empty_store_lists_nothing(content: Content) -> None:
    assert content.store.list_designs() == ()


def test_listing_gives_designer_folders_their_files_sizes_and_versions(content: Content) -> None:
    content.put("designs/ana/red.jpg", b"x" * 10)
    content.put("designs/ana/red.md", b"Title: Red\n")
    content.put("designs/bo/designer.md", b"Name: Bo\n")
    entries = _by_key(content.store)
    assert {key: entry.kind for key, entry in entries.items()} == {
        "designs/ana": EntryKind.FOLDER,
        "designs/ana/red.jpg": EntryKind.FILE,
        "designs/ana/red.md": EntryKind.FILE,
        "designs/bo": EntryKind.FOLDER,
        "designs/bo/designer.md": EntryKind.FILE,
    }
    red = entries["designs/ana/red.jpg"]
    assert (red.name, red.size) == ("red.jpg", 10)
    assert red.version and red.modified > 0


def test_a_folder_deeper_down_is_listed_once_as_the_sub_folder_holding_it(
    content: Content,
) -> None:
    content.put("designs/ana/old/red.jpg", b"x")
    content.put("designs/ana/old/2019/blue.jpg", b"x")
    content.put("designs/loose.jpg", b"x")
    entries = content.store.list_designs()
    assert sorted((entry.key, entry.kind) for entry in entries) == [
        ("designs/ana", EntryKind.FOLDER),
        ("designs/ana/old", EntryKind.FOLDER),
        ("designs/loose.jpg", EntryKind.FILE),
    ]


def test_hidden_files_are_listed_for_the_scan_to_skip(content: Content) -> None:
    content.put("designs/ana/.DS_Store", b"x")
    content.put("designs/ana/Thumbs.db", b"x")
    assert {"designs/ana/.DS_Store", "designs/ana/Thumbs.db"} <= set(_by_key(content.store))


def test_version_stays_while_the_file_does_and_changes_when_it_is_written(
    content: Content,
) -> None:
    content.put("designs/ana/red.jpg", b"first")
    before = _by_key(content.store)["designs/ana/red.jpg"]
    assert _by_key(content.store)["designs/ana/red.jpg"] == before
    content.put("designs/ana/red.jpg", b"other")
    after = _by_key(content.store)["designs/ana/red.jpg"]
    assert after.version != before.version
    assert version_stamp(after.version) != version_stamp(before.version)


def test_read_gives_the_bytes_and_with_a_limit_at_most_one_more(content: Content) -> None:
    content.put("designs/ana/red.jpg", bytes(range(100)))
    assert content.store.read("designs/ana/red.jpg") == bytes(range(100))
    assert content.store.read("designs/ana/red.jpg", 10) == bytes(range(11))
    assert content.store.read("designs/ana/red.jpg", 100) == bytes(range(100))


def test_reading_a_missing_key_is_content_not_found(content: Content) -> None:
    content.put("designs/ana/red.jpg", b"x")
    with pytest.raises(ContentNotFound, match=r"designs/ana/blue\.jpg"):
        content.store.read("designs/ana/blue.jpg")
    with pytest.raises(ContentNotFound):
        content.store.read("designs/bo/red.jpg")


@pytest.mark.parametrize(
    "key", ["../secret", "designs/../../etc/passwd", "/etc/passwd", "designs//x", "pages/a.md"]
)
def test_keys_outside_designs_are_refused(content: Content, key: str) -> None:
    with pytest.raises(ValueError, match="not a content key"):
        content.store.read(key)


def test_the_scan_finds_the_same_gallery_in_every_store(content: Content) -> None:
    """The committed sample content, copied into the store, scans as it does from the repo."""
    expected = scan_designs(FolderContentStore(REPO / "content"))
    for path in sorted((REPO / "content" / "designs").rglob("*")):
        if path.is_file():
            content.put(path.relative_to(REPO / "content").as_posix(), path.read_bytes())
    scan = scan_designs(content.store)
    assert scan.problems == expected.problems == ()
    assert scan.designers == expected.designers

    def comparable(designs: Any) -> list[tuple[Any, ...]]:
        return [
            (d.key, d.rel_path, d.title, d.tags, d.date, d.description, d.size) for d in designs
        ]

    assert comparable(scan.designs) == comparable(expected.designs)


def test_the_scan_reports_misplaced_files_the_same_way_in_every_store(content: Content) -> None:
    content.put("designs/loose.jpg", b"x")
    content.put("designs/ana/old/red.jpg", b"x")
    content.put("designs/ana/blue.md", b"Title: Blue")
    content.put("designs/ana/.thumbs/red.jpg", b"x")
    content.put("designs/__MACOSX/ana/._red.jpg", b"x")
    content.put("designs/ana/big.jpg", b"x")
    content.put("designs/ana/big.md", b"x" * (256 * 1024 + 1))
    scan = scan_designs(content.store)
    assert [d.key for d in scan.designs] == ["ana/big"]
    assert [(str(p), p.warning) for p in scan.problems] == [
        ("designs/ana/big.md: larger than 256 KB; shorten it", True),
        (
            "designs/ana/blue.md: no image named blue.* beside this sidecar; rename one to match",
            True,
        ),
        (
            "designs/ana/old: sub-folders are not scanned; move its images up into designs/ana/",
            False,
        ),
        (
            "designs/loose.jpg: not in a designer folder; move it into content/designs/<designer>/",
            False,
        ),
    ]


def test_write_stores_the_bytes_and_replaces_a_file_whole(content: Content) -> None:
    content.put("designs/ana/designer.md", b"Name: Ana\n")
    content.store.write("designs/ana/red.jpg", b"first")
    content.store.write("designs/ana/red.jpg", b"second")
    assert content.store.read("designs/ana/red.jpg") == b"second"
    assert sorted(_by_key(content.store)) == [
        "designs/ana",
        "designs/ana/designer.md",
        "designs/ana/red.jpg",
    ]  # no temporary file left behind


def test_write_refuses_keys_outside_designs(content: Content) -> None:
    with pytest.raises(ValueError, match="not a content key"):
        content.store.write("designs/../x.jpg", b"x")


# --- only the folder can show ---------------------------------------------------------------


def test_the_folder_never_writes_through_a_link(tmp_path: Path) -> None:
    root = tmp_path / "content"
    (root / "designs" / "ana").mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (root / "designs" / "bo").symlink_to(elsewhere, target_is_directory=True)
    victim = tmp_path / "victim.jpg"
    victim.write_bytes(b"keep")
    (root / "designs" / "ana" / "red.jpg").symlink_to(victim)
    store = FolderContentStore(root)
    with pytest.raises(ContentUnreadable, match="symbolic link"):
        store.write("designs/bo/red.jpg", b"x")
    store.write("designs/ana/red.jpg", b"new")  # the link itself is replaced, not followed
    assert victim.read_bytes() == b"keep" and list(elsewhere.iterdir()) == []
    assert not (root / "designs" / "ana" / "red.jpg").is_symlink()


def test_the_folder_write_needs_the_designer_folder(tmp_path: Path) -> None:
    (tmp_path / "designs").mkdir()
    with pytest.raises(ContentUnreadable, match=r"designs/ana/red\.jpg"):
        FolderContentStore(tmp_path).write("designs/ana/red.jpg", b"x")


def test_the_folder_lists_links_and_never_reads_through_one(tmp_path: Path) -> None:
    root = tmp_path / "content"
    (root / "designs" / "ana").mkdir(parents=True)
    secret = tmp_path / "secret.jpg"
    secret.write_bytes(b"private")
    (root / "designs" / "ana" / "leak.jpg").symlink_to(secret)
    (root / "designs" / "bo").symlink_to(tmp_path, target_is_directory=True)
    store = FolderContentStore(root)
    entries = _by_key(store)
    assert entries["designs/ana/leak.jpg"].kind is EntryKind.LINK
    assert not entries["designs/ana/leak.jpg"].to_folder
    assert (entries["designs/bo"].kind, entries["designs/bo"].to_folder) == (EntryKind.LINK, True)
    assert "designs/bo/secret.jpg" not in entries  # a linked folder is never entered
    for key in ("designs/ana/leak.jpg", "designs/bo/secret.jpg"):
        with pytest.raises(ContentUnreadable, match="is a symbolic link; copy the file in"):
            store.read(key)


def test_the_folder_lists_a_pipe_as_special(tmp_path: Path) -> None:
    (tmp_path / "designs" / "ana").mkdir(parents=True)
    os.mkfifo(tmp_path / "designs" / "ana" / "pipe.jpg")
    assert _by_key(FolderContentStore(tmp_path))["designs/ana/pipe.jpg"].kind is EntryKind.SPECIAL


def test_a_folder_read_under_a_big_limit_allocates_the_file_not_the_limit(
    tmp_path: Path,
) -> None:
    import tracemalloc

    path = tmp_path / "designs" / "ana" / "red.jpg"
    path.parent.mkdir(parents=True)
    path.write_bytes(os.urandom(100_000))
    store = FolderContentStore(tmp_path)
    tracemalloc.start()
    try:
        data = store.read("designs/ana/red.jpg", 256 * 2**20)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert data == path.read_bytes()
    assert peak < 1_000_000  # read(limit + 1) alone had allocated the 256 MB


def test_a_folder_read_gets_what_a_file_grew_by_after_its_size_was_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nailfolio.local import folder_content_store

    path = tmp_path / "designs" / "ana" / "red.jpg"
    path.parent.mkdir(parents=True)
    path.write_bytes(bytes(range(100)))
    real_fstat = os.fstat

    def stale_fstat(fd: int) -> Any:  # the size before the last 40 bytes were written
        return type("Stat", (), {"st_size": real_fstat(fd).st_size - 40})()

    monkeypatch.setattr(folder_content_store.os, "fstat", stale_fstat)
    store = FolderContentStore(tmp_path)
    assert store.read("designs/ana/red.jpg", 1000) == bytes(range(100))
    assert store.read("designs/ana/red.jpg", 70) == bytes(range(71))


def test_the_folder_store_pickles_as_its_folder(tmp_path: Path) -> None:
    import pickle

    store = pickle.loads(pickle.dumps(FolderContentStore(tmp_path)))
    assert store.content_dir == tmp_path.resolve()


def test_the_folder_version_is_the_files_mtime_ns(tmp_path: Path) -> None:
    path = tmp_path / "designs" / "ana" / "red.jpg"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"x")
    entry = _by_key(FolderContentStore(tmp_path))["designs/ana/red.jpg"]
    assert version_stamp(entry.version) == path.stat().st_mtime_ns  # old hash caches still hit
    assert entry.path == path


# --- only S3 can show -----------------------------------------------------------------------


@pytest.fixture
def bucket() -> Iterator[Any]:
    with mock_aws():
        client = _s3()
        client.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        yield client


def test_s3_listing_follows_every_page(bucket: Any) -> None:
    for index in range(7):
        bucket.put_object(Bucket=BUCKET, Key=f"designs/ana/{index}.jpg", Body=b"x")
    client = _s3()
    pages: list[dict[str, Any]] = []

    def small_pages(params: dict[str, Any], **_: Any) -> None:
        params["MaxKeys"] = 2
        pages.append(params)

    client.meta.events.register("provide-client-params.s3.ListObjectsV2", small_pages)
    entries = S3ContentStore(client, BUCKET).list_designs()
    assert len(pages) == 4
    assert sorted(e.key for e in entries if e.kind is EntryKind.FILE) == [
        f"designs/ana/{index}.jpg" for index in range(7)
    ]


def test_s3_folder_markers_are_folders_and_odd_keys_are_left_out(bucket: Any) -> None:
    for key in ("designs/", "designs/ana/", "designs/bo/old/", "designs/./x.jpg", "other.jpg"):
        bucket.put_object(Bucket=BUCKET, Key=key, Body=b"")
    entries = S3ContentStore(_s3(), BUCKET).list_designs()
    assert sorted((e.key, e.kind) for e in entries) == [
        ("designs/ana", EntryKind.FOLDER),
        ("designs/bo", EntryKind.FOLDER),
        ("designs/bo/old", EntryKind.FOLDER),
    ]


def test_s3_version_is_the_etag_and_last_modified(bucket: Any) -> None:
    bucket.put_object(Bucket=BUCKET, Key="designs/ana/red.jpg", Body=b"red")
    (_, entry) = S3ContentStore(_s3(), BUCKET).list_designs()
    head = bucket.head_object(Bucket=BUCKET, Key="designs/ana/red.jpg")
    assert entry.version == f"{head['ETag']}@{head['LastModified'].isoformat()}"
    assert entry.path is None


def test_s3_missing_bucket_is_service_unavailable_with_a_hint(bucket: Any) -> None:
    store = S3ContentStore(_s3(), "no-such-bucket")
    with pytest.raises(ServiceUnavailable, match=r"NoSuchBucket.*create the bucket"):
        store.list_designs()
    with pytest.raises(ServiceUnavailable, match=r"s3://no-such-bucket/designs/ana/red\.jpg"):
        store.read("designs/ana/red.jpg")


@pytest.mark.parametrize("code,status", [("SlowDown", 503), ("InternalError", 500)])
def test_s3_throttles_and_faults_are_service_unavailable(code: str, status: int) -> None:
    client = boto3.client("s3", region_name=REGION)
    with Stubber(client) as stub:
        stub.add_client_error("list_objects_v2", code, "slow down", http_status_code=status)
        stub.add_client_error("get_object", code, "slow down", http_status_code=status)
        store = S3ContentStore(client, BUCKET)
        with pytest.raises(ServiceUnavailable, match=f"ListObjectsV2 on bucket .*{code}.*later"):
            store.list_designs()
        with pytest.raises(ServiceUnavailable, match=f"GetObject on s3://.*{code}.*later"):
            store.read("designs/ana/red.jpg")


def test_importing_the_s3_stores_imports_no_boto3() -> None:
    code = (
        "import sys, nailfolio.aws.s3_content_store, nailfolio.aws.s3_rendition_store;"
        "print(sorted(m for m in ('boto3', 'botocore') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert result.stdout.strip() == "[]"
