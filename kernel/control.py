"""`kernel.*` on the bus: list processes and bus statistics; start, stop, restart, shut down."""
from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec
import trio

from carnel.ipc.errors import UNDECODABLE, BadRequest
from carnel.ipc.schemas.bus import BusStats, Empty
from carnel.ipc.schemas.kernel import Accepted, ProcessInfo, ProcessList, ProcessName
from carnel.ipc.wire import Header
from carnel.kernel import supervision as sv

if TYPE_CHECKING:
    from carnel.kernel.kernel import Kernel
    from carnel.kernel.router import Router

_encode = msgspec.msgpack.Encoder().encode
_name = msgspec.msgpack.Decoder(ProcessName)
_empty = msgspec.msgpack.Decoder(Empty)


def rss_kb(pid: int | None) -> int | None:
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


# Asked for what already holds, the kernel has nothing to do and says so; as with systemctl,
# that is no failure, so a script can ask for the state it wants without looking first.
_ALREADY_SO = {sv.StartRequested: "already_running", sv.StopRequested: "not_running"}


class Control:
    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.requests = {
            "kernel.ps": self.ps,
            "kernel.stats": self.stats,
            "kernel.start": self.start,
            "kernel.stop": self.stop,
            "kernel.restart": self.restart,
            "kernel.shutdown": self.shutdown,
        }

    def install(self, router: Router) -> None:
        router.provide_local("kernel", self.answer)

    async def answer(self, header: Header, payload: bytes) -> bytes:
        handler = self.requests.get(header.subject)
        if handler is None:
            raise BadRequest(f"the kernel answers {', '.join(sorted(self.requests))}")
        try:
            reply = handler(payload)
        except UNDECODABLE as exc:
            raise BadRequest(f"{header.subject}: {exc}") from None
        return _encode(reply)

    def ps(self, payload: bytes) -> ProcessList:
        kernel = self.kernel
        bus = {p.name: p for p in kernel.router.stats().processes}
        processes = []
        for status in kernel.supervisor.status():
            traffic = bus.get(status.name)
            processes.append(ProcessInfo(
                name=status.name, state=status.state.value, pid=status.pid,
                uptime_s=kernel.uptime(status.started_at) if status.pid else None,
                restarts=status.restarts,
                last_exit=status.last_exit, rss_kb=rss_kb(status.pid),
                msgs_in=traffic.msgs_in if traffic else 0,
                msgs_out=traffic.msgs_out if traffic else 0,
                drops=traffic.drops if traffic else 0,
                rejects=sum(kernel.router.rejects_of(status.name).values()),
                waits_for=status.waits_for,
            ))
        return ProcessList(image=kernel.image.name, hot_path=kernel.router.impl.name,
                           phase=kernel.supervisor.phase.value, processes=processes,
                           image_file=kernel.image.file,
                           operator_may_start=kernel.operator_may_start)

    def stats(self, payload: bytes) -> BusStats:
        stats = self.kernel.router.stats()
        refused = {**stats.anonymous_rejects, **self.kernel.zap.refused}
        return msgspec.structs.replace(stats, anonymous_rejects=refused)

    def _named(self, payload: bytes, event) -> Accepted:
        name = _name.decode(payload).name
        if name not in self.kernel.specs:
            raise BadRequest(f"no process named {name!r} in image {self.kernel.image.name}")
        try:
            self.kernel.handle(event(name, trio.current_time()))
        except sv.SupervisorError as exc:
            if exc.reason != _ALREADY_SO.get(event):
                raise BadRequest(exc.detail) from None
            state = next(s.state for s in self.kernel.supervisor.status() if s.name == name)
            return Accepted(detail=f"{name} is already {state.value}")
        return Accepted(detail=name)

    def start(self, payload: bytes) -> Accepted:
        return self._named(payload, sv.StartRequested)

    def stop(self, payload: bytes) -> Accepted:
        return self._named(payload, sv.StopRequested)

    def restart(self, payload: bytes) -> Accepted:
        return self._named(payload, sv.RestartRequested)

    def shutdown(self, payload: bytes) -> Accepted:
        _empty.decode(payload)
        self.kernel.handle(sv.ShutdownRequested(trio.current_time()))
        return Accepted(detail="shutting down")
