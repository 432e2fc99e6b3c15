"""The local content store: the project's content/ folder, read without following links.

Versions are st_mtime_ns. Reads open every folder on the way and the file itself with
O_NOFOLLOW, so a link swapped in after the listing is refused rather than followed (it
could publish any readable file on the disk); content_dir itself may be a link.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from nailfolio.errors import ContentError, ContentNotFound, ContentUnreadable
from nailfolio.gallery.content_store import (
    DESIGNS_PREFIX,
    ContentEntry,
    EntryKind,
    check_key,
)

LINK_REASON = "is a symbolic link; copy the file in instead"
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW


class FolderContentStore:
    """Content store port adapter over a folder holding designs/."""

    def __init__(self, content_dir: Path) -> None:
        self.content_dir = Path(content_dir).resolve()

    def list_designs(self) -> tuple[ContentEntry, ...]:
        if not self.content_dir.is_dir():
            raise ContentError(
                f"{self.content_dir}: content folder not found; create it or fix the root"
            )
        entries: list[ContentEntry] = []
        for entry in self._entries(DESIGNS_PREFIX):
            entries.append(entry)
            if entry.kind is EntryKind.FOLDER:
                entries.extend(self._entries(entry.key))
        return tuple(entries)

    def read(self, key: str, limit: int | None = None) -> bytes:
        check_key(key)
        try:
            fd = self._open(key)
        except (FileNotFoundError, NotADirectoryError):
            raise ContentNotFound(key, "no such file; it was removed or renamed") from None
        except OSError as error:
            raise _unreadable(key, error) from None
        with os.fdopen(fd, "rb") as fp:
            try:
                return fp.read() if limit is None else _read_up_to(fp, limit + 1)
            except OSError as error:
                raise _unreadable(key, error) from None

    def write(self, key: str, data: bytes) -> None:
        check_key(key)
        *folders, name = key.split("/")
        temp = f".{name}.{secrets.token_hex(6)}.tmp"  # hidden: no scan lists it
        parent = self._open_parent(key, folders)
        try:
            fd = os.open(
                temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644, dir_fd=parent
            )
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(temp, name, src_dir_fd=parent, dst_dir_fd=parent)  # a link is replaced
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temp, dir_fd=parent)
                raise
        except OSError as error:
            raise ContentUnreadable(key, f"cannot be written ({error.strerror})") from None
        finally:
            os.close(parent)

    def _open_parent(self, key: str, folders: list[str]) -> int:
        """A descriptor of the folder holding `key`, no link followed on the way."""
        try:
            return self._walk(folders)
        except OSError as error:
            raise _unreadable(key, error) from None

    def _open(self, key: str) -> int:
        """A descriptor for the file at `key`, no link followed on the way (dir_fd walk)."""
        *folders, name = key.split("/")
        parent = self._walk(folders)
        try:
            return os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=parent)
        finally:
            os.close(parent)

    def _walk(self, folders: list[str]) -> int:
        """A descriptor of content/'s sub-folder `folders`, opened one at a time so that no
        link is followed on the way; raises OSError."""
        parent = os.open(self.content_dir, os.O_RDONLY | os.O_DIRECTORY)
        try:
            for folder in folders:
                inner = _open_folder(folder, parent)
                os.close(parent)
                parent = inner
        except OSError:
            os.close(parent)
            raise
        return parent

    def _entries(self, folder_key: str) -> Iterator[ContentEntry]:
        folder = self.content_dir / folder_key
        try:
            with os.scandir(folder) as listing:
                found = list(listing)
        except (FileNotFoundError, NotADirectoryError):
            return  # removed while we were looking, or no designs/ at all
        except PermissionError:
            yield ContentEntry(folder_key, EntryKind.UNREADABLE, local=str(folder))
            return
        for dir_entry in found:
            entry = _entry(f"{folder_key}/{dir_entry.name}", dir_entry)
            if entry is not None:
                yield entry


def _open_folder(name: str, parent: int) -> int:
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=parent)
    except NotADirectoryError:  # what O_DIRECTORY | O_NOFOLLOW says of a link, and of a file
        if stat.S_ISLNK(os.stat(name, dir_fd=parent, follow_symlinks=False).st_mode):
            raise OSError(errno.ELOOP, os.strerror(errno.ELOOP)) from None
        raise


def _entry(key: str, dir_entry: os.DirEntry[str]) -> ContentEntry | None:
    """What the listing says of one directory entry; None if it vanished meanwhile."""
    path = dir_entry.path
    if dir_entry.is_symlink():
        return ContentEntry(key, EntryKind.LINK, to_folder=dir_entry.is_dir(), local=path)
    if dir_entry.is_dir():
        return ContentEntry(key, EntryKind.FOLDER, local=path)
    if not dir_entry.is_file():
        return ContentEntry(key, EntryKind.SPECIAL, local=path)
    try:
        st = dir_entry.stat()
    except FileNotFoundError:
        return None
    version = str(st.st_mtime_ns)
    return ContentEntry(key, EntryKind.FILE, st.st_size, version, st.st_mtime, local=path)


def _unreadable(key: str, error: OSError) -> ContentUnreadable:
    if error.errno == errno.ELOOP:  # O_NOFOLLOW met a link on the way
        return ContentUnreadable(key, LINK_REASON)
    return ContentUnreadable(key, f"cannot be read ({error.strerror}); check its permissions")


def _read_up_to(fp: BinaryIO, most: int) -> bytes:
    """At most `most` bytes of `fp`, sized by the file: `read(most)` alone allocates all of
    `most` (the 50 MB cap) for every photo, ~2.4 ms a read where the heap hands such a block
    back at once (a build's own process while it hashes, an upload's ingest)."""
    size = os.fstat(fp.fileno()).st_size
    data = fp.read(min(size + 1, most))
    if len(data) > size:  # it grew since the fstat: read on, up to `most`
        data += fp.read(most - len(data))
    return data
