"""The `semmatch` entry point: the command group of cli/options.py with the commands of match.py, store.py and
train.py registered on it (importing those modules registers them)."""

from __future__ import annotations

import sys

from semmatch.cli import match, store, train  # noqa: F401  (registers their commands on `main`)
from semmatch.cli.options import main

__all__ = ["main"]

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
