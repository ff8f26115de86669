"""Replaying a candump -L or Vector ASC log as if its frames came off the bus, in their timing.

The pacing is ReplayPacer's (pure); this module reads the file and does the sleeping. Frames that
are due together go out as one batch, so a replay at a high rate (or at "max") pays for one
wake-up per batch rather than one per frame.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

import trio

from carnel.drivers.can.frame import CanFrame
from carnel.drivers.can.lines import LineReader
from carnel.drivers.can.pacing import ReplayPacer
from carnel.ipc.device import DeviceLost

Deliver = Callable[[list[CanFrame]], Awaitable[None]]

# ~1500 candump lines: one worker-thread hop per chunk costs a few microseconds a frame at most.
READ_CHUNK = 64 * 1024
# Frames handed over per wake-up at most, so that a replay at "max" still lets the bus pump and
# the status reporter run between batches.
MAX_BATCH = 256


class AsyncLog(Protocol):
    """The part of an async file a replay uses (what `trio.open_file(path, "rb")` returns)."""

    async def read(self, size: int = -1, /) -> bytes: ...

    async def seek(self, offset: int, whence: int = 0, /) -> int: ...


class FramePlayer:
    """Hands frames to `deliver` at the times the pacer gives, counted from the first `play`."""

    def __init__(self, pacer: ReplayPacer, deliver: Deliver, *, max_batch: int = MAX_BATCH) -> None:
        self._pacer = pacer
        self._deliver = deliver
        self._max_batch = max_batch
        self._start: float | None = None

    async def play(self, frames: list[CanFrame]) -> None:
        """Deliver `frames` in order, each no earlier than it is due; returns when all are out."""
        if self._start is None:
            self._start = trio.current_time()
        start, due, deliver = self._start, self._pacer.due, self._deliver
        now = trio.current_time()
        batch: list[CanFrame] = []
        for frame in frames:
            deadline = start + due(frame.timestamp)
            if deadline > now:
                if batch:
                    await deliver(batch)
                    batch = []
                await trio.sleep_until(deadline)
                now = trio.current_time()
            batch.append(frame)
            if len(batch) >= self._max_batch:
                await deliver(batch)
                batch = []
                await trio.lowlevel.checkpoint()
                now = trio.current_time()
        if batch:
            await deliver(batch)
        await trio.lowlevel.checkpoint()


class LogReplay:
    """An open log file read with `reader` and played through a FramePlayer, once or in a loop.

    `reader` may outlive the replay (the driver keeps one, so that its `rejections` and `skipped`
    count every pass and every reconnection); a pass that breaks off leaves no partial line behind.
    """

    def __init__(self, log: AsyncLog, reader: LineReader, pacer: ReplayPacer, *, loop: bool) -> None:
        self.reader = reader
        self.loop = loop
        self.passes = 0
        self._log = log
        self._pacer = pacer

    async def run(self, deliver: Deliver) -> None:
        """Replay to the end of the log, or for ever when looping.

        Raises OSError when the file cannot be read, and DeviceLost when a pass over it finds
        no frame (an empty log, or one in another format) rather than looping on nothing.
        """
        player = FramePlayer(self._pacer, deliver)
        while True:
            if not await self._play_pass(player):
                raise DeviceLost("the log holds no frames")
            self.passes += 1
            if not self.loop:
                return
            self._pacer.start_pass()
            await self._log.seek(0)

    async def _play_pass(self, player: FramePlayer) -> int:
        reader, log = self.reader, self._log
        count = 0
        try:
            while chunk := await log.read(READ_CHUNK):
                frames = reader.feed(chunk)
                count += len(frames)
                await player.play(frames)
        except BaseException:
            # A partial line left behind would be glued to the next session's first line.
            reader.reset()
            raise
        frames = reader.close()
        count += len(frames)
        await player.play(frames)
        return count
