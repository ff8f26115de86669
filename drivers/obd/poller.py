"""Which PID to read next: earliest-due-first over the supported PIDs, each at its own period."""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from carnel.drivers.obd.errors import UsageError
from carnel.drivers.obd.pids import spec_for


@dataclass(frozen=True, slots=True)
class PollRate:
    """Read `pid` every `period` seconds (as often as the bus allows when it is busier)."""

    pid: int
    period: float

    def __post_init__(self) -> None:
        spec_for(self.pid)
        if not (isinstance(self.period, (int, float)) and math.isfinite(self.period) and self.period > 0):
            raise UsageError("bad_rate",
                             f"PID {self.pid:#04x}: period must be positive seconds, not {self.period!r}")


@dataclass(frozen=True, slots=True)
class PollChoice:
    """The PID to read now, or None and the time the next one falls due."""

    pid: int | None
    wake_at: float | None


class PidPoller:
    """Schedules mode 01 reads: only PIDs the vehicle supports, each when its period has passed.

    The PID whose due time is earliest goes first, so a slow PID is never starved by a fast
    one when the adapter cannot keep up: its due time only grows older until it is the oldest.
    """

    def __init__(self, rates: Iterable[PollRate], supported: frozenset[int]) -> None:
        rates = tuple(rates)
        pids = [rate.pid for rate in rates]
        if len(set(pids)) != len(pids):
            raise UsageError("bad_rate", f"a PID is listed twice in {pids}")
        self.rates = tuple(rate for rate in rates if rate.pid in supported)
        self.unsupported = frozenset(pid for pid in pids if pid not in supported)
        self._last_read: dict[int, float] = {}

    def choose(self, now: float) -> PollChoice:
        """The PID to read at `now`, if any is due."""
        if not self.rates:
            return PollChoice(None, None)
        due, _, pid = min((self._due(rate), rate.period, rate.pid) for rate in self.rates)
        if due <= now:
            return PollChoice(pid, None)
        return PollChoice(None, due)

    def mark_read(self, pid: int, now: float) -> None:
        """Record that `pid` was just requested; its next read falls due a period later."""
        if all(rate.pid != pid for rate in self.rates):
            raise UsageError("unknown_pid", f"PID {pid:#04x} is not polled")
        self._last_read[pid] = now

    def _due(self, rate: PollRate) -> float:
        last = self._last_read.get(rate.pid)
        return -math.inf if last is None else last + rate.period
