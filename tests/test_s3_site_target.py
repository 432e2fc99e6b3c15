"""The S3 site target on moto: types and cache headers, a diff by digest kept in metadata,
server-side copies of images, deletions late and guarded, a whole site after a fault at any
write, and one CloudFront invalidation of what changed."""

from __future__ import annotations

import hashlib
import itertools
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from moto import mock_aws
from site_checks import FailingAfter, page_references

from nailfolio import config
from nailfolio.aws import clients
from nailfolio.aws.cloudfront import CloudFrontInvalidator
from nailfolio.aws.s3_rendition_store import S3RenditionStore
from nailfolio.aws.s3_site_target import RECORD_KEY, S3SiteTarget
from nailfolio.errors import ConfigError, ServiceUnavailable, TooManyDeletions
from nailfolio.gallery import publish
from nailfolio.gallery.publish import (
    ASSET_CACHE,
    DEFER_SECONDS,
    PAGE_CACHE,
    CachePolicy,
    publish_site,
)
from nailfolio.gallery.render import StagedSite
from nailfolio.gallery.rendition_store import CACHE_CONTROL as IMMUTABLE

REGION = "eu-west-1"
ASSETS = "nailfolio-assets"
SITE = "nailfolio-site"
NOW = 1_800_000_000.0
WRITES = frozenset({"PutObject", "CopyObject", "DeleteObjects"})


@dataclass
class FakeCdn:
    """Records each invalidation asked for."""

    asked: list[tuple[str, ...]] = field(default_factory=list)

    def invalidate(self, paths: Sequence[str]) -> str:
        self.asked.append(tuple(paths))
        return f"I{len(self.asked)}"


@dataclass
class Bucket:
    """The moto S3 of one test: the assets and site buckets, and every request counted."""

    s3: Any
    renditions: S3RenditionStore
    root: Path
    calls: Counter = field(default_factory=Counter)
    cdn: FakeCdn = field(default_factory=FakeCdn)
    versions: Iterator[int] = field(default_factory=itertools.count)

    def target(self, client: Any = None, **policy: Any) -> S3SiteTarget:
        policy.setdefault("max_invalidation_paths", 100)
        return S3SiteTarget(
            client or self.s3, SITE, self.renditions, self.cdn, CachePolicy(**policy)
        )

    def site(self, designs: Sequence[str], version: str = "1") -> StagedSite:
        folder = self.root / f"stage-{next(self.versions)}"
        return make_site(folder, self.renditions, designs, version)

    def objects(self) -> dict[str, dict[str, Any]]:
        """Every site object (the record aside) with its headers and metadata."""
        found = {}
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=SITE):
            for item in page.get("Contents", []):
                if item["Key"] != RECORD_KEY:
                    found[item["Key"]] = item
        return found

    def head(self, key: str) -> dict[str, Any]:
        return self.s3.head_object(Bucket=SITE, Key=key)

    def snapshot(self) -> dict[str, tuple[str, str]]:
        found = self.objects().items()
        return {key: (item["ETag"], str(item["LastModified"])) for key, item in found}

    def reset_calls(self) -> None:
        self.calls.clear()


@pytest.fixture
def bucket(tmp_path: Path) -> Iterator[Bucket]:
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        for name in (ASSETS, SITE):
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
        found = Bucket(s3, S3RenditionStore(s3, ASSETS), tmp_path)

        def count(event_name: str, **_: Any) -> None:
            found.calls[event_name.split(".")[-1]] += 1

        s3.meta.events.register("before-call.s3.*", count)
        yield found


def make_site(
    folder: Path, store: S3RenditionStore, designs: Sequence[str], version: str = "1"
) -> StagedSite:
    """A staged site shaped like the real one: a gallery page of thumbnails, a page per design
    with its images, stylesheet and neighbours, the theme's assets and the indexes."""
    files: dict[str, str] = {}
    images: dict[str, str] = {}

    def write(path: str, text: str) -> None:
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        files[path] = hashlib.sha256(text.encode()).hexdigest()

    for design in designs:
        for size in ("thumb", "480w"):
            name = f"{design}-{size}.webp"
            if not store.exists(name):
                store.put(name, f"{design} {size}".encode())
            images[f"img/{name}"] = name
    cards = "".join(f'<a href="designs/{d}/"><img src="img/{d}-thumb.webp"></a>' for d in designs)
    write("index.html", f'<link href="theme/css/site.css?v={version}">{cards}')
    for i, design in enumerate(designs):
        near = [designs[j] for j in (i - 1, i + 1) if 0 <= j < len(designs)]
        links = "".join(f'<a href="../{n}/">{n}</a>' for n in near)
        write(
            f"designs/{design}/index.html",
            f'<link href="../../theme/css/site.css?v={version}"><a href="../../">home</a>'
            f'<img src="../../img/{design}-480w.webp" '
            f'srcset="../../img/{design}-thumb.webp 200w, ../../img/{design}-480w.webp 480w">'
            f'<script src="../../theme/js/app.js"></script>{links} v{version}',
        )
    write("404.html", '<link href="theme/css/site.css">not found')
    write("theme/css/site.css", f"body {{ --v: {version} }}")
    write("theme/js/app.js", "export const ready = true;")
    write("robots.txt", "User-agent: *\nAllow: /\n")
    write("sitemap.xml", "<urlset>" + "".join(f"<url>{d}</url>" for d in designs) + "</urlset>")
    write("feeds/designs.atom.xml", f"<feed>{' '.join(designs)}</feed>")
    return StagedSite(folder, files, images)


def assert_whole(bucket: Bucket, links: bool = True) -> None:
    """Every page in the bucket references files (images, assets and, with `links`, the pages
    it links to) that are there."""
    keys = set(bucket.objects())
    for key in sorted(k for k in keys if k.endswith(".html")):
        html = bucket.s3.get_object(Bucket=SITE, Key=key)["Body"].read().decode()
        for path in page_references(key, html):
            if path.endswith(".html") and not links:
                continue
            assert path in keys, f"{key} references {path}, which is not in the bucket"


DESIGNS = [f"d{n:02d}" for n in range(6)]


# --- headers ---------------------------------------------------------------------------------


def test_every_kind_of_file_gets_its_type_cache_headers_and_digest(bucket: Bucket) -> None:
    site = bucket.site(DESIGNS)
    publish_site(site, bucket.target(), now=NOW)
    expected = {
        "index.html": ("text/html; charset=utf-8", PAGE_CACHE),
        "designs/d01/index.html": ("text/html; charset=utf-8", PAGE_CACHE),
        "404.html": ("text/html; charset=utf-8", PAGE_CACHE),
        "theme/css/site.css": ("text/css; charset=utf-8", ASSET_CACHE),
        "theme/js/app.js": ("text/javascript; charset=utf-8", ASSET_CACHE),
        "robots.txt": ("text/plain; charset=utf-8", PAGE_CACHE),
        "sitemap.xml": ("application/xml; charset=utf-8", PAGE_CACHE),
        "feeds/designs.atom.xml": ("application/atom+xml; charset=utf-8", PAGE_CACHE),
        "img/d01-480w.webp": ("image/webp", IMMUTABLE),
    }
    for key, headers in expected.items():
        head = bucket.head(key)
        assert (head["ContentType"], head["CacheControl"]) == headers, key
        digest = site.images.get(key) or site.files[key]
        assert head["Metadata"] == {"nailfolio-digest": digest}
    assert PAGE_CACHE == "public, max-age=60, must-revalidate"
    assert IMMUTABLE == "public, max-age=31536000, immutable"
    assert set(bucket.objects()) == set(site.files) | set(site.images)


def test_images_are_copied_server_side_from_the_assets_bucket(
    bucket: Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = bucket.site(DESIGNS)

    def no_bytes(name: str) -> bytes:
        raise AssertionError(f"{name}: image bytes read through the process")

    monkeypatch.setattr(bucket.renditions, "get", no_bytes)
    bucket.reset_calls()
    publish_site(site, bucket.target(), now=NOW)
    assert bucket.calls["CopyObject"] == len(site.images)
    assert bucket.calls["PutObject"] == len(site.files) + 1  # and the record
    assert bucket.s3.get_object(Bucket=SITE, Key="img/d00-thumb.webp")["Body"].read() == (
        b"d00 thumb"
    )


# --- the diff ----------------------------------------------------------------------------------


def test_a_second_publish_of_the_same_site_writes_nothing_and_invalidates_nothing(
    bucket: Bucket,
) -> None:
    site = bucket.site(DESIGNS)
    publish_site(site, bucket.target(), now=NOW)
    before = bucket.snapshot()
    again = bucket.site(DESIGNS)  # the same site rendered again
    bucket.reset_calls()
    report = publish_site(again, bucket.target(), now=NOW + 5)
    assert (report.uploaded, report.deleted, report.invalidated) == (0, 0, 0)
    assert dict(bucket.calls) == {"ListObjectsV2": 1, "GetObject": 1}  # no HeadObject at all
    assert bucket.snapshot() == before
    assert bucket.cdn.asked == []


def test_a_metadata_only_change_made_by_hand_is_put_right(bucket: Bucket) -> None:
    site = bucket.site(DESIGNS)
    publish_site(site, bucket.target(), now=NOW)
    digest = {"nailfolio-digest": site.files["theme/css/site.css"]}
    time.sleep(1.05)  # LastModified counts seconds: an edit within the same second is unseen
    bucket.s3.copy_object(  # same bytes, same digest, another type: as an edit in the console
        Bucket=SITE,
        Key="theme/css/site.css",
        CopySource={"Bucket": SITE, "Key": "theme/css/site.css"},
        MetadataDirective="REPLACE",
        ContentType="text/plain",
        CacheControl=ASSET_CACHE,
        Metadata=digest,
    )
    report = publish_site(site, bucket.target(), now=NOW + 5)
    assert report.uploaded == 1
    assert bucket.head("theme/css/site.css")["ContentType"] == "text/css; charset=utf-8"


def test_a_changed_cache_rule_republishes_what_it_covers(
    bucket: Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = bucket.site(DESIGNS)
    publish_site(site, bucket.target(), now=NOW)
    monkeypatch.setattr(publish, "ASSET_CACHE", "public, max-age=120")
    plan = publish.plan_for(site, bucket.target(), now=NOW + 5)
    assert {u.path for u in plan.uploads} == {"theme/css/site.css", "theme/js/app.js"}
    assert all(u.replaces for u in plan.uploads)


def test_without_its_record_the_bucket_is_read_from_object_metadata(bucket: Bucket) -> None:
    site = bucket.site(DESIGNS)
    publish_site(site, bucket.target(), now=NOW)
    bucket.s3.delete_object(Bucket=SITE, Key=RECORD_KEY)
    bucket.reset_calls()
    report = publish_site(site, bucket.target(), now=NOW + 5)
    assert report.uploaded == 0
    assert bucket.calls["HeadObject"] == len(site.files) + len(site.images)
    assert bucket.calls["PutObject"] == 1  # the record, written again
    bucket.reset_calls()
    publish_site(site, bucket.target(), now=NOW + 10)
    assert bucket.calls["HeadObject"] == 0


def test_an_object_written_by_something_else_is_replaced(bucket: Bucket) -> None:
    site = bucket.site(DESIGNS)
    publish_site(site, bucket.target(), now=NOW)
    bucket.s3.put_object(Bucket=SITE, Key="index.html", Body=b"defaced", ContentType="text/html")
    report = publish_site(site, bucket.target(), now=NOW + 5)
    assert report.uploaded == 1
    assert bucket.s3.get_object(Bucket=SITE, Key="index.html")["Body"].read() != b"defaced"


# --- deletions ------------------------------------------------------------------------------


def test_an_old_image_is_deleted_a_publish_later_and_its_page_at_once(bucket: Bucket) -> None:
    publish_site(bucket.site(DESIGNS), bucket.target(), now=NOW)
    smaller = bucket.site(DESIGNS[:-1], version="2")
    report = publish_site(smaller, bucket.target(), now=NOW + 60)
    keys = bucket.objects()
    assert "designs/d05/index.html" not in keys  # the page: at once
    assert {"img/d05-thumb.webp", "img/d05-480w.webp"} <= set(keys)  # its images: kept
    assert (report.deleted, report.deferred) == (1, 2)
    assert_whole(bucket)
    # Too soon for the next publish to delete them: a page cached before may still show them.
    report = publish_site(smaller, bucket.target(), now=NOW + 60 + DEFER_SECONDS / 2)
    assert (report.deleted, report.deferred) == (0, 2)
    assert "img/d05-thumb.webp" in bucket.objects()
    report = publish_site(smaller, bucket.target(), now=NOW + 60 + DEFER_SECONDS)
    assert (report.deleted, report.deferred) == (2, 0)
    assert not {"img/d05-thumb.webp", "img/d05-480w.webp"} & set(bucket.objects())
    assert bucket.cdn.asked[-1] == ("/img/d05-480w.webp", "/img/d05-thumb.webp")


def test_an_image_wanted_again_is_no_longer_deferred(bucket: Bucket) -> None:
    publish_site(bucket.site(DESIGNS), bucket.target(), now=NOW)
    publish_site(bucket.site(DESIGNS[:-1], "2"), bucket.target(), now=NOW + 60)
    report = publish_site(bucket.site(DESIGNS, "3"), bucket.target(), now=NOW + 2 * DEFER_SECONDS)
    assert (report.deleted, report.deferred) == (0, 0)
    assert {"img/d05-thumb.webp", "designs/d05/index.html"} <= set(bucket.objects())
    assert bucket.target().deferred() == {}


def test_a_publish_deleting_most_of_the_site_stops_before_touching_it(bucket: Bucket) -> None:
    publish_site(bucket.site(DESIGNS), bucket.target(), now=NOW)
    before = bucket.snapshot()
    with pytest.raises(TooManyDeletions, match="--allow-deletes"):
        publish_site(bucket.site(DESIGNS[:1], "2"), bucket.target(), now=NOW + 60)
    assert bucket.snapshot() == before
    report = publish_site(bucket.site(DESIGNS[:1], "2"), bucket.target(allow_deletes=True))
    assert report.deleted == 5  # the pages of the five designs gone; their images deferred
    assert_whole(bucket)


def test_the_guard_leaves_a_small_site_alone(bucket: Bucket) -> None:
    publish_site(bucket.site(DESIGNS[:1]), bucket.target(), now=NOW)
    assert len(bucket.objects()) < publish.GUARD_MIN_FILES
    report = publish_site(bucket.site([], "2"), bucket.target(), now=NOW + 60)
    assert report.deleted == 1


# --- interrupted --------------------------------------------------------------------------


# 20 writes in all: 6 copies, 12 pages and files, 1 deletion, the record.
@pytest.mark.parametrize("limit", [0, 3, 6, 7, 12, 16, 18, 19])
def test_a_publish_stopped_after_n_writes_leaves_a_whole_site_and_the_next_finishes(
    bucket: Bucket, limit: int
) -> None:
    publish_site(bucket.site(DESIGNS), bucket.target(), now=NOW)
    # Designs added, one dropped, every page changed, the theme too.
    wanted = bucket.site([*DESIGNS[1:], "d06", "d07", "d08"], version="2")
    failing = FailingAfter(bucket.s3, limit)
    with pytest.raises(ServiceUnavailable):
        publish_site(wanted, bucket.target(failing), now=NOW + 60)
    assert failing.writes == limit
    assert_whole(bucket)
    publish_site(wanted, bucket.target(), now=NOW + 120)
    assert_whole(bucket)
    expected = set(wanted.files) | set(wanted.images) | {"img/d00-thumb.webp", "img/d00-480w.webp"}
    assert set(bucket.objects()) == expected  # d00's images: deferred
    again = publish_site(wanted, bucket.target(), now=NOW + 180)
    assert (again.uploaded, again.deleted) == (0, 0)


def test_a_first_publish_stopped_part_way_shows_no_page_without_its_files(bucket: Bucket) -> None:
    site = bucket.site(DESIGNS)
    for limit in (5, 4, 6, 7):  # each try gets a few more written, 27 writes in all
        with pytest.raises(ServiceUnavailable):
            publish_site(site, bucket.target(FailingAfter(bucket.s3, limit)), now=NOW)
        assert_whole(bucket, links=False)  # pages link to each other: some come first
    publish_site(site, bucket.target(), now=NOW)
    assert set(bucket.objects()) == set(site.files) | set(site.images)


class _Raw:
    def stream(self, **_: Any) -> Iterator[bytes]:
        yield b""


def test_the_shared_client_retries_a_throttled_write_with_backoff(tmp_path: Path) -> None:
    with mock_aws():
        clients.forget_clients()
        s3 = clients.client("s3", REGION)
        for name in (ASSETS, SITE):
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
        answers = iter([503, 503])  # then moto's own answers
        tries: list[str] = []

        def flaky(request: Any, **_: Any) -> AWSResponse | None:
            tries.append(request.url)
            status = next(answers, None)
            return AWSResponse(request.url, status, {}, _Raw()) if status else None

        store = S3RenditionStore(s3, ASSETS)
        site = make_site(tmp_path / "s", store, ["d00"])
        s3.meta.events.register("before-send.s3.PutObject", flaky)
        target = S3SiteTarget(s3, SITE, store, policy=CachePolicy())
        publish_site(site, target, now=NOW)
        assert s3.meta.config.retries == {"mode": "standard", "total_max_attempts": 3}
        assert len(tries) == len(site.files) + 1 + 2  # two answered 503, tried again
        held = s3.list_objects_v2(Bucket=SITE)["KeyCount"]
        assert held == len(site.files) + len(site.images) + 1  # and the record
        clients.forget_clients()


# --- the CDN ------------------------------------------------------------------------------


def test_only_changed_and_deleted_pages_are_invalidated_as_viewers_name_them(
    bucket: Bucket,
) -> None:
    publish_site(bucket.site(DESIGNS), bucket.target(), now=NOW)
    assert bucket.cdn.asked == []  # a first publish replaces nothing anyone has cached
    site = bucket.site(DESIGNS[:-1], "1")  # d05 withdrawn: d04 loses its neighbour
    publish_site(site, bucket.target(), now=NOW + 60)
    assert bucket.cdn.asked == [
        (
            "/",
            "/designs/d04/",
            "/designs/d04/index.html",
            "/designs/d05/",
            "/designs/d05/index.html",
            "/feeds/designs.atom.xml",
            "/index.html",
            "/sitemap.xml",
        )
    ]


def test_above_the_threshold_one_wildcard_is_invalidated(bucket: Bucket) -> None:
    publish_site(bucket.site(DESIGNS), bucket.target(), now=NOW)
    publish_site(bucket.site(DESIGNS, "2"), bucket.target(max_invalidation_paths=10), now=NOW + 1)
    assert bucket.cdn.asked == [("/*",)]


def test_a_dry_run_changes_nothing_in_the_bucket(bucket: Bucket) -> None:
    publish_site(bucket.site(DESIGNS), bucket.target(), now=NOW)
    before = bucket.snapshot()
    record = bucket.s3.get_object(Bucket=SITE, Key=RECORD_KEY)["Body"].read()
    plans: list[publish.PublishPlan] = []
    rehearsal = publish.Rehearsal(bucket.target(), plans.append, carry_out=False)
    publish_site(bucket.site(DESIGNS[1:], "2"), rehearsal, now=NOW + 60)
    assert plans and plans[0].uploads and plans[0].deletions and plans[0].invalidations
    assert bucket.snapshot() == before
    assert bucket.s3.get_object(Bucket=SITE, Key=RECORD_KEY)["Body"].read() == record
    assert bucket.cdn.asked == []


def test_cloudfront_gets_one_invalidation_and_its_status_is_read_in_any_case() -> None:
    with mock_aws():
        cloudfront = boto3.client("cloudfront", region_name="us-east-1")
        origin = {
            "Id": "site",
            "DomainName": f"{SITE}.s3.amazonaws.com",
            "S3OriginConfig": {"OriginAccessIdentity": ""},
        }
        created = cloudfront.create_distribution(
            DistributionConfig={
                "CallerReference": "test",
                "Origins": {"Quantity": 1, "Items": [origin]},
                "DefaultCacheBehavior": {
                    "TargetOriginId": "site",
                    "ViewerProtocolPolicy": "redirect-to-https",
                    "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
                },
                "Comment": "",
                "Enabled": True,
            }
        )
        distribution = created["Distribution"]["Id"]
        cdn = CloudFrontInvalidator(cloudfront, distribution)
        made = cdn.invalidate(["/", "/index.html"])
        listed = cloudfront.list_invalidations(DistributionId=distribution)
        assert [item["Id"] for item in listed["InvalidationList"]["Items"]] == [made]
        batch = cloudfront.get_invalidation(DistributionId=distribution, Id=made)
        assert batch["Invalidation"]["InvalidationBatch"]["Paths"]["Items"] == ["/", "/index.html"]
        assert cdn.completed(made)  # moto says "COMPLETED", AWS "Completed"
        cdn.wait(made, sleep=lambda _: pytest.fail("no need to wait"))
        with pytest.raises(ServiceUnavailable, match="NAILFOLIO_CLOUDFRONT_DISTRIBUTION"):
            CloudFrontInvalidator(cloudfront, "ENOSUCH").invalidate(["/"])


# --- configuration --------------------------------------------------------------------------


def _aws(tmp_path: Path, **env: str) -> config.Settings:
    base = {"NAILFOLIO_BACKEND": "aws", "AWS_REGION": REGION, "NAILFOLIO_ASSETS_BUCKET": ASSETS}
    return config.load_settings(env=base | env, root=tmp_path)


def test_the_aws_backend_publishes_to_the_site_bucket(tmp_path: Path) -> None:
    target = config.open_site_target(_aws(tmp_path, NAILFOLIO_SITE_BUCKET=SITE))
    assert isinstance(target, S3SiteTarget) and target.bucket == SITE
    assert target._cdn is None  # no distribution: a bucket alone, nothing to invalidate
    assert target.policy == CachePolicy(max_invalidation_paths=100)
    settings = _aws(
        tmp_path,
        NAILFOLIO_SITE_BUCKET=SITE,
        NAILFOLIO_CLOUDFRONT_DISTRIBUTION="E123",
        NAILFOLIO_INVALIDATION_MAX_PATHS="40",
    )
    target = config.open_site_target(settings, allow_deletes=True)
    assert isinstance(target, S3SiteTarget)
    assert isinstance(target._cdn, CloudFrontInvalidator) and target._cdn.distribution_id == "E123"
    assert target.policy == CachePolicy(allow_deletes=True, max_invalidation_paths=40)


def test_a_missing_site_bucket_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="NAILFOLIO_SITE_BUCKET is not set"):
        config.open_site_target(_aws(tmp_path))


@pytest.mark.parametrize("value", ["0", "lots", "3001"])
def test_a_bad_invalidation_threshold_is_refused(tmp_path: Path, value: str) -> None:
    settings = _aws(tmp_path, NAILFOLIO_SITE_BUCKET=SITE, NAILFOLIO_INVALIDATION_MAX_PATHS=value)
    with pytest.raises(ConfigError, match="NAILFOLIO_INVALIDATION_MAX_PATHS"):
        config.open_site_target(settings)
