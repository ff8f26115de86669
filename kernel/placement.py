"""Where the router's hot threads run: on one CPU together while the bus carries small
messages, anywhere while it carries large ones.

Every message through the kernel crosses two threads of the router's own: a libzmq I/O thread,
which reads and writes the sockets (the image's [bus] io_threads says how many there are), and
the route thread. Each crossing wakes the other thread.
When the scheduler puts the woken thread on another, idle CPU, the wake-up costs an
inter-processor interrupt and that CPU's return from idle: on the 2-core machines this project
is measured on, that made a 64 B round trip through the kernel 231 us against 183 us with both
threads held on one CPU. With 1 MiB payloads the I/O thread's copies are the cost instead, and
they overlap the peers' own copies only when the thread may run on either CPU: held on one, a
1 MiB round trip took ~20% longer.

So the router reviews what it has routed every `REVIEW_S` and keeps the two threads on one CPU
while the average message is small, and lets them go while it is large. The two thresholds are
apart so that traffic near one of them does not make the threads hop back and forth.
"""
from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

# Large messages take ~1 ms each: at most ~100 of a burst go before the threads move.
REVIEW_S = 0.1
SMALL = 32 * 1024  # an average below this brings the threads together
LARGE = 96 * 1024  # an average above this lets them go

RouterCpu = int | Literal["auto", "off"]


class PlacementError(ValueError):
    """A router_cpu setting this machine cannot honour."""


def router_cpu(setting: RouterCpu, allowed: Iterable[int] | None = None) -> int | None:
    """The CPU to hold the router's threads on, or None to leave them to the scheduler.

    "auto" takes the highest-numbered CPU the kernel may use (the first ones tend to take the
    interrupts), unless it may use only one; "off" never holds them.
    """
    cpus = sorted(os.sched_getaffinity(0) if allowed is None else allowed)
    if setting == "off":
        return None
    if setting == "auto":
        return cpus[-1] if len(cpus) > 1 else None
    if setting not in cpus:
        raise PlacementError(f"router_cpu = {setting}, but the kernel may run only on CPUs "
                             f"{', '.join(map(str, cpus))}")
    return setting


@dataclass
class Placement:
    """The decision alone: fed the totals the route loop counts, says where the threads go."""

    small: int = SMALL
    large: int = LARGE
    together: bool = True  # at boot the bus carries joins, signals and requests: small
    _msgs: int = field(default=0, repr=False)
    _bytes: int = field(default=0, repr=False)

    def review(self, msgs: int, nbytes: int) -> bool:
        """Take the loop's running totals; True if `together` changed since the last review.

        A window without traffic changes nothing.
        """
        window_msgs, window_bytes = msgs - self._msgs, nbytes - self._bytes
        self._msgs, self._bytes = msgs, nbytes
        if window_msgs <= 0:
            return False
        average = window_bytes / window_msgs
        if self.together and average > self.large:
            self.together = False
            return True
        if not self.together and average < self.small:
            self.together = True
            return True
        return False


def io_threads() -> list[int]:
    """The thread ids of this process's libzmq I/O threads (libzmq names them ZMQbg/IO/<n>)."""
    found = []
    for task in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{task}/comm") as comm:
                if comm.read().startswith("ZMQbg/IO/"):
                    found.append(int(task))
        except FileNotFoundError:  # the thread ended meanwhile
            pass
    return found


def hold(threads: Iterable[int], cpus: set[int]) -> None:
    """Let each thread (by thread id) run only on `cpus`."""
    for tid in threads:
        try:
            os.sched_setaffinity(tid, cpus)
        except ProcessLookupError:  # it ended meanwhile
            pass
