"""A progress line on stderr: redrawn in place on a terminal, and an occasional plain line when
stderr is a file or a pipe (a log should not get one line a second)."""
from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

_CLEAR_LINE = "\r\x1b[K"


class Progress:
    def __init__(self, stream: TextIO = sys.stderr, *, every_s: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._stream = stream
        self._tty = stream.isatty()
        self._every_s = every_s
        self._clock = clock
        self._last_line = clock()
        self._drawn = False

    def show(self, text: str) -> None:
        """The current state, replacing the previous one."""
        if self._tty:
            self._stream.write(_CLEAR_LINE + text)
            self._drawn = True
        elif self._clock() - self._last_line >= self._every_s:
            self._stream.write(text + "\n")
            self._last_line = self._clock()
        self._stream.flush()

    def say(self, text: str) -> None:
        """A line that stays, such as a final summary."""
        if self._drawn:
            self._stream.write(_CLEAR_LINE)
            self._drawn = False
        self._stream.write(text + "\n")
        self._stream.flush()
