"""`content sync`: the local content/ folder uploaded to the content bucket (S3 on moto) by
content hash, deletions only when asked, refusals with their reasons."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner, Result
from conftest import Project
from moto import mock_aws

from nailfolio import cli
from nailfolio.aws import clients
from nailfolio.aws.s3_content_bucket import S3ContentBucket
from nailfolio.config import load_settings
from nailfolio.gallery.content_sync import plan_sync, run_sync
from nailfolio.local.folder_content_store import FolderContentStore

BUCKET = "nailfolio-content"
REGION = "eu-west-1"


@dataclass
class Synced:
    """A project whose settings point at a content bucket on moto."""

    project: Project
    s3: Any
    env: dict[str, str]

    def sync(self, *args: str) -> Result:
        settings = load_settings(env=self.env, root=self.project.root)
        return CliRunner().invoke(cli.main, ["content", "sync", "--quiet", *args], obj=settings)

    def stored(self) -> list[str]:
        listing = self.s3.list_objects_v2(Bucket=BUCKET)
        return sorted(item["Key"] for item in listing.get("Contents", []))

    def write(self, rel: str, data: bytes) -> Path:
        path = self.project.designs / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path


@pytest.fixture
def synced(project: Project) -> Iterator[Synced]:
    env = {
        "NAILFOLIO_BACKEND": "aws",
        "NAILFOLIO_AWS_REGION": REGION,
        "NAILFOLIO_CONTENT_BUCKET": BUCKET,
    }
    with mock_aws():
        clients.forget_clients()  # the command's client is made under this mock
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        project.add_image("ana/red.jpg")
        (project.designs / "ana" / "red.md").write_text("Title: Red\n")
        project.add_image("bo/blue.png", fmt="PNG")
        yield Synced(project, s3, env)
    clients.forget_clients()


def test_the_first_sync_uploads_every_file(synced: Synced) -> None:
    result = synced.sync()
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "3 uploaded, 0 unchanged, 0 deleted"
    assert synced.stored() == ["designs/ana/red.jpg", "designs/ana/red.md", "designs/bo/blue.png"]
    local = (synced.project.designs / "ana" / "red.jpg").read_bytes()
    head = synced.s3.head_object(Bucket=BUCKET, Key="designs/ana/red.jpg")
    assert head["Metadata"]["sha256"] == hashlib.sha256(local).hexdigest()


def test_a_second_sync_uploads_nothing(synced: Synced) -> None:
    synced.sync()
    result = synced.sync()
    assert result.output.strip() == "0 uploaded, 3 unchanged, 0 deleted"


def test_a_changed_file_is_uploaded_again_even_with_its_old_time(synced: Synced) -> None:
    synced.sync()
    path = synced.write("ana/red.md", b"Title: Crimson\n")  # the same size would do as well
    os.utime(path, ns=(0, 0))  # compared by content, never by time
    result = synced.sync()
    assert result.output.strip() == "1 uploaded, 2 unchanged, 0 deleted"
    body = synced.s3.get_object(Bucket=BUCKET, Key="designs/ana/red.md")["Body"].read()
    assert body == b"Title: Crimson\n"


def test_a_same_size_change_is_noticed(synced: Synced) -> None:
    synced.write("ana/notes.md", b"aaaa")
    synced.sync()
    synced.write("ana/notes.md", b"bbbb")
    assert synced.sync().output.strip() == "1 uploaded, 3 unchanged, 0 deleted"


def test_a_file_only_in_the_bucket_is_kept_without_delete_and_removed_with_it(
    synced: Synced,
) -> None:
    synced.sync()
    synced.s3.put_object(Bucket=BUCKET, Key="designs/ana/gone.jpg", Body=b"old")
    kept = synced.sync()
    assert kept.output.strip() == (
        "0 uploaded, 3 unchanged, 0 deleted (1 only in the bucket: pass --delete to remove)"
    )
    assert "designs/ana/gone.jpg" in synced.stored()
    removed = synced.sync("--delete")
    assert removed.output.strip() == "0 uploaded, 3 unchanged, 1 deleted"
    assert "designs/ana/gone.jpg" not in synced.stored()


def test_dry_run_prints_the_plan_and_changes_nothing(synced: Synced) -> None:
    synced.s3.put_object(Bucket=BUCKET, Key="designs/ana/gone.jpg", Body=b"old")
    result = synced.sync("--dry-run", "--delete")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("upload  designs/ana/red.md  (new, ")  # sidecars first
    assert "delete  designs/ana/gone.jpg" in lines
    assert lines[-1] == "dry run: 3 to upload, 0 unchanged, 1 to delete"
    assert synced.stored() == ["designs/ana/gone.jpg"]


def test_links_and_misplaced_files_are_refused_with_the_reason(synced: Synced) -> None:
    outside = synced.project.root / "secret.jpg"
    outside.write_bytes(b"not for the bucket")
    os.symlink(outside, synced.project.designs / "ana" / "linked.jpg")
    (synced.project.designs / "stray.jpg").write_bytes(b"x")
    synced.write("ana/old/deep.jpg", b"x")
    synced.write("ana/.DS_Store", b"x")  # hidden: skipped without a word, as the scan does
    result = CliRunner().invoke(
        cli.main,
        ["content", "sync", "--quiet"],
        obj=load_settings(env=synced.env, root=synced.project.root),
    )
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        "refused content/designs/ana/linked.jpg: is a symbolic link; copy the file in instead",
        "refused content/designs/ana/old: sub-folders are not scanned; move its images up "
        "into designs/ana/",
        "refused content/designs/stray.jpg: not in a designer folder; move it into "
        "content/designs/<designer>/",
    ]
    assert result.stdout.strip() == "3 uploaded, 0 unchanged, 0 deleted, 3 refused"
    assert synced.stored() == ["designs/ana/red.jpg", "designs/ana/red.md", "designs/bo/blue.png"]


def test_a_refused_local_file_is_never_deleted_from_the_bucket(synced: Synced) -> None:
    synced.s3.put_object(Bucket=BUCKET, Key="designs/ana/linked.jpg", Body=b"earlier upload")
    os.symlink(
        synced.project.designs / "ana" / "red.jpg", synced.project.designs / "ana" / "linked.jpg"
    )
    result = synced.sync("--delete")
    assert "0 deleted, 1 refused" in result.output
    assert "designs/ana/linked.jpg" in synced.stored()


def test_a_file_bigger_than_ingest_takes_is_refused(synced: Synced) -> None:
    synced.env["NAILFOLIO_MAX_FILE_MB"] = "0.01"  # about 10 KB: the images are bigger
    result = CliRunner().invoke(
        cli.main,
        ["content", "sync", "--quiet"],
        obj=load_settings(env=synced.env, root=synced.project.root),
    )
    assert (
        "refused content/designs/ana/red.jpg: larger than the 0.01 MB an image may be "
        "(NAILFOLIO_MAX_FILE_MB)"
    ) in result.stderr
    assert synced.stored() == ["designs/ana/red.md", "designs/bo/blue.png"]  # a flat PNG: tiny


def test_an_object_without_an_md5_etag_is_compared_by_its_stored_sha256(synced: Synced) -> None:
    data = b"Title: Red\n"
    for key, metadata in (
        ("designs/ana/red.md", {"sha256": hashlib.sha256(data).hexdigest()}),
        ("designs/bo/blue.md", {}),
    ):
        upload = synced.s3.create_multipart_upload(Bucket=BUCKET, Key=key, Metadata=metadata)
        part = synced.s3.upload_part(
            Bucket=BUCKET, Key=key, UploadId=upload["UploadId"], PartNumber=1, Body=data
        )
        synced.s3.complete_multipart_upload(
            Bucket=BUCKET,
            Key=key,
            UploadId=upload["UploadId"],
            MultipartUpload={"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]},
        )
    synced.write("bo/blue.md", data)
    bucket = S3ContentBucket(boto3.client("s3", region_name=REGION), BUCKET)
    plan = plan_sync(FolderContentStore(synced.project.root / "content"), bucket, 2**30)
    assert "-" in synced.s3.head_object(Bucket=BUCKET, Key="designs/ana/red.md")["ETag"]
    # red.md: a multipart ETag, the right SHA-256 kept: unchanged. blue.md: no SHA-256 kept.
    assert sorted(upload.key for upload in plan.uploads) == [
        "designs/ana/red.jpg",
        "designs/bo/blue.md",
        "designs/bo/blue.png",
    ]
    assert plan.unchanged == 1


def test_a_missing_content_bucket_setting_is_one_line_naming_it(synced: Synced) -> None:
    del synced.env["NAILFOLIO_CONTENT_BUCKET"]
    result = synced.sync()
    assert result.exit_code == 1
    assert result.output == (
        "Error: NAILFOLIO_CONTENT_BUCKET is not set; the aws backend needs it "
        "(S3, private: the designers' files under designs/)\n"
    )


def test_on_the_local_backend_it_says_the_folder_is_the_store(project: Project) -> None:
    result = CliRunner().invoke(
        cli.main,
        ["--root", str(project.root), "content", "sync"],
        env={"NAILFOLIO_BACKEND": "local"},
    )
    assert result.exit_code == 1
    assert result.output == (
        "Error: nothing to sync: on the local backend the content folder is the content store "
        "itself; set NAILFOLIO_BACKEND=aws to upload it to the content bucket\n"
    )


def test_deletions_go_in_batches_of_a_thousand(synced: Synced) -> None:
    bucket = S3ContentBucket(boto3.client("s3", region_name=REGION), BUCKET)
    keys = [f"designs/ana/{index}.jpg" for index in range(1001)]
    for key in keys[:3] + keys[-2:]:
        synced.s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")
    calls: list[int] = []
    bucket._client.meta.events.register(
        "provide-client-params.s3.DeleteObjects",
        lambda params, **_: calls.append(len(params["Delete"]["Objects"])),
    )
    bucket.delete(keys)
    assert calls == [1000, 1]
    assert synced.stored() == []


class _CountingReads(FolderContentStore):
    """The content folder, counting the files read."""

    reads: list[str]

    def read(self, key: str, limit: int | None = None) -> bytes:
        self.reads.append(key)
        return super().read(key, limit)


def test_planning_reads_only_files_whose_size_the_bucket_already_has(synced: Synced) -> None:
    bucket = S3ContentBucket(boto3.client("s3", region_name=REGION), BUCKET)
    local = _CountingReads(synced.project.root / "content")
    local.reads = []
    plan_sync(local, bucket, 2**30)
    images = [key for key in local.reads if not key.endswith(".md")]  # the scan reads sidecars
    assert images == []  # the bucket is empty: every image is new, none is read
    synced.sync()
    synced.write("ana/red.md", b"Title: A longer title\n")
    local.reads = []
    plan = plan_sync(local, bucket, 2**30)
    images = sorted(key for key in local.reads if not key.endswith(".md"))
    assert images == ["designs/ana/red.jpg", "designs/bo/blue.png"]  # same size: compared
    assert [upload.key for upload in plan.uploads] == ["designs/ana/red.md"]


def test_a_file_turned_into_a_link_after_planning_is_refused_and_the_rest_go_on(
    synced: Synced,
) -> None:
    bucket = S3ContentBucket(boto3.client("s3", region_name=REGION), BUCKET)
    local = FolderContentStore(synced.project.root / "content")
    plan = plan_sync(local, bucket, 2**30)
    red = synced.project.designs / "ana" / "red.jpg"
    red.unlink()
    os.symlink(synced.project.root / "pelicanconf.py", red)
    done = run_sync(plan, local, bucket)
    assert done.uploaded == 2
    assert [str(refusal) for refusal in done.refused] == [
        "content/designs/ana/red.jpg: is a symbolic link; copy the file in instead"
    ]
    assert synced.stored() == ["designs/ana/red.md", "designs/bo/blue.png"]


def test_the_progress_bar_goes_to_stderr_unless_quiet(synced: Synced) -> None:
    settings = load_settings(env=synced.env, root=synced.project.root)
    result = CliRunner().invoke(cli.main, ["content", "sync"], obj=settings)
    assert "Syncing content" in result.stderr
    assert result.stdout.strip() == "3 uploaded, 0 unchanged, 0 deleted"
