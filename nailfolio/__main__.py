"""`python -m nailfolio ...`: the same commands as build.py and the `nailfolio` script."""

from nailfolio.cli import main

if __name__ == "__main__":
    main(prog_name="python -m nailfolio")
