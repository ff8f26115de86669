"""What to ask the vehicle next: the polled PIDs at their rates, and the diagnostics now and then.

The diagnostics (VIN, stored and pending trouble codes) are read as one group at the start of
a connection and again every `diagnostics_period` seconds; they go ahead of the PIDs when due,
which costs the PIDs three requests a period. Pure: the caller passes the time.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from carnel.drivers.obd.errors import UsageError
from carnel.drivers.obd.poller import PidPoller, PollRate
from carnel.drivers.obd.requests import DtcKind, ReadDtcs, ReadPid, ReadVin, Request

DIAGNOSTICS: tuple[Request, ...] = (ReadVin(), ReadDtcs(DtcKind.STORED), ReadDtcs(DtcKind.PENDING))


@dataclass(frozen=True, slots=True)
class Due:
    """The requests to send now, one after the other; or none, and when to ask again."""

    requests: tuple[Request, ...]
    wake_at: float | None = None


class ReadSchedule:
    """Earliest-due-first over the supported polled PIDs, with the diagnostics group on top."""

    def __init__(self, rates: Iterable[PollRate], supported: frozenset[int],
                 diagnostics_period: float) -> None:
        if not (math.isfinite(diagnostics_period) and diagnostics_period > 0):
            raise UsageError("bad_rate", f"diagnostics period must be positive seconds, "
                                         f"not {diagnostics_period!r}")
        self._poller = PidPoller(rates, supported)
        self._diagnostics_period = diagnostics_period
        self._diagnostics_due = -math.inf

    @property
    def polled(self) -> frozenset[int]:
        """The PIDs that will be read: configured and supported."""
        return frozenset(rate.pid for rate in self._poller.rates)

    @property
    def unsupported(self) -> frozenset[int]:
        """The configured PIDs the vehicle does not support, which are never asked for."""
        return self._poller.unsupported

    def take(self, now: float) -> Due:
        """The requests due at `now`, counted as sent now; or when the next falls due."""
        if self._diagnostics_due <= now:
            self._diagnostics_due = now + self._diagnostics_period
            return Due(DIAGNOSTICS)
        choice = self._poller.choose(now)
        if choice.pid is not None:
            self._poller.mark_read(choice.pid, now)
            return Due((ReadPid(choice.pid),))
        wake_at = self._diagnostics_due
        if choice.wake_at is not None:
            wake_at = min(wake_at, choice.wake_at)
        return Due((), wake_at)
