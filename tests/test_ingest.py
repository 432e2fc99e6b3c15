"""The ingest stage for one content key, on the local stores and on S3 (moto)."""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import boto3
import pytest
from conftest import MarkerModerator
from moto import mock_aws
from moto_dynamodb import atomic_dynamodb, dynamodb_client
from PIL import Image

from nailfolio.aws.dynamodb import catalog_table
from nailfolio.aws.dynamodb_catalog import DynamoCatalog
from nailfolio.aws.s3_content_store import S3ContentStore
from nailfolio.aws.s3_rendition_store import S3RenditionStore
from nailfolio.errors import ContentNotFound
from nailfolio.gallery.content import scan_designs
from nailfolio.gallery.content_store import ContentStore, version_stamp
from nailfolio.gallery.ingest import CacheKeys, IngestResult, ingest
from nailfolio.gallery.models import Status
from nailfolio.gallery.palette import PALETTE_VERSION
from nailfolio.gallery.rendition_store import RenditionStore
from nailfolio.gallery.settings import ImageSettings, ModerationSettings
from nailfolio.local.folder_content_store import FolderContentStore
from nailfolio.local.folder_rendition_store import FolderRenditionStore
from nailfolio.local.sqlite_catalog import SqliteCatalog

REGION = "eu-west-1"
CONTENT, ASSETS = "nailfolio-content", "nailfolio-assets"
SMALL = ImageSettings(widths=(160, 320), fallback_width=320, thumb_size=(80, 100))


@dataclass
class ListNotifier:
    """Notifier port stand-in keeping what it was told."""

    sent: list[str] = field(default_factory=list)
    bodies: list[str] = field(default_factory=list)

    def notify(self, subject: str, body: str, tags: Sequence[str] = ()) -> None:
        self.sent.append(subject)
        self.bodies.append(body)

    def close(self) -> None:
        pass

    def __enter__(self) -> ListNotifier:
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass


@dataclass
class Stage:
    """The ports one ingest runs with, and a way to drop a file into the content store."""

    content: ContentStore
    renditions: RenditionStore
    catalog: SqliteCatalog
    notifier: ListNotifier
    put: Any

    def ingest(self, key: str, images_settings: ImageSettings = SMALL) -> IngestResult:
        return ingest(
            key,
            content=self.content,
            renditions=self.renditions,
            catalog=self.catalog,
            notifier=self.notifier,
            moderator=MarkerModerator(),
            images_settings=images_settings,
            policy=ModerationSettings(),
        )


def _jpeg(marker: int = 0, colour: tuple[int, int, int] = (200, 120, 160)) -> bytes:
    image = Image.new("RGB", (400, 300), colour)
    image.paste((marker, 0, 0), (0, 0, 32, 32))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


@pytest.fixture(params=["local", "s3"])
def stage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stage]:
    MarkerModerator.calls = 0
    catalog = SqliteCatalog(tmp_path / "catalog.sqlite3")
    if request.param == "local":

        def put_file(key: str, data: bytes) -> None:
            path = tmp_path / "content" / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)

        (tmp_path / "content").mkdir()
        content = FolderContentStore(tmp_path / "content")
        renditions = FolderRenditionStore(tmp_path / "renditions")
        with catalog:
            yield Stage(content, renditions, catalog, ListNotifier(), put_file)
        return
    with mock_aws(), catalog:
        client = boto3.client("s3", region_name=REGION)
        for bucket in (CONTENT, ASSETS):
            client.create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
            )

        def put_object(key: str, data: bytes) -> None:
            client.put_object(Bucket=CONTENT, Key=key, Body=data)

        yield Stage(
            S3ContentStore(client, CONTENT),
            S3RenditionStore(client, ASSETS),
            catalog,
            ListNotifier(),
            put_object,
        )


def test_an_approved_image_gets_its_decision_and_its_variants(stage: Stage) -> None:
    stage.put("designs/ana/red.jpg", _jpeg())
    result = stage.ingest("designs/ana/red.jpg")
    assert (result.source.key, result.status, result.processed) == (
        "ana/red",
        Status.APPROVED,
        True,
    )
    assert result.rendition is not None and result.problem is None
    assert all(stage.renditions.exists(v.name) for v in result.rendition.variants)
    decision = stage.catalog.latest_decision("ana/red")
    assert decision is not None and decision.content_hash == result.content_hash
    fingerprint = SMALL.fingerprint()
    assert stage.catalog.get_rendition(result.content_hash, fingerprint) == result.rendition
    assert stage.notifier.sent == []


def test_the_same_bytes_twice_do_no_work(stage: Stage) -> None:
    stage.put("designs/ana/red.jpg", _jpeg())
    first = stage.ingest("designs/ana/red.jpg")
    again = stage.ingest("designs/ana/red.jpg")
    assert (again.processed, again.status, again.rendition) == (
        False,
        first.status,
        first.rendition,
    )
    assert MarkerModerator.calls == 1
    assert len(stage.catalog.decision_history("ana/red")) == 1


def test_ingest_leaves_the_hash_for_the_next_build(stage: Stage) -> None:
    stage.put("designs/ana/red.jpg", _jpeg())
    result = stage.ingest("designs/ana/red.jpg")
    (entry,) = [e for e in stage.content.list_designs() if e.key == "designs/ana/red.jpg"]
    cached = stage.catalog.get_file_hash(entry.key, entry.size, version_stamp(entry.version))
    assert cached == result.content_hash


@pytest.mark.parametrize(
    "marker,status,subject",
    [
        (255, Status.REJECTED, "Design ana/bad was rejected"),
        (128, Status.NEEDS_REVIEW, "Design ana/bad needs review"),
    ],
)
def test_a_held_back_image_notifies_the_admins_and_gets_no_variants(
    stage: Stage, marker: int, status: Status, subject: str
) -> None:
    stage.put("designs/ana/bad.jpg", _jpeg(marker))
    result = stage.ingest("designs/ana/bad.jpg")
    assert (result.status, result.rendition) == (status, None)
    assert stage.notifier.sent == [subject]
    (body,) = stage.notifier.bodies  # says where to act: the web queue, or the terminal
    assert "/admin/moderation/" in body and "build.py approve ana/bad" in body
    stage.ingest("designs/ana/bad.jpg")
    assert stage.notifier.sent == [subject]  # told once


def test_a_file_that_is_no_image_is_refused_and_remembered(stage: Stage) -> None:
    stage.put("designs/ana/notes.jpg", b"shopping list: top coat\n")
    first = stage.ingest("designs/ana/notes.jpg")
    assert first.problem is not None
    assert str(first.problem) == "content/designs/ana/notes.jpg: not an image (looks like text)"
    again = stage.ingest("designs/ana/notes.jpg")
    assert (again.problem, again.processed) == (first.problem, False)


def test_an_oversize_file_is_refused_from_its_listed_size(stage: Stage) -> None:
    stage.put("designs/ana/red.jpg", _jpeg())
    result = stage.ingest("designs/ana/red.jpg", ImageSettings(max_file_bytes=100))
    assert result.problem is not None and "limit" in result.problem.reason
    assert MarkerModerator.calls == 0


@pytest.mark.parametrize(
    "key", ["designs/ana/red.md", "designs/ana/.DS_Store", "designs/loose.jpg", "designs/ana/x.jpg"]
)
def test_a_key_that_is_no_design_is_content_not_found(stage: Stage, key: str) -> None:
    stage.put("designs/ana/red.jpg", _jpeg())
    stage.put("designs/ana/red.md", b"Title: Red\n")
    stage.put("designs/ana/.DS_Store", b"x")
    stage.put("designs/loose.jpg", _jpeg())
    with pytest.raises(ContentNotFound, match="is not a design"):
        stage.ingest(key)


def test_a_changed_image_is_moderated_again(stage: Stage) -> None:
    stage.put("designs/ana/red.jpg", _jpeg())
    first = stage.ingest("designs/ana/red.jpg")
    stage.put("designs/ana/red.jpg", _jpeg(colour=(20, 160, 90)))
    second = stage.ingest("designs/ana/red.jpg")
    assert second.processed and second.content_hash != first.content_hash
    assert MarkerModerator.calls == 2


@dataclass
class CountingStore:
    """A content store that notes every key read through it."""

    inner: ContentStore
    reads: list[str] = field(default_factory=list)

    def list_designs(self) -> tuple[Any, ...]:
        return self.inner.list_designs()

    def read(self, key: str, limit: int | None = None) -> bytes:
        self.reads.append(key)
        return self.inner.read(key, limit)


def test_ingest_reads_only_the_image_its_sidecar_and_designer_md(stage: Stage) -> None:
    for name in ("blue", "red", "Red-2", "gold"):
        stage.put(f"designs/ana/{name}.jpg", _jpeg())
        stage.put(f"designs/ana/{name}.md", f"Title: {name.title()} tips\n".encode())
    stage.put("designs/ana/designer.md", b"Name: Ana Lima\n")
    stage.put("designs/bo/red.jpg", _jpeg())
    counting = CountingStore(stage.content)
    stage.content = counting
    result = stage.ingest("designs/ana/red.jpg")
    assert sorted(counting.reads) == [
        "designs/ana/designer.md",
        "designs/ana/red.jpg",
        "designs/ana/red.md",
    ]
    (scanned,) = [d for d in scan_designs(counting.inner).designs if d.key == "ana/red"]
    assert result.source == scanned  # the same slugs, metadata and version as a full scan


# --- the palette: read at ingest, and read again from a variant when missing ---------------


def test_an_approved_image_gets_its_palette_with_its_rendition(stage: Stage) -> None:
    stage.put("designs/ana/red.jpg", _jpeg(colour=(205, 28, 36)))
    result = stage.ingest("designs/ana/red.jpg")
    assert result.rendition is not None
    assert [s.shade for s in result.rendition.palette] == ["red"]
    assert result.rendition.palette_version == PALETTE_VERSION
    kept = stage.catalog.get_rendition(result.content_hash, SMALL.fingerprint())
    assert kept is not None and kept.palette == result.rendition.palette


@dataclass
class PutCountingStore:
    """A rendition store noting what is put into it."""

    store: RenditionStore
    puts: list[str] = field(default_factory=list)

    def put(self, name: str, data: bytes) -> None:
        self.puts.append(name)
        self.store.put(name, data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def _forget_palette(stage: Stage, content_hash: str) -> None:
    """The rendition as a catalog made before palettes holds it."""
    fingerprint = SMALL.fingerprint()
    old = stage.catalog.get_rendition(content_hash, fingerprint)
    assert old is not None
    stage.catalog.put_rendition(fingerprint, replace(old, palette=(), palette_version=0))


def test_a_rendition_without_a_palette_gets_the_one_a_fresh_render_read_with_nothing_encoded(
    stage: Stage,
) -> None:
    stage.put("designs/ana/red.jpg", _jpeg(colour=(205, 28, 36)))
    first = stage.ingest("designs/ana/red.jpg")
    _forget_palette(stage, first.content_hash)
    counting = PutCountingStore(stage.renditions)
    stage.renditions = counting  # type: ignore[assignment]
    again = stage.ingest("designs/ana/red.jpg")
    assert first.rendition is not None and again.rendition is not None
    assert again.processed and again.rendition == first.rendition  # the same pixels, read again
    assert counting.puts == [] and MarkerModerator.calls == 1  # nothing encoded or moderated
    kept = stage.catalog.get_rendition(first.content_hash, SMALL.fingerprint())
    assert kept == again.rendition
    assert stage.ingest("designs/ana/red.jpg").processed is False  # and then no work at all


def test_a_photo_no_longer_decoded_leaves_the_palette_unread_and_the_design_published(
    stage: Stage, caplog: pytest.LogCaptureFixture
) -> None:
    stage.put("designs/ana/red.jpg", _jpeg(colour=(205, 28, 36)))
    first = stage.ingest("designs/ana/red.jpg")
    assert first.rendition is not None
    _forget_palette(stage, first.content_hash)
    capped = replace(SMALL, max_pixels=1000)  # the 400x300 photo is now over the cap
    again = stage.ingest("designs/ana/red.jpg", capped)
    assert again.status is Status.APPROVED and again.problem is None
    assert again.rendition is not None and again.rendition.palette_version == 0
    assert "ana/red.jpg: colours kept as they were: image is 400x300 pixels" in caplog.text
    keys = CacheKeys.of(capped)
    assert stage.catalog.get_refusal(first.content_hash, keys.caps) is None  # not remembered


def test_on_aws_the_palette_is_kept_in_dynamodb_and_recoloured_from_s3() -> None:
    with atomic_dynamodb():
        s3 = boto3.client("s3", region_name=REGION)
        for bucket in (CONTENT, ASSETS):
            s3.create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
            )
        dynamodb_client().create_table(**catalog_table("catalog"))
        catalog = DynamoCatalog(dynamodb_client(), "catalog")
        stage = Stage(
            S3ContentStore(s3, CONTENT),
            S3RenditionStore(s3, ASSETS),
            catalog,  # type: ignore[arg-type]
            ListNotifier(),
            lambda key, data: s3.put_object(Bucket=CONTENT, Key=key, Body=data),
        )
        stage.put("designs/ana/navy.jpg", _jpeg(colour=(28, 37, 80)))
        first = stage.ingest("designs/ana/navy.jpg")
        kept = catalog.get_rendition(first.content_hash, SMALL.fingerprint())
        assert kept is not None and [s.shade for s in kept.palette] == ["navy"]
        _forget_palette(stage, first.content_hash)
        again = stage.ingest("designs/ana/navy.jpg")
        assert again.rendition is not None and again.rendition.palette_version == PALETTE_VERSION
        kept = catalog.get_rendition(first.content_hash, SMALL.fingerprint())
        assert kept == again.rendition and [s.shade for s in kept.palette] == ["navy"]


def test_a_file_refused_by_its_listed_size_reads_as_the_decode_would_refuse_it() -> None:
    from nailfolio.gallery.ingest import too_big
    from nailfolio.gallery.models import Designer, DesignSource

    def source(size: int) -> DesignSource:
        designer = Designer("ana", "Ana")
        path, rel = Path("/c/designs/ana/red.jpg"), "designs/ana/red.jpg"
        return DesignSource("ana/red", path, rel, designer, "red", "Red", size=size)

    def reason(size: int, settings: ImageSettings) -> str | None:
        problem = too_big(source(size), settings)
        return problem.reason if problem else None

    # As the decode words it (tests/test_images.py): the 50 MB cap, not "52 MB"
    assert reason(int(61.2 * 2**20), ImageSettings()) == "file is 61.2 MB, over the 50 MB limit"
    small_cap = ImageSettings(max_file_bytes=200 * 1024)  # NAILFOLIO_MAX_FILE_MB=0.2
    assert reason(250_000, small_cap) == "file is 245 KB, over the 200 KB limit"  # not "0 MB"
    assert reason(200 * 1024, small_cap) is None
