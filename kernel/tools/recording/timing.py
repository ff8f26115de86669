"""When replay sends each message: times in, delays out, no clock and no sleeping here."""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Pace:
    """Replay at `rate` times the recorded speed; rate 0 sends as fast as possible."""

    rate: float = 1.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.rate) and self.rate >= 0):
            raise ValueError(f"the rate must be a number >= 0, not {self.rate}")

    def delay(self, first_ns: int, log_ns: int, elapsed_s: float) -> float:
        """Seconds still to wait before sending the message logged at `log_ns`, when the pass
        began with the message logged at `first_ns` and has run `elapsed_s` seconds.

        Never negative: a message that is already due (late, or logged out of order) goes now.
        """
        if self.rate == 0:
            return 0.0
        return max(0.0, (log_ns - first_ns) / 1e9 / self.rate - elapsed_s)
