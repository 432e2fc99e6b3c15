"""The build end to end on the local adapters, with a deterministic moderator."""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pillow_heif
import pytest
from conftest import MarkerModerator, Project
from PIL import ExifTags, Image

from nailfolio import config
from nailfolio.gallery import pipeline, settings
from nailfolio.gallery.images import hash_file
from nailfolio.gallery.models import Decision, Status
from nailfolio.gallery.pipeline import BuildReport, build_gallery
from nailfolio.gallery.settings import ImageSettings, ModerationSettings


def run(project: Project, **changes: object) -> BuildReport:
    settings = replace(project.settings, **changes) if changes else project.settings
    with config.open_catalog(settings) as catalog, config.open_notifier(settings) as notifier:
        return build_gallery(settings, catalog, notifier, MarkerModerator)


def page(project: Project, key: str) -> Path:
    return project.root / "output" / "designs" / key / "index.html"


def published_images(project: Project) -> set[str]:
    return set(os.listdir(project.root / "output" / "img"))


def test_cold_build_publishes_every_approved_design(project: Project) -> None:
    project.add_image("ana/red.jpg")
    project.add_image("ana/blue.png", fmt="PNG")
    report = run(project)
    assert (report.designs, report.processed, report.published) == (2, 2, 2)
    assert page(project, "ana/red").is_file()
    assert page(project, "ana/blue").is_file()
    assert MarkerModerator.calls == 2


def test_an_iphone_heic_is_published_as_webp_and_jpeg(project: Project) -> None:
    path = project.designs / "ana" / "IMG_0001.HEIC"
    path.parent.mkdir(parents=True)
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # held sideways: irot in the container, as on iPhones
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = "2026:03:01 10:20:30"
    photo = Image.new("RGB", (1200, 900), (0, 120, 160))  # red 0: the moderator passes it
    pillow_heif.from_pillow(photo).save(path, exif=exif.tobytes())  # bytes: irot too
    report = run(project)
    assert (report.designs, report.published, report.problems) == (1, 1, ())
    assert "1 March 2026" in page(project, "ana/img-0001").read_text()  # its EXIF date
    published = published_images(project)
    assert {Path(name).suffix for name in published} == {".webp", ".jpg"}
    for name in published:
        with Image.open(project.root / "output" / "img" / name) as out:
            assert out.format in ("WEBP", "JPEG")
            assert out.height > out.width  # upright: portrait
            assert len(out.getexif()) == 0


def test_a_heic_refused_before_heic_was_accepted_gets_another_try(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = project.designs / "ana" / "IMG_0002.HEIC"
    path.parent.mkdir(parents=True)
    pillow_heif.from_pillow(Image.new("RGB", (600, 400), (0, 120, 160))).save(path)
    with monkeypatch.context() as older:
        older.setattr(settings, "ACCEPTED_VERSION", settings.ACCEPTED_VERSION - 1)
        caps = project.settings.images.input_fingerprint()
    with config.open_catalog(project.settings) as catalog:
        old_reason = "unsupported image type (looks like HEIC; export it as JPEG)"
        catalog.put_refusal(hash_file(path), caps, old_reason)
    report = run(project)
    assert (report.processed, report.published, report.problems) == (1, 1, ())


def test_rebuild_with_nothing_changed_does_no_image_work(project: Project) -> None:
    project.add_image("ana/red.jpg")
    project.add_image("bea/gold.jpg")
    run(project)
    MarkerModerator.calls = 0
    report = run(project)
    assert (report.processed, report.reused, report.published) == (0, 2, 2)
    assert MarkerModerator.calls == 0


def test_adding_one_image_processes_only_that_image(project: Project) -> None:
    project.add_image("ana/red.jpg")
    run(project)
    project.add_image("ana/green.jpg", colour=(20, 160, 90))
    report = run(project)
    assert (report.processed, report.reused, report.published) == (1, 1, 2)


def test_image_replaced_under_the_same_name_is_picked_up(project: Project) -> None:
    path = project.add_image("ana/red.jpg", colour=(220, 30, 40))
    run(project)
    before = published_images(project)
    project.add_image("ana/red.jpg", colour=(30, 30, 220), size=(1000, 1000))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    report = run(project)
    assert report.processed == 1
    after = published_images(project)
    assert before.isdisjoint(after), "new content must get new content-hashed names"


def test_removed_image_disappears_from_pages_and_output(project: Project) -> None:
    project.add_image("ana/red.jpg")
    gone = project.add_image("ana/gone.jpg", colour=(10, 200, 10))
    run(project)
    assert page(project, "ana/gone").is_file()
    images_before = published_images(project)
    gone.unlink()
    report = run(project)
    assert report.published == 1
    assert not page(project, "ana/gone").exists()
    assert len(published_images(project)) < len(images_before)
    index = (project.root / "output" / "index.html").read_text()
    assert "ana/gone" not in index


def test_changing_an_image_setting_rerenders_without_remoderating(project: Project) -> None:
    project.add_image("ana/red.jpg")
    run(project)
    MarkerModerator.calls = 0
    report = run(project, images=ImageSettings(webp_quality=60))
    assert report.processed == 1
    assert MarkerModerator.calls == 0


def test_rejected_and_needs_review_are_not_published_and_notify_admins(project: Project) -> None:
    project.add_image("ana/ok.jpg")
    project.add_image("ana/bad.jpg", marker=255)
    project.add_image("ana/maybe.jpg", marker=128)
    report = run(project)
    assert (report.published, report.rejected, report.needs_review) == (1, 1, 1)
    assert not page(project, "ana/bad").exists()
    assert not page(project, "ana/maybe").exists()
    with config.open_notifier(project.settings) as outbox:
        subjects = [n.subject for n in outbox.list_notifications()]
    assert sorted(subjects) == ["Design ana/bad was rejected", "Design ana/maybe needs review"]
    run(project)  # a rebuild reuses the decisions and sends nothing twice
    with config.open_notifier(project.settings) as outbox:
        assert len(outbox.list_notifications()) == 2


def test_admin_approval_publishes_a_design_the_moderator_held_back(project: Project) -> None:
    project.add_image("ana/maybe.jpg", marker=128)
    run(project)
    with config.open_catalog(project.settings) as catalog:
        held = catalog.latest_decision("ana/maybe")
        assert held is not None and held.status is Status.NEEDS_REVIEW
        catalog.record_decision(
            Decision("ana/maybe", held.content_hash, Status.APPROVED, "admin", decided_by="ed")
        )
    report = run(project)
    assert report.published == 1
    assert page(project, "ana/maybe").is_file()


def test_one_bad_file_is_reported_and_the_rest_still_build(project: Project) -> None:
    project.add_image("ana/red.jpg")
    (project.designs / "ana" / "notes.jpg").write_text("shopping list: top coat, glitter\n")
    truncated = project.add_image("ana/broken.jpg")
    truncated.write_bytes(truncated.read_bytes()[:2000])
    report = run(project)
    assert report.published == 1
    reasons = {p.path: p.reason for p in report.problems}
    assert set(reasons) == {"content/designs/ana/notes.jpg", "content/designs/ana/broken.jpg"}
    assert "text" in reasons["content/designs/ana/notes.jpg"]


def test_oversize_file_is_refused_before_it_is_read(project: Project) -> None:
    project.add_image("ana/huge.jpg", size=(1500, 1500))
    report = run(project, images=ImageSettings(max_file_bytes=1000))
    assert report.published == 0
    assert "limit" in report.problems[0].reason


@pytest.mark.slow
def test_process_pool_build_matches_inline_build(project: Project) -> None:
    for i in range(4):
        project.add_image(f"ana/design-{i}.jpg", colour=(40 * i, 100, 150))
    project.add_image("ana/bad.jpg", marker=255)
    report = run(project, workers=2)
    assert (report.processed, report.published, report.rejected) == (5, 4, 1)
    assert run(project, workers=2).processed == 0


def test_reverting_an_image_restores_its_earlier_decision(project: Project) -> None:
    path = project.add_image("ana/red.jpg")
    original = path.read_bytes()
    run(project)
    project.add_image("ana/red.jpg", marker=255, size=(1100, 900))
    assert run(project).rejected == 1
    path.write_bytes(original)
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 2 * 10**9))
    report = run(project)
    assert (report.processed, report.published, report.rejected) == (0, 1, 0)
    with config.open_catalog(project.settings) as catalog:
        latest = catalog.latest_decision("ana/red")
    assert latest is not None and latest.status is Status.APPROVED
    assert latest.reason == "image reverted to this version"


def test_new_thresholds_retake_automatic_decisions_without_the_model(project: Project) -> None:
    project.add_image("ana/maybe.jpg", marker=128)  # about 50%: needs review by default
    project.add_image("ana/held.jpg", marker=128)
    assert run(project).needs_review == 2
    with config.open_catalog(project.settings) as catalog:
        held = catalog.latest_decision("ana/held")
        assert held is not None
        catalog.record_decision(replace(held, status=Status.REJECTED, decided_by="ed"))
    MarkerModerator.calls = 0
    lenient = ModerationSettings(review_at=60, reject_at=90)
    report = run(project, moderation=lenient)
    assert (report.published, report.rejected, MarkerModerator.calls) == (1, 1, 0)
    with config.open_catalog(project.settings) as catalog:
        latest = catalog.latest_decision("ana/maybe")
        assert latest is not None and latest.reason == "moderation thresholds changed"
        overridden = catalog.latest_decision("ana/held")
        assert overridden is not None and overridden.decided_by == "ed"  # admins win
    strict = ModerationSettings(review_at=20, reject_at=45)
    assert run(project, moderation=strict).rejected == 2
    subjects = [n.subject for n in config.open_notifier(project.settings).list_notifications()]
    assert subjects[0] == "Design ana/maybe was rejected"


def outcomes_add_up(report: BuildReport) -> bool:
    outcomes = report.published + report.rejected + report.needs_review + report.invalid
    return outcomes == report.designs


def test_a_bad_sidecar_is_a_warning_on_a_published_design(project: Project) -> None:
    project.add_image("ana/red.jpg")
    (project.designs / "ana" / "red.md").write_text("Title: Red\nDate: 31/02/2026\n")
    report = run(project)
    assert (report.published, report.invalid, report.problems) == (1, 0, ())
    assert [str(w) for w in report.warnings] == [
        "content/designs/ana/red.md: Date: '31/02/2026' is not a date; "
        "use YYYY-MM-DD, or YYYY-MM-DD HH:MM"
    ]
    assert outcomes_add_up(report)


def test_every_design_found_is_counted_once(project: Project, tmp_path: Path) -> None:
    project.add_image("ana/red.jpg")
    project.add_image("ana/bad.jpg", marker=255)
    (project.designs / "ana" / "notes.jpg").write_text("not a picture")
    (project.designs / "ana" / "linked.jpg").symlink_to(project.add_image("../../elsewhere.jpg"))
    (project.designs / "ana" / "red.md").write_text("Date: 31/02/2026\n")
    report = run(project)
    counts = (report.designs, report.published, report.rejected, report.invalid)
    assert counts == (4, 1, 1, 2)
    assert (len(report.warnings), outcomes_add_up(report)) == (1, True)


def test_an_unusable_file_is_remembered_until_it_changes(project: Project) -> None:
    project.add_image("ana/red.jpg")
    broken = project.add_image("ana/broken.jpg")
    broken.write_bytes(broken.read_bytes()[:2000])
    first = run(project)
    assert (first.processed, [p.reason for p in first.problems]) == (
        2,
        ["truncated or corrupt image data"],
    )
    again = run(project)
    assert (again.processed, again.reused, again.problems) == (0, 1, first.problems)
    os.utime(broken, ns=(broken.stat().st_atime_ns, broken.stat().st_mtime_ns + 10**9))
    assert run(project).processed == 0  # touched, same bytes: still known to be broken
    project.add_image("ana/broken.jpg", colour=(10, 10, 200))  # fixed
    fixed = run(project)
    assert (fixed.processed, fixed.published, fixed.problems) == (1, 2, ())


def test_raising_a_cap_retries_an_image_refused_under_the_old_one(project: Project) -> None:
    project.add_image("ana/big.jpg", size=(1500, 1500))
    tight = ImageSettings(max_pixels=1_000_000)
    assert [p.reason for p in run(project, images=tight).problems] == [
        "image is 1500x1500 pixels, over the 1 MP limit"
    ]
    again = run(project, images=tight)
    assert (again.processed, again.invalid) == (0, 1)
    raised = run(project, images=ImageSettings(max_pixels=4_000_000))
    assert (raised.processed, raised.published, raised.invalid) == (1, 1, 0)


def design_title(project: Project, key: str) -> str:
    html = page(project, key).read_text()
    return html.split('<h1 class="design__title">', 1)[1].split("</h1>", 1)[0]


def test_camera_named_photos_get_the_designer_and_date_as_title(project: Project) -> None:
    from PIL import ExifTags, Image

    project.add_image("ana/PXL_20260301_123456789.jpg")  # no EXIF: the day in its name
    project.add_image("ana/IMG_2041.jpg")
    (project.designs / "ana" / "IMG_2041.md").write_text("Date: 2026-03-01\nTags: red\n")
    shot = project.add_image("bea/DSC_0042.JPG")
    exif = Image.Exif()
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = "2026:02:14 10:00:00"
    with Image.open(shot) as image:
        image.load()
        image.save(shot, "JPEG", exif=exif)
    unknown = project.add_image("bea/IMG_0007.jpg")
    os.utime(unknown, (1772704800, 1772704800))  # 5 March 2026, noon UTC: no other date
    assert run(project).published == 4
    assert design_title(project, "ana/img-2041") == "Design by Ana, 1 March 2026"
    assert design_title(project, "ana/pxl-20260301-123456789") == "Design by Ana, 1 March 2026 (2)"
    assert design_title(project, "bea/dsc-0042") == "Design by Bea, 14 February 2026"
    assert design_title(project, "bea/img-0007") == "Design by Bea, 5 March 2026"
    gallery = (project.root / "output" / "index.html").read_text()
    assert "Design by Bea, 14 February 2026" in gallery and "IMG 2041" not in gallery


def test_a_failing_notifier_is_logged_and_the_build_goes_on(
    project: Project, caplog: pytest.LogCaptureFixture
) -> None:
    from nailfolio.errors import ServiceUnavailable

    class Unreachable:
        def notify(self, subject: str, body: str, tags: object = ()) -> None:
            raise ServiceUnavailable("SNS Publish on the admins' topic failed (Throttling)")

    project.add_image("ana/ok.jpg")
    project.add_image("ana/maybe.jpg", marker=128)
    with config.open_catalog(project.settings) as catalog, caplog.at_level("WARNING"):
        report = build_gallery(project.settings, catalog, Unreachable(), lambda: MarkerModerator())
        held = catalog.latest_decision("ana/maybe")
    assert (report.published, report.needs_review) == (1, 1)
    assert held is not None and held.status is Status.NEEDS_REVIEW
    assert not page(project, "ana/maybe").exists()
    assert "ana/maybe needs review, but the admins could not be told: SNS Publish" in caplog.text


def test_a_file_removed_after_the_scan_is_a_problem_and_the_rest_still_build(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.add_image("ana/red.jpg")
    gone = project.add_image("ana/gone.jpg", colour=(20, 160, 90))
    saved = gone.read_bytes()
    real_scan = pipeline.scan_designs

    def scan_then_remove(*args: object, **kwargs: object) -> object:
        scan = real_scan(*args, **kwargs)
        gone.unlink()  # a designer tidying up while the build runs
        return scan

    monkeypatch.setattr(pipeline, "scan_designs", scan_then_remove)
    report = run(project)
    assert report.published == 1
    assert [str(p) for p in report.problems] == [
        "content/designs/ana/gone.jpg: no such file; it was removed or renamed"
    ]
    monkeypatch.undo()
    gone.write_bytes(saved)  # not remembered as a refusal: the file put back is published
    assert run(project).published == 2


def test_touched_designs_are_hashed_on_threads_and_no_worker_process_starts(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Files touched (a sync tool, a re-export of the same bytes) must be read again to learn
    # their hashes, but the bytes are known: that is the whole build's work, done on the
    # build's own threads, with no worker process forked for it.
    paths = [project.add_image(f"ana/design-{i}.jpg", colour=(50 * i, 100, 150)) for i in range(4)]
    assert run(project, workers=2).processed == 4
    for path in paths:
        os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    threads: set[str] = set()
    real_hash = pipeline.ingest.hash_content

    def noting_thread(*args: object) -> str:
        threads.add(threading.current_thread().name)
        time.sleep(0.05)  # long enough for the other thread to take the next file
        return real_hash(*args)

    def no_pool(*args: object, **kwargs: object) -> None:
        raise AssertionError("a worker process was started for hashing alone")

    monkeypatch.setattr(pipeline.ingest, "hash_content", noting_thread)
    monkeypatch.setattr(pipeline, "ProcessPoolExecutor", no_pool)
    report = run(project, workers=2)
    assert (report.processed, report.reused, report.published) == (0, 4, 4)
    assert len(threads) == 2 and threading.current_thread().name not in threads


def test_a_build_on_renditions_in_a_bucket_publishes_their_images(project: Project) -> None:
    """The render checks variants against the rendition store it is given (not var/), and
    publish takes the images from it: here the private assets bucket, on moto."""
    from moto import mock_aws
    from moto_dynamodb import REGION

    from nailfolio.aws.clients import client
    from nailfolio.aws.s3_rendition_store import S3RenditionStore

    project.add_image("ana/red.jpg")
    with mock_aws():
        s3 = client("s3", REGION)
        s3.create_bucket(Bucket="assets", CreateBucketConfiguration={"LocationConstraint": REGION})
        bucket = S3RenditionStore(s3, "assets")
        with (
            config.open_catalog(project.settings) as catalog,
            config.open_notifier(project.settings) as notifier,
        ):
            report = build_gallery(
                project.settings, catalog, notifier, MarkerModerator, rendition_store=bucket
            )
        assert (report.published, report.problems) == (1, ())
        assert page(project, "ana/red").is_file()
        names = bucket.names()
        assert published_images(project) == names and len(names) == 5  # a small image
        one = sorted(names)[0]
        assert (project.root / "output" / "img" / one).read_bytes() == bucket.get(one)
    assert not (project.settings.renditions_dir).exists()  # nothing went through var/


POOL_AFTER_LIBVIPS = """
import sys
from PIL import Image
from nailfolio.gallery.scaling import ScaleChain
# libvips starts its thread pool in this process, as an in-process build does (one image,
# or NAILFOLIO_WORKERS=1) before `serve --watch` rebuilds many with a process pool
ScaleChain(Image.new("RGB", (3000, 2000), (9, 9, 9))).scaled(1500, 1000)
from nailfolio.cli import main
main(["--root", sys.argv[1], "build", "--quiet", "--workers", "2"])
"""


@pytest.mark.slow
def test_a_pool_build_after_libvips_ran_in_the_same_process_finishes(project: Project) -> None:
    """A forked worker inherits libvips's state but not its threads, and waited for them
    for ever: the pool's workers must start clean."""
    import signal
    import subprocess
    import sys

    for i in range(3):
        project.add_image(f"ana/design-{i}.jpg", colour=(60 * i, 100, 150))
    build = subprocess.Popen(
        [sys.executable, "-c", POOL_AFTER_LIBVIPS, str(project.root)],
        start_new_session=True,  # so a hung pool is killed with it
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        output, _ = build.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        os.killpg(build.pid, signal.SIGKILL)
        build.communicate()
        pytest.fail("the pool build hung after libvips had run in its process")
    assert build.returncode == 0, output
    assert all(page(project, f"ana/design-{i}").is_file() for i in range(3)), output


class _FailingOnBlue(MarkerModerator):
    """Fails on a blue picture, as a model could break on one image mid-build."""

    def detect_labels(self, image: Image.Image) -> tuple:
        if image.convert("RGB").getpixel((image.width // 2, image.height // 2))[2] > 240:
            raise RuntimeError("the model broke")
        return super().detect_labels(image)


def test_a_build_that_fails_mid_way_keeps_the_decisions_it_made(project: Project) -> None:
    # Outcomes are recorded as they come, not after every image is done.
    for name in ("a", "b"):
        project.add_image(f"ana/{name}.jpg")
    project.add_image("ana/z.jpg", colour=(0, 0, 255))
    settings = replace(project.settings, workers=1)  # in order: a, b, then z fails
    with config.open_catalog(settings) as catalog, config.open_notifier(settings) as notifier:
        with pytest.raises(RuntimeError, match="the model broke"):
            build_gallery(settings, catalog, notifier, _FailingOnBlue)
        decided = {d.key: d.status for d in catalog.latest_decisions()}
    assert decided == {"ana/a": Status.APPROVED, "ana/b": Status.APPROVED}
    assert run(project).processed == 1  # the next build does only what was left


class _NotingPid(MarkerModerator):
    """Notes which process moderated each picture, in the folder NOTED_PIDS names."""

    def detect_labels(self, image: Image.Image) -> tuple:
        folder = Path(os.environ["NOTED_PIDS"])
        (folder / f"{os.getpid()}-{len(list(folder.iterdir()))}-{id(image)}").touch()
        return super().detect_labels(image)


def test_the_builds_own_process_gets_ready_to_render_while_the_pool_finishes() -> None:
    # Once no item is left for this process, it prepares for the render (lets go of its
    # model, imports Pelican) while the pool's last items still run, not after them.
    released, seen = threading.Event(), []

    def run(item: int) -> int:
        if item == 0:  # the pool's first item is the last to finish
            released.wait(10)
        return item

    def drained() -> None:
        seen.append("drained")
        released.set()

    with ThreadPoolExecutor(1) as pool:
        pipeline._work_through([0, 1, 2, 3], run, pool, 2, lambda _, got: seen.append(got), drained)
    assert sorted(x for x in seen if x != "drained") == [0, 1, 2, 3]
    assert seen.count("drained") == 1
    assert seen.index("drained") < seen.index(0)


def test_without_a_pool_nothing_waits_and_nothing_is_drained_early() -> None:
    seen: list[object] = []
    pipeline._work_through(
        [0, 1, 2],
        lambda x: x,
        None,
        1,
        lambda _, got: seen.append(got),
        lambda: seen.append("drained"),
    )
    assert seen == [0, 1, 2]


@pytest.mark.slow
def test_the_builds_own_process_is_one_of_its_image_workers(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two workers: one pool process and the build's own, which would otherwise sit idle
    # holding its memory; each does part of the jobs, and every job is done once.
    noted = tmp_path / "pids"
    noted.mkdir()
    monkeypatch.setenv("NOTED_PIDS", str(noted))
    for i in range(8):
        project.add_image(f"ana/design-{i}.jpg", colour=(30 * i, 100, 150))
    settings = replace(project.settings, workers=2)
    with config.open_catalog(settings) as catalog, config.open_notifier(settings) as notifier:
        report = build_gallery(settings, catalog, notifier, _NotingPid)
    assert (report.processed, report.published) == (8, 8)
    pids = [int(name.name.split("-")[0]) for name in noted.iterdir()]
    assert len(pids) == 8
    assert os.getpid() in pids and len(set(pids)) == 2
    assert pipeline._worker_moderator is None  # its model let go of after the jobs
