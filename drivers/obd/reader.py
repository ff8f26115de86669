"""Splits the adapter's byte stream into lines and prompts, whatever the chunking."""
from __future__ import annotations

from dataclasses import dataclass

PROMPT = ord(">")
# ELM327 clones pad with NULs after a reset; they are not part of any line.
_IGNORED = b"\x00"
_LINE_ENDS = b"\r\n"


@dataclass(frozen=True, slots=True)
class Line:
    """One non-empty line the adapter printed, without its line ending."""

    text: str


@dataclass(frozen=True, slots=True)
class Prompt:
    """The adapter printed `>`: it finished the command and waits for the next one."""


@dataclass(frozen=True, slots=True)
class Overflow:
    """A line grew past the limit without an end; what was read of it has been dropped."""

    dropped: int


Item = Line | Prompt | Overflow


class LineReader:
    """Feed it bytes in any chunks; it returns complete lines and prompts in order.

    CR, LF and CR LF all end a line (echo, `ATL1` and clones differ), empty lines are skipped,
    and bytes are read as Latin-1 so that no input can fail to decode. A line longer than
    `max_line` is dropped and reported, so a babbling adapter cannot grow memory without bound.
    """

    def __init__(self, max_line: int = 512) -> None:
        self._partial = bytearray()
        self._max_line = max_line

    def feed(self, data: bytes) -> list[Item]:
        items: list[Item] = []
        for byte in data:
            if byte in _LINE_ENDS or byte == PROMPT:
                self._finish_line(items)
                if byte == PROMPT:
                    items.append(Prompt())
            elif byte not in _IGNORED:
                self._partial.append(byte)
                if len(self._partial) > self._max_line:
                    items.append(Overflow(len(self._partial)))
                    self._partial.clear()
        return items

    def clear(self) -> None:
        """Forget a partly read line (after the session gave up on a response)."""
        self._partial.clear()

    def _finish_line(self, items: list[Item]) -> None:
        text = self._partial.decode("latin-1").strip()
        self._partial.clear()
        if text:
            items.append(Line(text))
