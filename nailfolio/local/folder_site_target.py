"""The site target of the local backend: a folder (output/), as `build.py serve` serves it.

A reader of the folder never sees a half-written file, nor a page referencing a file that
is not there:
- Updating a folder this target published itself (its record, var/output.json, names the
  folder's inode) goes file by file in the plan's order (nailfolio.gallery.publish): each
  file is written under a scratch name beside the folder and renamed over its place, so it
  changes in one step; images and assets arrive before the pages that use them, design pages
  before the listings linking to them, deletions come last.
- Any other folder (the first publish, or one rebuilt by something else) is replaced whole:
  the new site is assembled in a fresh sibling folder (`.output-new-*`) that then takes
  output/'s place in one atomic exchange (Linux renameat2 RENAME_EXCHANGE; elsewhere two
  renames a few microseconds apart).
Before an update starts, the files it will write are noted (var/output.pending.json): an
update killed mid-way leaves them of unknown digest, so the next publish writes them again
(or deletes them, if no longer wanted). Files are hard-linked
from the rendition store and from staging, whose files are never rewritten in place (a
change is always a new file), so a publish copies no bytes.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path

from nailfolio.gallery import scratch
from nailfolio.gallery.publish import PublishPlan, Upload
from nailfolio.gallery.rendition_store import RenditionFile, RenditionStore

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
RECORD_VERSION = 1


class FolderSiteTarget:
    """Publishes into `folder`, keeping what it holds in `record`; images come from the
    rendition store by name (hard-linked from a local one, downloaded from a bucket)."""

    def __init__(self, folder: Path, record: Path, renditions: RenditionStore) -> None:
        self.folder = folder.absolute()
        self.record = record
        self.renditions = renditions
        self._pending = record.with_name(f"{record.stem}.pending{record.suffix}")

    def published(self) -> Mapping[str, str]:
        record = self._read_record()
        if record is None or record["folder"] != self._identity():
            return {}
        # Files an interrupted update may or may not have written: there, digest unknown.
        return record["files"] | dict.fromkeys(self._read_pending(), "")

    def apply(self, plan: PublishPlan) -> None:
        record = self._read_record()
        if record is None or record["folder"] != self._identity():
            self._replace_whole(plan)
            return
        self._write_json(self._pending, {"paths": [upload.path for upload in plan.uploads]})
        self.folder.parent.mkdir(parents=True, exist_ok=True)
        work = Path(
            tempfile.mkdtemp(prefix=f".{self.folder.name}-publish-", dir=self.folder.parent)
        )
        try:
            with scratch.claimed(work):  # a killed publish's scratch is tidied by the next build
                for number, upload in enumerate(plan.uploads):
                    scratch_file = work / str(number)
                    self._place(upload, scratch_file)
                    destination = self.folder / upload.path
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(scratch_file, destination)
                self._delete(plan.deletions)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        self._write_record(plan.files)

    def _replace_whole(self, plan: PublishPlan) -> None:
        """Assemble the whole site beside the folder, then exchange the two."""
        self.folder.parent.mkdir(parents=True, exist_ok=True)
        new = _scratch_folder(self.folder, "new")
        try:
            with scratch.claimed(new):  # if this process is killed, the next build removes it
                new.chmod(0o755)  # mkdtemp makes it private; the site is for everyone to read
                made: set[Path] = set()
                for upload in plan.uploads:
                    destination = new / upload.path
                    if destination.parent not in made:
                        destination.parent.mkdir(parents=True, exist_ok=True)
                        made.add(destination.parent)
                    self._place(upload, destination)
                _swap_in(new, self.folder)
        except BaseException:
            shutil.rmtree(new, ignore_errors=True)
            raise
        self._write_record(plan.files)

    def _place(self, upload: Upload, destination: Path) -> None:
        """Hard-link the file in (a copy across filesystems): neither renditions nor staged
        files are ever rewritten in place, each change is a new file."""
        if upload.rendition:
            location = self.renditions.locate(upload.rendition)
            if not isinstance(location, RenditionFile):  # in a bucket: its bytes, once
                destination.write_bytes(self.renditions.get(upload.rendition))
                os.chmod(destination, 0o644)
                return
            source = location.path
        else:
            assert upload.source is not None, f"{upload.path}: an upload without a source"
            source = upload.source
        try:
            os.link(source, destination)
        except OSError:  # another filesystem, or links not supported: copy the bytes
            shutil.copyfile(source, destination)
            os.chmod(destination, 0o644)

    def _delete(self, paths: Iterable[str]) -> None:
        """The plan's deletions, last: files, then the folders they leave empty."""
        scratch.remove_files(self.folder, paths)

    def _identity(self) -> list[int] | None:
        try:
            st = os.stat(self.folder)
        except FileNotFoundError:
            return None
        return [st.st_dev, st.st_ino]

    def _read_record(self) -> dict | None:
        record = _read_json(self.record)
        return record if record and isinstance(record.get("files"), dict) else None

    def _read_pending(self) -> list[str]:
        pending = _read_json(self._pending)
        return pending["paths"] if pending else []

    def _write_record(self, files: Mapping[str, str]) -> None:
        self._write_json(self.record, {"folder": self._identity(), "files": dict(files)})
        self._pending.unlink(missing_ok=True)

    def _write_json(self, path: Path, data: dict) -> None:
        """Write beside, then rename: a reader finds the old file or the new one."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"version": RECORD_VERSION, **data}), encoding="utf-8")
        os.replace(tmp, path)


def _read_json(path: Path) -> dict | None:
    """A record of ours; None when missing, damaged or of another version."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("version") == RECORD_VERSION else None


def _scratch_folder(folder: Path, kind: str) -> Path:
    """A fresh folder beside `folder`, on its filesystem (renames from it are atomic)."""
    return Path(tempfile.mkdtemp(prefix=f".{folder.name}-{kind}-", dir=folder.parent))


def _swap_in(new: Path, output: Path) -> None:
    """Make `new` the site at `output`; the previous site is deleted."""
    if not output.exists():
        os.rename(new, output)
        return
    # The previous site is nobody's once swapped out: a build tidying at the same moment may
    # be deleting it too, hence ignore_errors.
    if _exchange(new, output):
        shutil.rmtree(new, ignore_errors=True)  # now holds the previous site
        return
    old = output.with_name(f".{output.name}-old-{uuid.uuid4().hex[:8]}")
    os.rename(output, old)
    os.rename(new, output)
    shutil.rmtree(old, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2); False where the system cannot."""
    if sys.platform != "linux":
        return False
    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is None:
        return False
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(a), None, str(b))
