"""The OTP rules as plain functions: who restarts, who goes down with whom, when to give up."""
from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from carnel.kernel.image import RestartType, Strategy, SupervisorConfig

__all__ = ["RestartWindow", "restart_delay", "restarts_after", "siblings_to_restart"]


def restarts_after(restart: RestartType, normal: bool) -> bool:
    """Whether a process that exited on its own is restarted (OTP `do_restart`)."""
    if restart == "permanent":
        return True
    if restart == "transient":
        return not normal
    return False


def siblings_to_restart(strategy: Strategy, failed: str, order: Sequence[str]) -> list[str]:
    """The other processes stopped and restarted with `failed`, in start order."""
    if strategy == "one_for_all":
        return [name for name in order if name != failed]
    if strategy == "rest_for_one":
        return list(order[order.index(failed) + 1:])
    return []


def restart_delay(config: SupervisorConfig, consecutive_failures: int) -> float:
    """Capped exponential backoff: the delay doubles with each failure in a row."""
    exponent = min(max(consecutive_failures - 1, 0), 64)
    return min(config.restart_delay_max, config.restart_delay * 2.0 ** exponent)


class RestartWindow:
    """OTP's restart intensity: over `intensity` restarts within `period` seconds is too many."""

    def __init__(self, intensity: int, period: float) -> None:
        self.intensity = intensity
        self.period = period
        self._times: deque[float] = deque()

    def add(self, now: float) -> int:
        """Count a restart at `now`; returns how many fall within the window, this one included."""
        while self._times and self._times[0] < now - self.period:
            self._times.popleft()
        self._times.append(now)
        return len(self._times)

    def exceeded(self, count: int) -> bool:
        return count > self.intensity
