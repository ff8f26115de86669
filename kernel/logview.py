"""`carnel logs`: print the kernel's JSON log, one process or all, optionally following it."""
from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn, TextIO

from carnel.kernel.tools.session import EXIT_FAILED, EXIT_NO_KERNEL, EXIT_OK

FOLLOW_POLL_S = 0.2


def parse_record(line: str) -> dict | None:
    """The log record on `line`, or None for a line that is not one: cut short by a crash
    mid-write, or not written by the kernel, which writes only JSON objects."""
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):
        return None
    return record if isinstance(record, dict) else None


def format_line(fields: dict) -> str:
    # Any field may hold any JSON value: the log is a file anyone can write to.
    head = f"{fields.pop('timestamp', '')!s} {fields.pop('process', '?')!s:<10} " \
           f"{fields.pop('level', 'info')!s:<7} {fields.pop('event', '')!s}"
    rest = " ".join(f"{k}={v}" for k, v in fields.items())
    return f"{head} {rest}".rstrip()


class LogUnreadable(Exception):
    """The log exists but cannot be read (a directory, no permission, an I/O error)."""


class WholeLines:
    """The whole lines of a file that the kernel appends to. A last line without its newline is
    one the kernel is still writing: it is kept until the rest arrives, not read in halves."""

    def __init__(self, source: TextIO) -> None:
        self.source = source
        self.unfinished = ""

    def available(self) -> Iterator[str]:
        """Every whole line from where the last call stopped to the end of the file now."""
        while line := self._readline():
            if not line.endswith("\n"):
                self.unfinished += line
                return
            yield self.unfinished + line
            self.unfinished = ""

    def _readline(self) -> str:
        # Only the log's own errors are caught here: one writing to stdout (a closed pipe) is
        # the reader's business (see console.reader_may_leave).
        try:
            return self.source.readline()
        except OSError as exc:
            raise LogUnreadable(exc.strerror or str(exc)) from None


@dataclass(slots=True)
class LogView:
    """Prints the records of one process, or of all when `name` is None, and notes what the log
    held: whether any record was printed, and the names of the processes seen."""

    name: str | None
    matched: bool = False
    processes: set[str] = field(default_factory=set)

    def show(self, lines: Iterable[str]) -> None:
        for line in lines:
            record = parse_record(line)
            if record is None:
                continue
            process = record.get("process")
            if isinstance(process, str):
                self.processes.add(process)
            if self.name is None or process == self.name:
                self.matched = True
                print(format_line(record))

    def missing(self) -> bool:
        """Whether a process was asked for and nothing has come from it."""
        return self.name is not None and not self.matched

    def known(self) -> str:
        if not self.processes:
            return ""
        return f" (it has lines from {', '.join(sorted(self.processes))})"


def show_logs(directory: Path, name: str | None, follow: bool) -> int:
    path = directory / "log" / "carnel.log"
    if not path.exists():
        print(f"carnel logs: no log at {path}: has a kernel run here? (carnel boot)",
              file=sys.stderr)
        return EXIT_NO_KERNEL
    view = LogView(name)
    previous = path.with_name(path.name + ".1")  # the boot that found the log full moved it here
    try:
        if previous.exists():
            with _open(previous) as source:
                _show_all(WholeLines(source), view)
        with _open(path) as source:
            lines = WholeLines(source)
            if follow:
                _follow(lines, view, path)
            _show_all(lines, view)
    except LogUnreadable as exc:
        print(f"carnel logs: cannot read {path}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return EXIT_OK
    if view.missing():
        print(f"carnel logs: no lines from a process named {name!r} in {path}{view.known()}",
              file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _show_all(lines: WholeLines, view: LogView) -> None:
    view.show(lines.available())
    view.show([lines.unfinished])  # the last line, when a crash cut off its newline


def _open(path: Path) -> TextIO:
    try:
        return path.open(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise LogUnreadable(exc.strerror or str(exc)) from None


def _follow(lines: WholeLines, view: LogView, path: Path) -> NoReturn:
    view.show(lines.available())
    # The process may start later (or be named in an image not booted yet), so waiting is right:
    # but said, so that an unknown name is not met with silence.
    if view.missing():
        print(f"carnel logs: nothing yet from a process named {view.name!r} in "
              f"{path}{view.known()}: waiting for it (Ctrl-C stops)", file=sys.stderr, flush=True)
    with contextlib.ExitStack() as opened:  # the logs that a new boot's rotation replaces
        while True:
            sys.stdout.flush()
            time.sleep(FOLLOW_POLL_S)
            view.show(lines.available())
            if _rotated(path, lines.source):
                _show_all(lines, view)
                lines = WholeLines(opened.enter_context(_open(path)))


def _rotated(path: Path, source: TextIO) -> bool:
    """Whether `path` is now another file than `source`: a boot moved a full log aside."""
    try:
        return os.stat(path).st_ino != os.fstat(source.fileno()).st_ino
    except FileNotFoundError:
        return False  # between the move and the new log's creation
