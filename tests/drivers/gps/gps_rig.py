"""Stand-ins for the bus in the gps driver's adapter and wiring tests: they record what they get
and let a test wait for it (with a deadline around the wait), instead of sleeping.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import structlog
import trio

from carnel.drivers.gps import Fix, FixEvent, FixLost, Rejected
from carnel.ipc.schemas.device import DeviceStatus
from carnel.ipc.schemas.gps import GpsFix

DATA = Path(__file__).parent / "data" / "gpsd"
VERSION = b'{"class":"VERSION","release":"3.22","rev":"3.22","proto_major":3,"proto_minor":14}\r\n'
DEVICES = b'{"class":"DEVICES","devices":[{"class":"DEVICE","path":"/dev/ttyUSB0"}]}\r\n'
WATCHING = b'{"class":"WATCH","enable":true,"json":true,"nmea":false}\r\n'


def receiver_output(log: str) -> bytes:
    """A log's bytes without its '#' header lines, which the receiver never sent."""
    lines = (DATA / log).read_bytes().splitlines(keepends=True)
    return b"".join(line for line in lines if not line.startswith(b"#"))


def gpsd_reports(chk: str = "garmin-10x.log.chk") -> list[bytes]:
    """gpsd's JSON report lines from one of its regression outputs, CRLF-ended as gpsd sends."""
    return [line + b"\r\n" for line in (DATA / chk).read_bytes().splitlines()
            if line.startswith(b"{")]


class Changes:
    """Something that grows; `wait_until(predicate)` returns once the predicate holds."""

    def __init__(self) -> None:
        self._changed = trio.Event()

    def changed(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        while not predicate():
            await self._changed.wait()


class RecordingService(Changes):
    """What DeviceLink and GpsDriver use of a Service: a logger and publish()."""

    def __init__(self) -> None:
        super().__init__()
        self.log = structlog.get_logger()
        self.published: list[tuple[str, object]] = []

    async def publish(self, subject: str, msg: object, *, retain: bool = False) -> None:
        assert retain, subject
        self.published.append((subject, msg))
        self.changed()

    @property
    def statuses(self) -> list[DeviceStatus]:
        return [msg for subject, msg in self.published if subject == "gps.status"]

    @property
    def states(self) -> list[tuple[str, str]]:
        return [(status.state, status.reason) for status in self.statuses]

    @property
    def fixes(self) -> list[GpsFix]:
        return [msg for subject, msg in self.published if subject == "gps.fix"]


class RecordingOutput(Changes):
    """A FixOutput that keeps everything."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[FixEvent] = []
        self.rejections: list[Rejected] = []
        self.ends = 0

    async def fixes(self, events: list[FixEvent]) -> None:
        self.events.extend(events)
        self.changed()

    async def rejected(self, rejected: list[Rejected]) -> None:
        self.rejections.extend(rejected)
        self.changed()

    async def ended(self) -> None:
        self.ends += 1
        self.changed()

    @property
    def fixes_only(self) -> list[Fix]:
        return [event for event in self.events if isinstance(event, Fix)]

    @property
    def losses(self) -> list[FixLost]:
        return [event for event in self.events if isinstance(event, FixLost)]


class FakeGpsd:
    """A TCP server on 127.0.0.1 that talks as gpsd does: VERSION first, the reports once
    asked to WATCH. `stop()` closes its listener and its connections, as a stopped gpsd."""

    def __init__(self, reports: list[bytes], port: int = 0) -> None:
        self.reports = reports
        self.port = port
        self.requests: list[bytes] = []
        self.clients = 0
        self._scope: trio.CancelScope | None = None

    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        with trio.CancelScope() as self._scope:
            listeners = await trio.open_tcp_listeners(self.port, host="127.0.0.1")
            self.port = listeners[0].socket.getsockname()[1]
            async with trio.open_nursery() as nursery:
                await nursery.start(trio.serve_listeners, self._serve, listeners)
                task_status.started()

    def stop(self) -> None:
        assert self._scope is not None
        self._scope.cancel()

    async def _serve(self, stream: trio.SocketStream) -> None:
        self.clients += 1
        async with stream:
            await stream.send_all(VERSION)
            request = b""
            while not request.endswith(b";\n"):
                chunk = await stream.receive_some()
                if not chunk:
                    return
                request += chunk
            self.requests.append(request)
            await stream.send_all(DEVICES + WATCHING)
            for report in self.reports:
                await stream.send_all(report)
            await trio.sleep_forever()
