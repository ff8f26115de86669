"""Messages the bus itself speaks: joining, errors and statistics.

Schema evolution (msgspec's rules): new fields get defaults; fields are never renamed or re-typed.
"""
from __future__ import annotations

from typing import Annotated

import msgspec


class Hello(msgspec.Struct, frozen=True, kw_only=True, tag="hello"):
    """A process joining the bus: who it is and which subject prefixes it answers requests for."""

    name: str
    pid: int
    provides: list[str] = []


class Welcome(msgspec.Struct, frozen=True, kw_only=True, tag="welcome"):
    """The kernel's answer to Hello. `max_unread`: the publication bytes it holds for this
    process beyond what the process has reported taken (see Taken): a process that never
    reports gets that many bytes of publications, then only drops. 0, no such limit."""

    name: str
    heartbeat_ms: int
    implementation: str
    max_unread: Annotated[int, msgspec.Meta(ge=0)] = 0


class Taken(msgspec.Struct, frozen=True, kw_only=True, tag="taken"):
    """A process's running total of publication bytes (payloads and attachments) it has taken
    off its socket: what the kernel subtracts from what it sent to know what it still holds."""

    total: Annotated[int, msgspec.Meta(ge=0)]


class Replaced(msgspec.Struct, frozen=True, kw_only=True, tag="replaced"):
    """The kernel's last word to a connection whose name another process (`pid`) has just
    joined under: the kernel speaks to the newcomer now, and drops everything from this one."""

    pid: int


class ErrorReply(msgspec.Struct, frozen=True, kw_only=True, tag="error"):
    """Payload of an ERR message; `code` is one of carnel.ipc.errors' codes."""

    code: str
    message: str


class Empty(msgspec.Struct, frozen=True, kw_only=True, tag="empty"):
    """A request or reply that carries nothing."""


class ProcessStats(msgspec.Struct, frozen=True, kw_only=True, tag="process_stats"):
    name: str
    pid: int
    msgs_in: int
    bytes_in: int
    msgs_out: int
    bytes_out: int
    drops: int
    rejects: dict[str, int]


class SubjectStats(msgspec.Struct, frozen=True, kw_only=True, tag="subject_stats"):
    subject: str
    subscribers: int
    seq: int
    msgs: int
    bytes: int
    drops: int
    retained: bool


class BusStats(msgspec.Struct, frozen=True, kw_only=True, tag="bus_stats"):
    implementation: str
    processes: list[ProcessStats]
    subjects: list[SubjectStats]
    anonymous_rejects: dict[str, int] = {}
    requests_timed_out: int = 0
