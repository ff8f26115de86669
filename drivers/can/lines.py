"""Line-oriented log reading: bytes split into bounded lines, lines turned into counted frames."""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable

from carnel.drivers.can.errors import LogLineError
from carnel.drivers.can.frame import CanFrame
from carnel.drivers.can.stats import ReasonCounts

# The longest real line is a Vector ASC CAN XL event (up to 2048 data bytes, ~6.5 kB); anything
# longer is garbage, and holding it would let a file without newlines grow the buffer unbounded.
MAX_LINE_BYTES = 8192


class LineSplitter:
    """Feeds bytes in, returns the complete lines; counts and drops over-long ones.

    Lines are decoded as Latin-1, which accepts every byte: frame fields are ASCII and checked as
    such by the parsers, while a comment in a Windows code page must not cost a rejection.
    """

    def __init__(self, rejections: ReasonCounts, max_line_bytes: int = MAX_LINE_BYTES) -> None:
        self._rejections = rejections
        self._max = max_line_bytes
        self._pending = b""
        self._discarding = False

    def feed(self, data: bytes) -> list[str]:
        lines: list[str] = []
        start = 0
        while (end := data.find(b"\n", start)) >= 0:
            if self._discarding:
                self._discarding = False
            else:
                line = self._pending + data[start:end] if self._pending else data[start:end]
                self._pending = b""
                if len(line) > self._max:
                    self._rejections.add("line_too_long")
                else:
                    lines.append(line.decode("latin-1").rstrip("\r"))
            start = end + 1
        if not self._discarding:
            self._pending += data[start:]
            if len(self._pending) > self._max:
                self._rejections.add("line_too_long")
                self._pending = b""
                self._discarding = True
        return lines

    def close(self) -> list[str]:
        """The last line when the input did not end with a newline."""
        line, self._pending = self._pending, b""
        self._discarding = False
        return [line.decode("latin-1").rstrip("\r")] if line else []

    def reset(self) -> None:
        """Drop a partial line: the input it came from broke off and will not continue."""
        self._pending = b""
        self._discarding = False


class LineReader(ABC):
    """A replay log reader: bytes or lines in, frames out, bad lines counted and never raised.

    `rejections` counts lines that claim to be frames but are malformed, per reason;
    `skipped` counts well-formed lines that hold no frame (headers, comments, bus statistics).
    """

    def __init__(self) -> None:
        self.rejections = ReasonCounts()
        self.skipped = ReasonCounts()
        self._splitter = LineSplitter(self.rejections)

    @abstractmethod
    def parse_line(self, line: str) -> CanFrame | None:
        """The frame on one line, or None for a line without one; raises LogLineError."""

    def read_line(self, line: str) -> CanFrame | None:
        """Like parse_line, but a bad line is counted in `rejections` instead of raised."""
        try:
            return self.parse_line(line)
        except LogLineError as exc:
            self.rejections.add(exc.reason)
            return None

    def read_lines(self, lines: Iterable[str]) -> list[CanFrame]:
        return [frame for line in lines if (frame := self.read_line(line)) is not None]

    def feed(self, data: bytes) -> list[CanFrame]:
        """Frames on the complete lines in `data`; a trailing partial line waits for more bytes."""
        return self.read_lines(self._splitter.feed(data))

    def close(self) -> list[CanFrame]:
        """Frames on a last line that had no newline."""
        return self.read_lines(self._splitter.close())

    def reset(self) -> None:
        """Drop a partial line without reading it, so that the next bytes start a new line."""
        self._splitter.reset()
