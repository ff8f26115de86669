"""`carnel replay`: publish a recording's messages again, with their original timing."""
from __future__ import annotations

import argparse
import math
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import trio

from carnel.ipc.client import BusClient
from carnel.ipc.errors import CallError
from carnel.ipc.subjects import SubjectError, SubscriptionIndex, validate_pattern
from carnel.ipc.wire import Flag
from carnel.kernel.tools.bus import failed, refusals, routed, run_tool
from carnel.kernel.tools import recording
from carnel.kernel.tools.recording import BusMessage, Pace, human_bytes, plural
from carnel.kernel.tools.recording.progress import Progress
from carnel.kernel.tools.session import (
    EXIT_OK, EXIT_USAGE, ToolError, check_kernel, operator_session)

NAME = "replay"
# The kernel's own announcements (kernel.process.*) describe the machine that was recorded, and
# only the kernel may speak for it: they are not replayed.
KERNEL = "kernel"

DESCRIPTION = """\
Publish the messages of a recording (made by carnel record) again, in their order and with their
original timing, scaled by --rate. Retained messages are published retained, attachments go out
with their message. The kernel stamps this tool as their source. What the kernel itself published
(kernel.process.*) is not replayed. A recording that was cut short is replayed up to the cut,
one damaged is replayed up to the damage, and then exits 1. Exits 1 too if the kernel refused
some of the messages (see the image's [operator] table)."""

EXAMPLE = """\
example:
  carnel replay drive.mcap --rate 2 --subjects 'vehicle.>'
  replayed 4802 messages on 9 subjects in 26.2 s from drive.mcap (2x, 1 pass)"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(NAME, help="publish a recording's messages again",
                              description=DESCRIPTION, epilog=EXAMPLE,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", type=Path, metavar="FILE.mcap",
                   help="a recording; - reads one from stdin, once (no --loop)")
    p.add_argument("--rate", type=_rate, default=1.0, metavar="X",
                   help="speed: 2 twice as fast, 0.5 half as fast, 0 as fast as possible, "
                        "where a subscriber that falls behind loses messages (default 1)")
    p.add_argument("--loop", action="store_true", help="start again at the end, until Ctrl-C")
    p.add_argument("--subjects", nargs="+", default=[">"], metavar="PATTERN",
                   help="replay only the subjects matching these patterns (default: >)")


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"expected a number >= 0, not {text!r}")
    return value


@dataclass(slots=True)
class Replayed:
    """What a replay has sent so far."""

    messages: int = 0
    attachments: int = 0
    bytes: int = 0
    subjects: set[str] = field(default_factory=set)
    kernel_skipped: int = 0
    passes: int = 0  # whole passes over the recording
    passed_messages: int = 0  # messages sent by the end of the last whole pass
    position_s: float = 0.0  # how far into the recording the current pass is
    cut_short: bool = False
    damage: str = ""  # why the replay stopped before the end of the file, if it did
    started: float = field(default_factory=time.monotonic)

    def count(self, msg: BusMessage) -> None:
        self.messages += 1
        self.attachments += len(msg.attachments)
        self.bytes += len(msg.payload) + sum(len(frame) for frame in msg.attachments)
        self.subjects.add(msg.subject)

    def _passes(self) -> str:
        partial = self.messages > self.passed_messages  # stopped by Ctrl-C or damage midway
        if self.passes == 0:
            return "part of a pass" if partial else "0 passes"
        whole = f"{self.passes} pass" + ("" if self.passes == 1 else "es")
        return f"{whole} and part of another" if partial else whole

    def describe(self, path: str, rate: float, *, final: bool = True) -> str:
        elapsed = time.monotonic() - self.started
        speed = "as fast as possible" if rate == 0 else f"{rate:g}x"
        if not final:
            return (f"replaying {path} ({speed}): {plural(self.messages, 'message')}, "
                    f"{human_bytes(self.bytes)}, {self.position_s:.1f} s into pass "
                    f"{self.passes + 1}")
        passes = self._passes()
        text = (f"replayed {plural(self.messages, 'message')} on "
                f"{plural(len(self.subjects), 'subject')} in {elapsed:.1f} s from {path} "
                f"({speed}, {passes})")
        if self.attachments:
            text += f", with {plural(self.attachments, 'attachment')}"
        if self.kernel_skipped:
            text += f"; {plural(self.kernel_skipped, 'kernel announcement')} not replayed"
        if self.cut_short:
            text += f"\nnote: {path} was cut short (its recorder was stopped without finishing " \
                    "it): everything before the cut was replayed"
        return text


def run(args, directory: Path) -> int:
    selection = SubscriptionIndex()
    for pattern in args.subjects:
        try:
            selection.add(validate_pattern(pattern), True)
        except SubjectError as exc:
            raise ToolError(f"not a subject pattern: {exc}", EXIT_USAGE) from None
    if args.file == recording.STDIN:
        if sys.stdin.isatty():
            raise ToolError(recording.STDIN_IS_A_TERMINAL, EXIT_USAGE)
        if args.loop:
            raise ToolError("--loop reads the recording again, and stdin can be read only once: "
                            "save it to a file", EXIT_USAGE)
    else:
        try:
            # A file that cannot be replayed fails before joining.
            recording.RecordingReader(args.file).close()
        except recording.RecordingError as exc:
            raise ToolError(str(exc), EXIT_USAGE) from None
    check_kernel(directory)
    return run_tool(_replay, args, directory, selection)


async def play(messages: Iterable[BusMessage], pace: Pace,
               publish: Callable[[BusMessage], Awaitable[None]],
               position: Callable[[float], None] = lambda _: None) -> None:
    """Publish `messages` on `pace`'s schedule, the first one at once."""
    started = trio.current_time()
    first_ns: int | None = None
    for msg in messages:
        if first_ns is None:
            first_ns = msg.log_ns
        delay = pace.delay(first_ns, msg.log_ns, trio.current_time() - started)
        if delay > 0:
            await trio.sleep(delay)
        else:
            # Yielding for every message due now would cost five times the sending; a full
            # outbox makes publish() wait, and the other tasks run then.
            await trio.lowlevel.checkpoint_if_cancelled()
        await publish(msg)
        position((msg.log_ns - first_ns) / 1e9)


async def replay_passes(path: Path, selection: SubscriptionIndex, pace: Pace, loop: bool,
                        publish: Callable[[BusMessage], Awaitable[None]],
                        replayed: Replayed) -> None:
    """Publish the recording's selected messages once, or pass after pass with `loop`, counting
    them in `replayed`. Damage found on the way ends the replay there, kept in `replayed.damage`.

    The file is read as a stream, so damage shows only when the reading gets to it. Finding it
    before publishing would mean reading the whole file first, at about 5 us a message: tens of
    seconds before the first message of an hour of CAN traffic.
    """
    async def publish_counted(msg: BusMessage) -> None:
        await publish(msg)
        replayed.count(msg)

    def position(seconds: float) -> None:
        replayed.position_s = seconds

    while True:
        before = replayed.messages
        try:
            with recording.RecordingReader(path) as reader:
                await play(_selected(reader, selection, replayed), pace, publish_counted, position)
                replayed.cut_short = not reader.complete
        except recording.RecordingError as exc:
            replayed.damage = str(exc)
            return
        replayed.passes += 1
        replayed.passed_messages = replayed.messages
        # A pass that sent nothing never waits, so looping over it would only spin.
        if not loop or replayed.messages == before:
            return


async def _replay(args, directory: Path, selection: SubscriptionIndex) -> int:
    progress = Progress()
    replayed = Replayed()
    try:
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async with operator_session(directory, NAME) as client:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(_cancel_on_signal, signals, nursery.cancel_scope)
                    nursery.start_soon(_show_progress, progress, replayed, args)
                    await replay_passes(args.file, selection, Pace(args.rate), args.loop,
                                        _publisher(client), replayed)
                    nursery.cancel_scope.cancel()
                try:
                    await routed(client)
                    refused = await refusals(client)
                except CallError as exc:
                    raise failed(exc) from None
    finally:
        if replayed.passes or replayed.messages:
            progress.say(replayed.describe(recording.recording_name(args.file), args.rate))
    problems = _problems(replayed, refused)
    if problems:
        raise ToolError("; ".join(problems))
    return EXIT_OK


def _problems(replayed: Replayed, refused: dict[str, int]) -> list[str]:
    found = []
    if replayed.damage:
        # Not a usage error: the file was a recording, and everything before the damage went out.
        found.append(f"{replayed.damage}; replay stopped there, after "
                     f"{plural(replayed.messages, 'message')}")
    # The kernel drops a refused publication without answering: its counters tell.
    if refused:
        reasons = ", ".join(f"{reason}: {count}" for reason, count in sorted(refused.items()))
        found.append(f"the kernel refused to route some of them ({reasons}): see the image's "
                     "[operator] table and [bus] max_message_size")
    return found


def _publisher(client: BusClient) -> Callable[[BusMessage], Awaitable[None]]:
    async def publish(msg: BusMessage) -> None:
        await client.publish_raw(msg.subject, msg.payload, msg.attachments,
                                 retain=bool(msg.flags & Flag.RETAIN))
    return publish


def _selected(messages: Iterable[BusMessage], selection: SubscriptionIndex,
              replayed: Replayed) -> Iterator[BusMessage]:
    wanted: dict[str, bool] = {}
    for msg in messages:
        if msg.source == KERNEL:
            if replayed.passes == 0:  # counted once, however many passes
                replayed.kernel_skipped += 1
            continue
        keep = wanted.get(msg.subject)
        if keep is None:
            keep = wanted[msg.subject] = bool(selection.match(msg.subject))
        if keep:
            yield msg


async def _cancel_on_signal(signals, scope: trio.CancelScope) -> None:
    async for _ in signals:
        scope.cancel()
        return


async def _show_progress(progress: Progress, replayed: Replayed, args) -> None:
    while True:
        await trio.sleep(1)
        progress.show(replayed.describe(recording.recording_name(args.file), args.rate,
                                        final=False))
