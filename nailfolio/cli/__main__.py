"""`python -m nailfolio.cli`: the same commands as `python -m nailfolio`."""

from nailfolio.cli import main

if __name__ == "__main__":
    main(prog_name="python -m nailfolio.cli")
