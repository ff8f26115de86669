"""`carnel record`: write what crosses the bus into an MCAP file, as it happens."""
from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import trio

from carnel.ipc.client import Delivery
from carnel.ipc.errors import CallError, Denied
from carnel.ipc.subjects import SubjectError, validate_pattern
from carnel.kernel.tools.bus import run_tool
from carnel.kernel.tools.console import positive_int
from carnel.kernel.tools import recording
from carnel.kernel.tools.recording import BusMessage, human_bytes, plural
from carnel.kernel.tools.recording.progress import Progress
from carnel.kernel.tools.session import (
    EXIT_FAILED, EXIT_OK, EXIT_USAGE, ToolError, check_kernel, operator_session)

NAME = "record"
# A kill -9 loses at most what arrived within this long (or one chunk, whichever is less).
FLUSH_EVERY_S = 1.0
STDOUT = "-"  # `-o -`: the recording is written to stdout (MCAP is written front to back)

DESCRIPTION = """\
Subscribe to SUBJECTs (patterns: `*` one token, `>` the rest; default `>`, everything) and write
every message to an MCAP file, the log format ROS 2 and Foxglove read: one channel per subject and
publisher, the payload as published (msgpack) with the subject's schema embedded, the publish and
receive times, the kernel's sequence number and retained flag, and any attachments.

The file is flushed every second, so if the recorder is killed the file is still readable up to
the last second (`carnel info` says it was cut short). Ctrl-C or SIGTERM finishes the file.
Progress goes to stderr. With `-o -` the same file goes to stdout (a pipe or a redirection, never
a terminal) as it is written, a second at a time."""

EXAMPLE = """\
example:
  carnel record -o drive.mcap 'vehicle.>' gps.fix
  recording vehicle.> gps.fix to drive.mcap: Ctrl-C stops
  recorded 5230 messages on 12 subjects in 52.3 s: drive.mcap, 311.4 kB
  carnel record -o - 'vehicle.>' | ssh laptop 'cat > drive.mcap'"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(NAME, help="record bus messages to an MCAP file",
                              description=DESCRIPTION, epilog=EXAMPLE,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-o", "--output", required=True, metavar="FILE.mcap",
                   help="the recording to write, or - for stdout")
    p.add_argument("subjects", nargs="*", default=[">"], metavar="SUBJECT",
                   help="subjects or patterns to record (default: >)")
    p.add_argument("--count", type=positive_int, metavar="N", help="stop after N messages")
    p.add_argument("--overwrite", action="store_true", help="replace FILE if it exists")


def run(args, directory: Path) -> int:
    for pattern in args.subjects:
        try:
            validate_pattern(pattern)
        except SubjectError as exc:
            raise ToolError(f"not a subject pattern: {exc}", EXIT_USAGE) from None
    if args.output == STDOUT:
        _check_stdout()
    check_kernel(directory)
    return run_tool(_record, args, directory)


@dataclass(slots=True)
class GapCounter:
    """Messages the kernel dropped for us: gaps in each subject's sequence numbers."""

    last: dict[str, int] = field(default_factory=dict)
    lost: int = 0

    def see(self, subject: str, seq: int) -> None:
        previous = self.last.get(subject)
        if previous is not None and seq > previous + 1:
            self.lost += seq - previous - 1
        self.last[subject] = seq


class _Recorder:
    """The subscription sink: writes each delivered batch as it comes, in the client's pump."""

    def __init__(self, writer: recording.RecordingWriter, limit: int | None) -> None:
        self.writer = writer
        self.limit = limit
        self.done = trio.Event()
        self.error: OSError | None = None
        self.gaps = GapCounter()
        self.started = time.monotonic()
        self.size = 0

    def sink(self, batch: list[Delivery]) -> None:
        if self.done.is_set():
            return
        for delivery in batch:
            header = delivery.header
            msg = BusMessage(
                subject=header.subject, payload=bytes(delivery.payload),
                attachments=tuple(bytes(frame) for frame in delivery.attachments),
                source=header.source, flags=header.flags, seq=header.seq,
                publish_ns=header.timestamp_ns, log_ns=time.time_ns())
            try:
                self.writer.write(msg)
            except OSError as exc:
                self.stop(exc)
                return
            self.gaps.see(header.subject, header.seq)
            if self.limit is not None and self.writer.messages >= self.limit:
                self.stop()
                return

    def flush(self) -> None:
        try:
            if self.writer.pending:
                self.writer.flush()
            self.size = self.writer.bytes_written
        except OSError as exc:
            self.stop(exc)

    def finish(self) -> None:
        try:
            self.writer.close()
            self.size = self.writer.bytes_written
        except OSError as exc:
            self.error = self.error or exc

    def stop(self, error: OSError | None = None) -> None:
        self.error = self.error or error
        self.done.set()

    def describe(self, output: str, *, final: bool = True) -> str:
        elapsed = time.monotonic() - self.started
        subjects = len(self.gaps.last)  # every subject recorded has a last sequence number
        text = (f"{plural(self.writer.messages, 'message')} on "
                f"{plural(subjects, 'subject')} in {elapsed:.1f} s: "
                f"{output}, {human_bytes(self.size)}")
        if self.gaps.lost:
            text += (f"; the kernel dropped {plural(self.gaps.lost, 'message')} for the "
                     "recorder (it fell behind)")
        return f"recorded {text}" if final else f"recording: {text}"


def _check_stdout() -> None:
    """Whether stdout can take a recording: binary MCAP would only garble a terminal."""
    if sys.stdout is None:
        raise ToolError("-o - writes the recording to stdout, which is closed", EXIT_USAGE)
    if sys.stdout.isatty():
        raise ToolError("-o - writes the recording to stdout, which is a terminal: redirect it "
                        "to a file or pipe it to a program", EXIT_USAGE)


def _shown(output: str) -> str:
    return "stdout" if output == STDOUT else output


def _cannot_write(output: str, exc: OSError) -> str:
    reason = exc.strerror or exc
    if output == STDOUT:
        return f"cannot write to stdout: {reason}"
    return f"cannot write {output}: {reason}"


@contextmanager
def _open_writer(output: str, overwrite: bool) -> Iterator[recording.RecordingWriter]:
    with _open_output(output, overwrite) as stream:
        try:
            writer = recording.RecordingWriter(stream)
        except OSError as exc:
            raise ToolError(_cannot_write(output, exc)) from None
        yield writer


@contextmanager
def _open_output(output: str, overwrite: bool) -> Iterator[BinaryIO]:
    if output == STDOUT:
        # A file object of its own on stdout, not sys.stdout's: what a failed write (the reader
        # went away) leaves in its buffer goes with it, where Python would flush sys.stdout's
        # again at exit and print a traceback.
        with _closed_after(open(sys.stdout.fileno(), "wb", closefd=False)) as stream:
            yield stream
        return
    path = Path(output)
    try:
        file = path.open("wb" if overwrite else "xb")
    except FileExistsError:
        raise ToolError(f"{path} exists: choose another name, or pass --overwrite",
                        EXIT_USAGE) from None
    except OSError as exc:
        raise ToolError(f"cannot create {path}: {exc.strerror or exc}", EXIT_USAGE) from None
    with _closed_after(file) as stream:
        yield stream


@contextmanager
def _closed_after(stream: BinaryIO) -> Iterator[BinaryIO]:
    try:
        yield stream
    finally:
        # The recorder flushed everything it wrote: closing fails only on what a failed write
        # left behind (a full disk, a reader gone), and the recorder reports that failure.
        with contextlib.suppress(OSError):
            stream.close()


async def _record(args, directory: Path) -> int:
    progress = Progress()
    shown = _shown(args.output)
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with operator_session(directory, NAME) as client:
            with _open_writer(args.output, args.overwrite) as writer:
                recorder = _Recorder(writer, args.count)
                started = False
                try:
                    await _subscribe(client, args.subjects, recorder, args.output)
                    started = True
                    progress.say(f"recording {' '.join(args.subjects)} to {shown}: "
                                 "Ctrl-C stops")
                    async with trio.open_nursery() as nursery:
                        nursery.start_soon(_stop_on_signal, signals, recorder)
                        nursery.start_soon(_flush_regularly, recorder, progress, shown)
                        await recorder.done.wait()
                        nursery.cancel_scope.cancel()
                finally:
                    recorder.finish()
                    if started:  # also when the kernel went first: what was kept is complete
                        progress.say(recorder.describe(shown))
    if recorder.error is not None:
        kept = "" if args.output == STDOUT else "; the file holds everything before the error"
        raise ToolError(_cannot_write(args.output, recorder.error) + kept)
    return EXIT_OK


async def _subscribe(client, patterns: list[str], recorder: _Recorder, output: str) -> None:
    try:
        for pattern in patterns:
            await client.subscribe(pattern, recorder.sink)
    except CallError as exc:
        # The recording never started: leave no file behind that looks like one.
        if output != STDOUT:
            Path(output).unlink(missing_ok=True)
        hint = " (see the image's [operator] table)" if isinstance(exc, Denied) else ""
        raise ToolError(f"cannot subscribe to {pattern}: {exc.message}{hint}",
                        EXIT_FAILED) from None


async def _stop_on_signal(signals, recorder: _Recorder) -> None:
    async for _ in signals:
        recorder.stop()
        return


async def _flush_regularly(recorder: _Recorder, progress: Progress, shown: str) -> None:
    while True:
        await trio.sleep(FLUSH_EVERY_S)
        recorder.flush()
        progress.show(recorder.describe(shown, final=False))
