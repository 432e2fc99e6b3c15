#!/usr/bin/env python3
"""Nailfolio's command line: `python build.py --help`. Logic lives in nailfolio/cli/."""

import os
from pathlib import Path

from nailfolio.cli import main

if __name__ == "__main__":
    # Run from anywhere: the project is the folder this file is in, unless told otherwise.
    os.environ.setdefault("NAILFOLIO_ROOT", str(Path(__file__).resolve().parent))
    main(prog_name="build.py")
