"""The command line (click): `python build.py`, `nailfolio`, `python -m nailfolio`."""

from nailfolio.cli.commands import main

__all__ = ["main"]
