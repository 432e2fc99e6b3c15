"""Plans for a target behind caches: headers by kind of file, deletions deferred and guarded,
and the CDN paths to invalidate (the domain side; tests/test_s3_site_target.py carries them
out on moto)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from nailfolio.errors import TooManyDeletions
from nailfolio.gallery.publish import (
    ASSET_CACHE,
    DEFER_SECONDS,
    PAGE_CACHE,
    CachedSiteTarget,
    CachePolicy,
    PublishPlan,
    cache_control,
    invalidation_paths,
    object_headers,
    plan_publish,
    publish_site,
    viewer_paths,
)
from nailfolio.gallery.render import StagedSite
from nailfolio.gallery.rendition_store import CACHE_CONTROL as IMMUTABLE

NOW = 1_800_000_000.0
POLICY = CachePolicy(max_invalidation_paths=100)


def site(pages: int, images: int) -> StagedSite:
    files = {f"designs/d{n}/index.html": f"p{n}" for n in range(pages)}
    files |= {"index.html": "home", "theme/css/site.css": "css"}
    pictures = {f"img/i{n}.webp": f"i{n}.webp" for n in range(images)}
    return StagedSite(Path("/stage"), files, pictures)


def held(staged: StagedSite) -> dict[str, str]:
    return {**staged.files, **staged.images}


@pytest.mark.parametrize(
    ("path", "cache"),
    [
        ("img/ab-480w.webp", IMMUTABLE),
        ("index.html", PAGE_CACHE),
        ("designs/ana/red/index.html", PAGE_CACHE),
        ("feeds/designs.atom.xml", PAGE_CACHE),
        ("sitemap.xml", PAGE_CACHE),
        ("robots.txt", PAGE_CACHE),
        ("404.html", PAGE_CACHE),
        ("theme/css/site.css", ASSET_CACHE),
        ("theme/favicon.svg", ASSET_CACHE),
    ],
)
def test_cache_control_by_kind_of_file(path: str, cache: str) -> None:
    assert cache_control(path) == cache


def test_uploads_carry_their_headers() -> None:
    plan = plan_publish(site(1, 1), {})
    assert {u.path: (u.content_type, u.cache_control) for u in plan.uploads} == {
        path: object_headers(path) for path in held(site(1, 1))
    }
    assert object_headers("img/i0.webp") == ("image/webp", IMMUTABLE)


def test_without_a_policy_everything_unwanted_goes_at_once() -> None:
    plan = plan_publish(site(1, 1), held(site(2, 2)))
    assert plan.deletions == ("designs/d1/index.html", "img/i1.webp")
    assert (plan.deferred, plan.invalidations) == ({}, ())


def test_a_cached_target_defers_what_pages_load_and_deletes_pages_at_once() -> None:
    plan = plan_publish(site(1, 1), held(site(2, 2)), policy=POLICY, deferred={}, now=NOW)
    assert plan.deletions == ("designs/d1/index.html",)
    assert plan.deferred == {"img/i1.webp": NOW}
    assert plan.deferred_changed and not plan.empty


def test_a_deferred_file_goes_once_it_has_waited_long_enough() -> None:
    published, noted = held(site(2, 2)), {"img/i1.webp": NOW}
    early = plan_publish(site(2, 1), published, policy=POLICY, deferred=noted, now=NOW + 1)
    assert (early.deletions, early.deferred, early.empty) == ((), noted, True)
    due = plan_publish(
        site(2, 1), published, policy=POLICY, deferred=noted, now=NOW + DEFER_SECONDS
    )
    assert (due.deletions, due.deferred) == (("img/i1.webp",), {})
    assert due.invalidations == ("/img/i1.webp",)  # a deleted file leaves the CDN too


@pytest.mark.parametrize(
    ("site_files", "kept", "stops"),
    [
        (40, 20, False),  # half of the site: goes
        (40, 19, True),  # 21 of 40 files gone: stops
        (40, 1, True),
        (20, 10, False),
        (20, 9, True),
        (19, 1, False),  # a small site is left alone
    ],
)
def test_the_max_deletes_guard(site_files: int, kept: int, stops: bool) -> None:
    published = {f"designs/d{n}/index.html": f"p{n}" for n in range(site_files)}
    wanted = StagedSite(Path("/s"), dict(list(published.items())[:kept]), {})
    if stops:
        with pytest.raises(TooManyDeletions, match="--allow-deletes"):
            plan_publish(wanted, published, policy=POLICY, deferred={}, now=NOW)
        allowed = CachePolicy(allow_deletes=True)
        plan = plan_publish(wanted, published, policy=allowed, deferred={}, now=NOW)
        assert len(plan.deletions) == site_files - kept
    else:
        plan_publish(wanted, published, policy=POLICY, deferred={}, now=NOW)


def test_the_guard_stops_at_more_than_half() -> None:
    published = {f"designs/d{n}/index.html": f"p{n}" for n in range(40)}
    half = StagedSite(Path("/s"), dict(list(published.items())[:20]), {})
    plan_publish(half, published, policy=POLICY, deferred={}, now=NOW)  # 20 of 40: goes
    fewer = StagedSite(Path("/s"), dict(list(published.items())[:19]), {})
    with pytest.raises(TooManyDeletions, match="21 of the site's 40 files"):
        plan_publish(fewer, published, policy=POLICY, deferred={}, now=NOW)


def test_files_already_deferred_are_not_counted_twice_by_the_guard() -> None:
    published = {f"img/i{n}.webp": f"i{n}.webp" for n in range(30)} | {"index.html": "h"}
    noted = {f"img/i{n}.webp": NOW for n in range(20)}  # withdrawn by an earlier publish
    wanted = StagedSite(
        Path("/s"), {"index.html": "h"}, {f"img/i{n}.webp": f"i{n}.webp" for n in range(20, 30)}
    )
    plan = plan_publish(wanted, published, policy=POLICY, deferred=noted, now=NOW + 1)
    assert plan.deferred == noted


@pytest.mark.parametrize(
    ("path", "seen"),
    [
        ("index.html", ("/", "/index.html")),
        ("designs/ana/red/index.html", ("/designs/ana/red/", "/designs/ana/red/index.html")),
        ("404.html", ("/404.html",)),
        ("sitemap.xml", ("/sitemap.xml",)),
        ("tags/nail art/index.html", ("/tags/nail%20art/", "/tags/nail%20art/index.html")),
    ],
)
def test_viewer_paths(path: str, seen: tuple[str, ...]) -> None:
    assert viewer_paths(path) == seen


def test_invalidation_lists_replaced_and_deleted_files_never_new_ones() -> None:
    published = held(site(3, 2))
    wanted = site(4, 3)  # d3 and i2 are new
    changed = {**wanted.files, "index.html": "home 2", "theme/css/site.css": "css 2"}
    staged = StagedSite(Path("/stage"), changed, wanted.images)
    plan = plan_publish(staged, published, policy=POLICY, deferred={}, now=NOW)
    assert plan.invalidations == ("/", "/index.html", "/theme/css/site.css")


def test_invalidation_collapses_to_one_wildcard_above_the_threshold() -> None:
    uploads = plan_publish(site(60, 0), {p: "old" for p in held(site(60, 0))}).uploads
    assert len(invalidation_paths(uploads, (), 123)) == 123  # 60 pages twice, home twice, css
    assert invalidation_paths(uploads, (), 122) == ("/*",)
    assert invalidation_paths((), (), 1) == ()


class MemoryTarget:
    """A cached target in memory: what it holds, its deferred deletions, the plans it got."""

    def __init__(self, files: Mapping[str, str], deferred: Mapping[str, float]) -> None:
        self.files, self.noted = dict(files), dict(deferred)
        self.policy = POLICY
        self.applied: list[PublishPlan] = []

    def published(self) -> Mapping[str, str]:
        return self.files

    def deferred(self) -> Mapping[str, float]:
        return self.noted

    def apply(self, plan: PublishPlan) -> None:
        self.applied.append(plan)


def test_a_cached_target_is_asked_to_apply_even_an_empty_plan() -> None:
    target = MemoryTarget(held(site(1, 1)), {})
    assert isinstance(target, CachedSiteTarget)
    report = publish_site(site(1, 1), target, now=NOW)
    assert [plan.empty for plan in target.applied] == [True]
    assert (report.uploaded, report.deleted, report.invalidated) == (0, 0, 0)
