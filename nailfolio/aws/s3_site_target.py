"""The site target of the aws backend: the private S3 site bucket, behind CloudFront.

What the bucket holds is known by content hash, never by time or ETag meaning: each object
carries its digest (the plan's: a staged file's sha256, an image's variant name) in its
metadata (x-amz-meta-nailfolio-digest), beside the Content-Type and Cache-Control it was
written with. A multipart or SSE-KMS ETag is no MD5, so an ETag is only ever compared with
itself, as a token of "this object has not been rewritten".

Reading every object's metadata is a HeadObject each, so a record at the reserved key
RECORD_KEY (".nailfolio/publish-record.json", in the bucket it describes: a laptop and the
rebuild Lambda publishing to one site read the same) keeps what the last publish wrote:
digest, headers, ETag and LastModified per object, and the deferred deletions. An object
whose listed ETag and LastModified match its record entry is taken from the record; any
other (written by an interrupted publish, or by hand; even a metadata-only edit makes a new
LastModified) is asked with HeadObject. An object's type or cache header that is not the
one wanted now counts as a change. So a publish with nothing to do is a listing (1,000
objects a page) and one GetObject. The record is not served: the distribution must not
answer for `/.nailfolio/*` (deploy's viewer-request function refuses it).

Writes: staged files by PutObject (with Content-MD5: S3 checks the bytes), images by
server-side CopyObject from the assets bucket (S3RenditionStore.locate), so no image byte
passes through the process; a phase's uploads run WORKERS at a time and a phase starts only
when the one before it is whole. Deletions: DeleteObjects, pages first, then the files pages
loaded (those the plan no longer defers). Then one CloudFront invalidation, then the record.
The paths to invalidate are noted in the record before the first write: a publish cut off
before its invalidation leaves them owed, and the next publish invalidates them with its own
(a page it replaced is up to date in the bucket then, but not in CloudFront's caches).
Retries with backoff are the client's (aws.clients: standard mode). A publish interrupted
anywhere leaves a whole site (the order sees to it) and objects of known digest (their
metadata), so the next publish finishes the work.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeVar

from nailfolio.aws.clients import SharedClient
from nailfolio.aws.cloudfront import MAX_PATHS
from nailfolio.aws.s3 import NoSuchKey, list_objects, read_body, request
from nailfolio.errors import RenditionNotFound, ServiceUnavailable
from nailfolio.gallery.publish import (
    LOADED_BY_PAGES,
    WILDCARD,
    CachePolicy,
    Cdn,
    PublishPlan,
    Upload,
    object_headers,
    phase_of,
)
from nailfolio.gallery.rendition_store import RenditionObject, RenditionStore

if TYPE_CHECKING:
    from botocore.client import BaseClient

RESERVED_PREFIX = ".nailfolio/"  # never part of the site: the target's own keys
RECORD_KEY = f"{RESERVED_PREFIX}publish-record.json"
RECORD_VERSION = 1
DIGEST_METADATA = "nailfolio-digest"
WORKERS = 8  # requests in flight (the client's pool holds 10 connections)
DELETE_BATCH = 1000  # DeleteObjects' limit

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class _Object:
    """What is known of one object of the site bucket."""

    digest: str  # "" when it carries none
    content_type: str
    cache_control: str
    etag: str  # as listed: a token, never read as an MD5
    modified: str  # LastModified as listed, ISO-8601


@dataclass(frozen=True)
class _State:
    objects: Mapping[str, _Object]
    deferred: Mapping[str, float]
    stale: bool  # the record does not say what the bucket holds: write it again
    owed: tuple[str, ...] = ()  # paths a publish cut off before its invalidation changed


class S3SiteTarget(SharedClient):
    """Site target port adapter over one S3 bucket, its images copied from the rendition
    store's bucket and its changed paths invalidated at `cdn` (if any)."""

    def __init__(
        self,
        client: BaseClient,
        bucket: str,
        renditions: RenditionStore,
        cdn: Cdn | None = None,
        policy: CachePolicy | None = None,
        workers: int = WORKERS,
    ) -> None:
        self._client = client  # a boto3 "s3" client
        self.bucket = bucket
        self._renditions = renditions
        self._cdn = cdn
        self.policy = policy or CachePolicy()
        self._workers = workers
        self._state: _State | None = None

    def published(self) -> Mapping[str, str]:
        self._state = self._read_state()
        return {path: _wanted_digest(path, found) for path, found in self._state.objects.items()}

    def deferred(self) -> Mapping[str, float]:
        self._state = self._state or self._read_state()
        return self._state.deferred

    def apply(self, plan: PublishPlan) -> None:
        state, self._state = self._state or self._read_state(), None  # each state serves once
        if plan.empty and not state.stale and not state.owed:
            return
        owed = self._owed(state, plan)
        if owed != state.owed:  # noted first: a publish cut off mid-way still owes them
            self._put_record(state.objects, state.deferred, owed)
        written: dict[str, _Object] = {}
        for _, group in itertools.groupby(plan.uploads, lambda u: (u.phase, u.replaces)):
            written |= self._each(self._upload, list(group))  # a phase whole before the next
        self._delete(plan.deletions)
        if self._cdn is not None and owed:
            self._cdn.invalidate(owed)
        self._write_record(state, plan, written)

    def _owed(self, state: _State, plan: PublishPlan) -> tuple[str, ...]:
        """What this publish must invalidate: its own changed paths and any a publish cut
        off before its invalidation left owing (replaced then, up to date now)."""
        if self._cdn is None:
            return ()
        paths = {*state.owed, *plan.invalidations}
        limit = self.policy.max_invalidation_paths or MAX_PATHS
        if WILDCARD in paths or len(paths) > limit:
            return (WILDCARD,)
        return tuple(sorted(paths))

    # -- reading what the bucket holds ------------------------------------------------------

    def _read_state(self) -> _State:
        listed = self._list()
        record = self._read_record()
        noted: dict[str, _Object] = record["objects"]
        known = {
            key: noted[key]
            for key, (etag, modified) in listed.items()
            if key in noted and (noted[key].etag, noted[key].modified) == (etag, modified)
        }
        unknown = [(key, *listed[key]) for key in listed if key not in known]
        headed = {key: found for key, found in self._each(self._head, unknown).items() if found}
        deferred = {key: since for key, since in record["deferred"].items() if key in listed}
        stale = bool(unknown) or noted.keys() != listed.keys()
        return _State({**known, **headed}, deferred, stale, record["owed"])

    def _list(self) -> dict[str, tuple[str, str]]:
        """Every site object: key -> (ETag, LastModified), the target's own keys left out."""
        return {
            item["Key"]: (item["ETag"], item["LastModified"].isoformat())
            for item in list_objects(self._client, self.bucket, "")
            if not item["Key"].startswith(RESERVED_PREFIX)
        }

    def _head(self, item: tuple[str, str, str]) -> tuple[str, _Object | None]:
        key, etag, modified = item
        try:
            found = request(self._client, "HeadObject", Bucket=self.bucket, Key=key)
        except NoSuchKey:  # deleted since the listing
            return key, None
        digest = found.get("Metadata", {}).get(DIGEST_METADATA, "")
        types = found.get("ContentType", ""), found.get("CacheControl", "")
        return key, _Object(digest, *types, etag, modified)

    def _read_record(self) -> dict[str, Any]:
        """The record, or an empty one when it is missing, damaged or of another version
        (then every object is asked for its metadata)."""
        try:
            response = request(self._client, "GetObject", Bucket=self.bucket, Key=RECORD_KEY)
            data = json.loads(read_body(response, f"s3://{self.bucket}/{RECORD_KEY}"))
            if data.get("version") != RECORD_VERSION:
                raise ValueError(f"record version {data.get('version')!r}")
            objects = {key: _Object(*fields) for key, fields in data["objects"].items()}
            deferred = {key: float(since) for key, since in data["deferred"].items()}
            owed = tuple(str(path) for path in data.get("owed", ()))
        except NoSuchKey:
            return {"objects": {}, "deferred": {}, "owed": ()}
        except (ValueError, TypeError, KeyError, AttributeError):
            return {"objects": {}, "deferred": {}, "owed": ()}
        return {"objects": objects, "deferred": deferred, "owed": owed}

    # -- writing ------------------------------------------------------------------------------

    def _upload(self, upload: Upload) -> tuple[str, _Object]:
        """One file into the bucket with its headers and digest; its ETag as S3 answered."""
        headers = {
            "ContentType": upload.content_type,
            "CacheControl": upload.cache_control,
            "Metadata": {DIGEST_METADATA: upload.digest},
        }
        if upload.rendition:
            where = self._renditions.locate(upload.rendition)
            if isinstance(where, RenditionObject):
                etag = self._copy(upload, where, headers)
                return upload.path, _Object(upload.digest, *_types(upload), etag, "")
            data = where.path.read_bytes()  # a local rendition store: its bytes, once
        else:
            assert upload.source is not None, f"{upload.path}: an upload without a source"
            data = upload.source.read_bytes()
        md5 = base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()
        answer = request(
            self._client,
            "PutObject",
            Bucket=self.bucket,
            Key=upload.path,
            Body=data,
            ContentMD5=md5,
            **headers,
        )
        return upload.path, _Object(upload.digest, *_types(upload), answer["ETag"], "")

    def _copy(self, upload: Upload, where: RenditionObject, headers: dict[str, Any]) -> str:
        """A server-side copy from the assets bucket, the metadata replaced by ours."""
        try:
            answer = request(
                self._client,
                "CopyObject",
                Bucket=self.bucket,
                Key=upload.path,
                CopySource={"Bucket": where.bucket, "Key": where.key},
                MetadataDirective="REPLACE",
                **headers,
            )
        except NoSuchKey:
            raise RenditionNotFound(
                f"s3://{where.bucket}/{where.key}: not in the rendition store, so "
                f"{upload.path} cannot be published; run the build again to render it"
            ) from None
        return answer["CopyObjectResult"]["ETag"]

    def _delete(self, paths: Sequence[str]) -> None:
        """Pages first, then the files pages loaded; a batch of 1,000 keys per request."""
        pages = [path for path in paths if phase_of(path) not in LOADED_BY_PAGES]
        loaded = [path for path in paths if phase_of(path) in LOADED_BY_PAGES]
        for batch in (*_batches(pages), *_batches(loaded)):
            objects = [{"Key": key} for key in batch]
            answer = request(
                self._client,
                "DeleteObjects",
                Bucket=self.bucket,
                Delete={"Objects": objects, "Quiet": True},
            )
            if answer.get("Errors"):
                first = answer["Errors"][0]
                raise ServiceUnavailable(
                    f"S3 DeleteObjects on bucket {self.bucket!r} left {len(answer['Errors'])} "
                    f"keys ({first.get('Key')}: {first.get('Code')}); publish again"
                )

    def _write_record(
        self, state: _State, plan: PublishPlan, written: Mapping[str, _Object]
    ) -> None:
        """What the bucket holds now, as a listing after the writes shows it; an object
        rewritten by someone else meanwhile is left out (asked for next time)."""
        gone = set(plan.deletions)
        if written:
            objects = {}
            for key, (etag, modified) in self._list().items():
                mine = written.get(key)
                before = state.objects.get(key)
                if mine is not None and mine.etag == etag:
                    objects[key] = replace(mine, modified=modified)
                elif mine is None and before and (before.etag, before.modified) == (etag, modified):
                    objects[key] = before
        else:
            objects = {key: found for key, found in state.objects.items() if key not in gone}
        self._put_record(objects, plan.deferred, ())

    def _put_record(
        self,
        objects: Mapping[str, _Object],
        deferred: Mapping[str, float],
        owed: Sequence[str],
    ) -> None:
        record = {
            "version": RECORD_VERSION,
            "objects": {
                key: [o.digest, o.content_type, o.cache_control, o.etag, o.modified]
                for key, o in sorted(objects.items())
            },
            "deferred": dict(sorted(deferred.items())),
            "owed": list(owed),
        }
        request(
            self._client,
            "PutObject",
            Bucket=self.bucket,
            Key=RECORD_KEY,
            Body=json.dumps(record, separators=(",", ":")).encode(),
            ContentType="application/json",
            CacheControl="no-store",
        )

    def _each(self, work: Callable[[T], tuple[str, R]], items: Sequence[T]) -> dict[str, R]:
        """`work` on every item, WORKERS at a time. On the first failure nothing more is
        started; what is in flight finishes, then the failure is raised."""
        if len(items) <= 1 or self._workers <= 1:
            return dict(work(item) for item in items)
        results: dict[str, R] = {}
        with ThreadPoolExecutor(self._workers, thread_name_prefix="publish") as pool:
            futures = [pool.submit(work, item) for item in items]
            try:
                for future in as_completed(futures):
                    key, value = future.result()
                    results[key] = value
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
        return results


def _wanted_digest(path: str, found: _Object) -> str:
    """The object's digest if it is served with the headers wanted now, else "" (changed)."""
    if (found.content_type, found.cache_control) != object_headers(path):
        return ""
    return found.digest


def _types(upload: Upload) -> tuple[str, str]:
    return upload.content_type, upload.cache_control


def _batches(keys: Iterable[str]) -> list[list[str]]:
    keys = list(keys)
    return [keys[i : i + DELETE_BATCH] for i in range(0, len(keys), DELETE_BATCH)]
