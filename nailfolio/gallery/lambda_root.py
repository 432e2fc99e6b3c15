"""A project root for a run inside AWS Lambda, made in /tmp from the files the bundle carries.

The Lambda's code folder is read-only, but a render writes beside its settings (var/, the
staging folder, Python's bytecode of the settings files, which the render drops before each
Pelican run). So the root is a folder in /tmp holding:

- copies of pelicanconf.py and publishconf.py (small, and the render's bytecode clean-up
  follows them to their real folder: it must be writable), and of content/studio.md;
- links to theme/ and content/pages/, which are only read;
- var/ (catalog caches, staging) and nothing else: on aws the designs are in the content
  bucket, the renditions in the assets bucket and the site in the site bucket.

A warm container finds the root made and keeps its staging, so its next render is
incremental; making it again is cheap and changes nothing.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from nailfolio.errors import ConfigError

# Settings files and the studio's details: publishconf and studio.md are optional.
COPIED = ("pelicanconf.py", "publishconf.py", "content/studio.md")
LINKED = ("theme", "content/pages")
REQUIRED = ("pelicanconf.py", "theme")


def prepare_root(bundle: Path, root: Path) -> None:
    """Make `root` a project folder from the project files in `bundle` (see the module)."""
    if bundle.resolve() in (root.resolve(), *root.resolve().parents):
        # Linking the theme into the bundle's own folder would first delete it.
        raise ConfigError(
            f"{root}: the Lambda's root must be a writable folder outside the bundle "
            f"({bundle}); unset NAILFOLIO_ROOT, and the root is made in /tmp"
        )
    missing = [name for name in REQUIRED if not (bundle / name).exists()]
    if missing:
        raise ConfigError(
            f"{bundle}: the Lambda bundle lacks {', '.join(missing)}; "
            "package it with the project files under project/"
        )
    (root / "content").mkdir(parents=True, exist_ok=True)
    (root / "var").mkdir(exist_ok=True)
    for name in COPIED:
        if (bundle / name).is_file():
            _copy(bundle / name, root / name)
    for name in LINKED:
        if (bundle / name).is_dir():
            _link(bundle / name, root / name)


def settings_file(root: Path) -> Path:
    """The Pelican settings a deployed site renders with: publishconf.py when there is one."""
    production = root / "publishconf.py"
    return production if production.is_file() else root / "pelicanconf.py"


def _copy(source: Path, target: Path) -> None:
    data = source.read_bytes()
    if not target.is_file() or target.read_bytes() != data:
        shutil.copyfile(source, target)


def _link(source: Path, target: Path) -> None:
    if target.is_symlink() and Path(os.readlink(target)) == source:
        return
    if target.is_symlink() or target.is_file():
        target.unlink()
    elif target.is_dir():
        shutil.rmtree(target)
    target.symlink_to(source, target_is_directory=True)
