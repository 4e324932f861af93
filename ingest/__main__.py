"""`python -m ingest [PATH...] [--rebuild] [--json]`: same as `compliance ingest`."""

import sys

from app.cli import cli

if __name__ == "__main__":
    cli(["ingest", *sys.argv[1:]])
