"""When to replay each frame of a log: log timestamps in, offsets from the replay's start out.

The replay adapter sleeps until `start + offset`; absolute deadlines rather than per-frame delays
keep the late wake-ups of one frame from adding up over a long replay.
"""

from __future__ import annotations

# A longer silence in a log is a pause in the capture (two sessions in one file, a clock step),
# not bus time worth waiting through.
MAX_GAP_S = 10.0


class ReplayPacer:
    """Offsets of frames from the start of a replay, at `rate` times the logged speed.

    A rate of 0 replays as fast as possible: every offset is 0. The replay follows the latest
    time logged so far: a frame logged a little earlier than one before it (channels interleaved
    in one log) is due at once, while a step back of more than `max_gap_s` is a clock step and
    the log's time starts again from there. A gap longer than `max_gap_s` counts as `max_gap_s`,
    and the seam between two passes of a looped log as no gap.
    """

    def __init__(self, rate: float, max_gap_s: float = MAX_GAP_S) -> None:
        if not rate >= 0:
            raise ValueError(f"rate {rate!r} is not a number >= 0")
        self._scale = 1.0 / rate if rate else 0.0
        self._max_gap = max_gap_s
        self._latest: float | None = None
        self._offset = 0.0

    def due(self, timestamp: float) -> float:
        """Seconds after the replay's start at which the frame logged at `timestamp` is due."""
        latest = self._latest
        if latest is None or timestamp < latest - self._max_gap:
            self._latest = timestamp
        elif timestamp > latest:
            self._offset += min(timestamp - latest, self._max_gap) * self._scale
            self._latest = timestamp
        return self._offset

    def start_pass(self) -> None:
        """The log starts over: its first frame follows the last one without a gap."""
        self._latest = None
