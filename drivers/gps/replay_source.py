"""The replay adapter: a receiver log played back with its own timing, as a byte stream.

replay.py reads the log and works out when each sentence is due; this only waits for it, on
Trio's clock, so that tests replay on a fake clock and `rate` speeds the log up or slows it
down. Looping starts the log again one epoch after its last sentence.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import trio

from carnel.drivers.gps.config import GpsConfig
from carnel.drivers.gps.reading import FixOutput, pump
from carnel.drivers.gps.receiver import NmeaReceiver
from carnel.drivers.gps.replay import ReplayStep, pace, read_log
from carnel.ipc.device import DeviceLink, DeviceLost


class ReplayStream(trio.abc.ReceiveStream):
    """Each step's sentence when it is due; b"" once the log is over and not looping."""

    def __init__(self, steps: Sequence[ReplayStep], *, rate: float = 1.0, loop: bool = False,
                 epoch_s: float = 1.0) -> None:
        if not steps:
            raise ValueError("a replay needs at least one sentence")
        self._steps = steps
        self._rate = rate
        self._loop = loop
        # Where the next pass starts, relative to this one: one epoch after its last sentence.
        self._lap_s = steps[-1].offset_s + epoch_s
        self._index = 0
        self._start: float | None = None
        self._pending = b""

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        if not self._pending:
            self._pending = await self._next_due()
        if max_bytes is None:
            max_bytes = len(self._pending)
        data, self._pending = self._pending[:max_bytes], self._pending[max_bytes:]
        return data

    async def _next_due(self) -> bytes:
        steps = self._steps
        if self._start is None:
            self._start = trio.current_time()
        if self._index == len(steps):
            if not self._loop:
                return b""
            self._index = 0
            self._start += self._lap_s / self._rate
        due = steps[self._index].offset_s
        await trio.sleep_until(self._start + due / self._rate)
        # Sentences due at the same moment (one epoch of a log without timestamps) go together.
        end = self._index
        while end < len(steps) and steps[end].offset_s == due:
            end += 1
        data = b"".join(step.sentence for step in steps[self._index:end])
        self._index = end
        return data

    async def aclose(self) -> None:
        self._pending = b""
        await trio.lowlevel.checkpoint()


async def replay_session(link: DeviceLink, config: GpsConfig, output: FixOutput,
                         clock: Callable[[], float], log_path: str) -> None:
    """Replay the log at `log_path`; at its end (not looping) report the fix lost and idle."""
    # Read in one go on this thread: logs are small, and a worker thread would let a fake
    # clock in tests jump ahead while it reads.
    data = Path(log_path).read_bytes()
    steps = pace(read_log(data))
    if not steps:
        raise DeviceLost(f"{log_path} holds no NMEA sentences")
    stream = ReplayStream(steps, rate=config.rate, loop=config.loop)
    await link.connected()
    await pump(stream, NmeaReceiver(config.max_sentence_length), output, clock=clock,
               quiet_s=config.quiet_s, silence_s=None)
    await output.ended()
    link.svc.log.info("replay_finished", log=log_path)
    await trio.sleep_forever()
