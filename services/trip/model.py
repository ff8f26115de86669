"""Trip distance integrated from speed samples: pure, no I/O."""
from __future__ import annotations

from dataclasses import dataclass

# A gap longer than this between two samples is a lost feed, not a long constant speed.
MAX_STEP_NS = 5_000_000_000


@dataclass(slots=True)
class TripMeter:
    metres: float = 0.0
    since_ns: int = 0
    _last_ns: int | None = None
    _last_kmh: float = 0.0

    def add(self, kmh: float, at_ns: int) -> float:
        """Account for a speed sample taken at `at_ns`; returns the distance so far."""
        if self._last_ns is not None and 0 < at_ns - self._last_ns <= MAX_STEP_NS:
            # Trapezoid rule over the interval since the previous sample.
            mean_ms = (self._last_kmh + kmh) / 2 / 3.6
            self.metres += mean_ms * (at_ns - self._last_ns) / 1e9
        if self._last_ns is None or at_ns > self._last_ns:
            self._last_ns, self._last_kmh = at_ns, kmh
        return self.metres

    def reset(self, at_ns: int) -> None:
        self.metres = 0.0
        self.since_ns = at_ns
