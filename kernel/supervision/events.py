"""What goes into the supervisor (events) and what comes out (actions), plus what `carnel ps` shows.

Every event carries `now`, the kernel's monotonic clock in seconds: the machine has no clock.
"""
from __future__ import annotations

import enum
import signal as signals
from dataclasses import dataclass, field

__all__ = [
    "Action",
    "Blocked",
    "Boot",
    "Escalate",
    "Event",
    "Exited",
    "Heartbeat",
    "ImagePhase",
    "ImageReady",
    "ImageStopped",
    "Kill",
    "ProcessState",
    "ProcessStatus",
    "Ready",
    "RestartRequested",
    "ShutdownRequested",
    "Spawn",
    "SpawnFailed",
    "Spawned",
    "StartRequested",
    "StateChanged",
    "StopRequested",
    "SupervisorError",
    "Tick",
]


class SupervisorError(Exception):
    """A request the supervisor refuses, or an event that breaks the spawner's contract."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}")


class ProcessState(enum.Enum):
    STOPPED = "stopped"
    WAITING = "waiting"  # wants to run; a process it starts after is not ready yet
    STARTING = "starting"  # spawn requested or spawned, READY not yet received
    READY = "ready"
    STOPPING = "stopping"  # signalled, exit not yet seen
    BACKOFF = "backoff"  # will be spawned again once its restart delay has passed
    FAILED = "failed"  # exited abnormally and will not be restarted


class ImagePhase(enum.Enum):
    IDLE = "idle"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class ProcessStatus:
    name: str
    state: ProcessState
    pid: int | None
    started_at: float | None
    ready_at: float | None
    restarts: int
    last_exit: str | None
    waits_for: str | None = None  # a dependency that will not come up by itself (see Blocked)


# Events.

@dataclass(frozen=True, slots=True)
class Boot:
    now: float


@dataclass(frozen=True, slots=True)
class Spawned:
    """Answers a Spawn: the process exists. Every Spawn gets one Spawned or SpawnFailed."""

    name: str
    pid: int
    now: float


@dataclass(frozen=True, slots=True)
class SpawnFailed:
    name: str
    reason: str
    now: float


@dataclass(frozen=True, slots=True)
class Ready:
    """The process said READY. `pid` is the authenticated sender, so a stale READY is ignored."""

    name: str
    pid: int
    now: float


@dataclass(frozen=True, slots=True)
class Heartbeat:
    name: str
    pid: int
    now: float


@dataclass(frozen=True, slots=True)
class Exited:
    """The process ended: exactly one of `exit_code` and `signal` is set."""

    name: str
    pid: int
    now: float
    exit_code: int | None = None
    signal: int | None = None

    def __post_init__(self) -> None:
        if (self.exit_code is None) == (self.signal is None):
            raise SupervisorError("bad_event", "an exit has exactly one of exit_code and signal")

    @classmethod
    def from_returncode(cls, name: str, pid: int, returncode: int, now: float) -> Exited:
        """From a subprocess-style return code, where -N means killed by signal N."""
        if returncode < 0:
            return cls(name, pid, now, signal=-returncode)
        return cls(name, pid, now, exit_code=returncode)

    @property
    def normal(self) -> bool:
        return self.exit_code == 0

    def describe(self) -> str:
        if self.signal is None:
            return f"exit {self.exit_code}"
        try:
            return signals.Signals(self.signal).name
        except ValueError:
            return f"signal {self.signal}"


@dataclass(frozen=True, slots=True)
class Tick:
    """Time has passed; send one at `next_deadline()`."""

    now: float


@dataclass(frozen=True, slots=True)
class StartRequested:
    name: str
    now: float


@dataclass(frozen=True, slots=True)
class StopRequested:
    name: str
    now: float


@dataclass(frozen=True, slots=True)
class RestartRequested:
    name: str
    now: float


@dataclass(frozen=True, slots=True)
class ShutdownRequested:
    now: float


Event = (Boot | Spawned | SpawnFailed | Ready | Heartbeat | Exited | Tick | StartRequested
         | StopRequested | RestartRequested | ShutdownRequested)


# Actions.

@dataclass(frozen=True, slots=True)
class Spawn:
    name: str


@dataclass(frozen=True, slots=True)
class Kill:
    """Send `signal` to the process. Deliver it through the process handle, never a bare pid:
    the process may have exited since, and its pid been reused."""

    name: str
    pid: int
    signal: signals.Signals
    why: str = field(default="", compare=False)  # for the log: the kill itself is the same


@dataclass(frozen=True, slots=True)
class Escalate:
    """Too many restarts: the image is going down. Stops follow; ImageStopped ends it."""

    process: str
    reason: str


@dataclass(frozen=True, slots=True)
class Blocked:
    """`name` wants to run but starts after `on`, which will not come up by itself: it failed
    and is not restarted, or the operator stopped it (`on_exit` says how it ended). Sent once
    each time this begins; starting `on` lets `name` start too."""

    name: str
    on: str
    on_state: ProcessState
    on_exit: str | None


@dataclass(frozen=True, slots=True)
class ImageReady:
    """Every permanent process is READY (sent once per boot; systemd's READY=1)."""


@dataclass(frozen=True, slots=True)
class ImageStopped:
    reason: str


@dataclass(frozen=True, slots=True)
class StateChanged:
    name: str
    old: ProcessState
    new: ProcessState


Action = Spawn | Kill | Escalate | Blocked | ImageReady | ImageStopped | StateChanged
