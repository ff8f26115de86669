"""The kernel's control API (`kernel.*` requests) and its announcements."""
from __future__ import annotations

import msgspec

from carnel.ipc.schemas.bus import BusStats, Empty
from carnel.ipc.schemas.registry import Method, Topic


class ProcessInfo(msgspec.Struct, frozen=True, kw_only=True, tag="process_info"):
    name: str
    state: str
    pid: int | None
    uptime_s: float | None
    restarts: int
    last_exit: str | None
    rss_kb: int | None
    msgs_in: int = 0
    msgs_out: int = 0
    drops: int = 0
    rejects: int = 0
    # A process it starts after that will not come up by itself (failed, or stopped): until
    # that one is started, this one waits.
    waits_for: str | None = None


class ProcessList(msgspec.Struct, frozen=True, kw_only=True, tag="process_list"):
    image: str
    hot_path: str
    phase: str
    processes: list[ProcessInfo]
    image_file: str = ""  # the file the running image was read from; "" if it is bundled
    # Whether the image's [operator] may call kernel.start: what a waiting process's note says.
    operator_may_start: bool = True


class ProcessName(msgspec.Struct, frozen=True, kw_only=True, tag="process_name"):
    name: str


class Accepted(msgspec.Struct, frozen=True, kw_only=True, tag="accepted"):
    """The kernel took the request; what it started happens asynchronously."""

    detail: str = ""


class ProcessStateChanged(msgspec.Struct, frozen=True, kw_only=True, tag="process_state"):
    """Published, retained, on `kernel.process.<name>`."""

    name: str
    old: str
    new: str
    pid: int | None


TOPICS = (Topic("kernel.process.*", ProcessStateChanged),)
METHODS = (
    Method("kernel.ps", Empty, ProcessList),
    Method("kernel.stats", Empty, BusStats),
    Method("kernel.start", ProcessName, Accepted),
    Method("kernel.stop", ProcessName, Accepted),
    Method("kernel.restart", ProcessName, Accepted),
    Method("kernel.shutdown", Empty, Accepted),
)
