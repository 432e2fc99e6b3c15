"""The local rendition store: variant files in var/renditions/, each written atomically.

A file is written under a temporary name beside its own (claimed, so the next build removes
it if this process is killed), flushed to disk, given mode 0644 and renamed into place:
readers never see half a file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from nailfolio.errors import RenditionNotFound
from nailfolio.gallery import scratch
from nailfolio.gallery.rendition_store import RenditionFile, check_name


class FolderRenditionStore:
    """Rendition store port adapter over one folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def put(self, name: str, data: bytes) -> None:
        path = self.folder / check_name(name)
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=self.folder, prefix=f".{name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fp:  # kept open, and so claimed, until renamed
                scratch.claim_fd(fd)
                fp.write(data)
                fp.flush()
                os.fsync(fp.fileno())
                os.chmod(tmp_name, 0o644)  # mkstemp makes 0600 files
                os.replace(tmp_name, path)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise

    def get(self, name: str) -> bytes:
        try:
            return (self.folder / check_name(name)).read_bytes()
        except FileNotFoundError:
            raise RenditionNotFound(
                f"{self.folder / name}: not in the rendition cache; build again to render it"
            ) from None

    def exists(self, name: str) -> bool:
        return (self.folder / check_name(name)).is_file()

    def names(self) -> frozenset[str]:
        try:
            with os.scandir(self.folder) as entries:
                return frozenset(
                    e.name for e in entries if not e.name.startswith(".") and e.is_file()
                )
        except FileNotFoundError:  # nothing rendered yet
            return frozenset()

    def locate(self, name: str) -> RenditionFile:
        return RenditionFile(self.folder / check_name(name))
