"""What the tools share on the command line: argument types, help layout, a closed stdout."""
from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager


def positive_int(text: str) -> int:
    """A count of at least 1 (argparse names the option when it refuses)."""
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


def positive_float(text: str) -> float:
    """A finite number of seconds above 0."""
    value = float(text)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(text)
    return value


class ExamplesFormatter(argparse.HelpFormatter):
    """Wraps the description as usual, but keeps an epilog of examples one to a line."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith("example"):
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


@contextmanager
def reader_may_leave() -> Iterator[None]:
    """A reader that goes away (`carnel tap | head`) ends the output quietly."""
    try:
        yield
    except BrokenPipeError:
        # Python flushes stdout at exit, and would complain once more about the closed pipe.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
