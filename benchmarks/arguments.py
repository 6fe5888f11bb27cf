"""Shared command-line plumbing of the benchmark scripts: argument types and one-message errors.

A benchmark given a bad argument (a zero size, an unknown spec, a stem with
too many channels) says what is wrong in one line and exits with 1, as the
hago tools do, instead of a traceback from deep inside TVM.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path


def positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text}: must be a positive integer")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text}: must be a positive number")
    return value


def run(main: Callable[[], int]) -> None:
    """sys.exit(main()), with hago's errors and bad values reported in one line (exit 1)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from hago_ir.errors import HagoError

    try:
        sys.exit(main())
    except (HagoError, ValueError) as error:
        print(f"{Path(sys.argv[0]).stem}: error: {error}", file=sys.stderr)
        sys.exit(1)
