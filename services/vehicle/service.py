"""vehicle: the signal broker on the bus.

In: `can.signals.>` and `obd.signals.>` (SignalBatch), `gps.fix` (GpsFix), and `can.status`,
`obd.status`, `gps.status` (DeviceStatus). Out: each signal retained on
`vehicle.<path after "Vehicle.">`, and `vehicle.get` answering SignalQuery with SignalValues.
The image must let it subscribe to every input above, publish `vehicle.>` and provide `vehicle`.
A value's source is the sender the kernel authenticated, whatever the payload says.
"""
from __future__ import annotations

import math
import time
from collections.abc import Iterable

import trio

from carnel.ipc import Service
from carnel.ipc.client import Delivery
from carnel.ipc.schemas.device import DeviceStatus
from carnel.ipc.schemas.gps import GpsFix
from carnel.ipc.schemas.vehicle import Signal, SignalBatch, SignalQuery, SignalValues
from carnel.ipc.wire import Flag, Header
from carnel.services.vehicle.config import VehicleConfig
from carnel.services.vehicle.gps import fix_signals
from carnel.services.vehicle.model import SignalTable
from carnel.services.vehicle.paths import subject_for

SIGNAL_BATCHES = ("can.signals.>", "obd.signals.>")
GPS_FIX = "gps.fix"
DEVICE_STATUS = ("can.status", "obd.status", "gps.status")
GET = "vehicle.get"
# A driver sending bad values sends them at its full rate: one summary line per interval.
REJECTS_LOGGED_EVERY_S = 10.0


def _now_ns() -> int:
    return round(trio.current_time() * 1e9)


def _age_ns(header: Header) -> int:
    """How old a message is: 0 as it happens, the time since it was sent for a kept value the
    bus replays to a new subscriber (a driver that died long ago left its last values there)."""
    if not header.flags & Flag.RETAINED:
        return 0
    return max(0, time.time_ns() - header.timestamp_ns)


class _InOrder:
    """Publications leave in the order the table decided them.

    Each subscription has its own task; when the outbox is full a publishing task waits, and
    another task's newer value for the same signal could overtake it and leave the older one
    retained. Holding this across deciding and publishing prevents that, and costs no
    checkpoint while nobody waits.
    """

    def __init__(self) -> None:
        self._lock = trio.Lock()

    async def __aenter__(self) -> None:
        try:
            self._lock.acquire_nowait()
        except trio.WouldBlock:
            await self._lock.acquire()

    async def __aexit__(self, *exc_info: object) -> None:
        self._lock.release()


class VehicleBroker:
    """The signal table behind a Service: `run(VehicleBroker(config).service)`."""

    def __init__(self, config: VehicleConfig, name: str = "vehicle") -> None:
        self.config = config
        self.table = SignalTable(config)
        self.service = svc = Service(name)
        self._in_order = _InOrder()
        self._rejects_logged = 0
        self._rejects_logged_at = -math.inf
        for pattern in SIGNAL_BATCHES:
            svc.subscribe(pattern)(self.on_batch)
        svc.subscribe(GPS_FIX)(self.on_fix)
        for subject in DEVICE_STATUS:
            svc.subscribe(subject)(self.on_status)
        svc.provide(GET)(self.get)
        svc.task(self.publish_due)

    async def on_batch(self, batch: SignalBatch, delivery: Delivery) -> None:
        header = delivery.header
        source = header.source
        age_ns = _age_ns(header)
        report = self.table.report
        publish = self.service.publish
        async with self._in_order:
            now_ns = _now_ns()
            for reported in batch.signals:
                signal = report(reported, source, now_ns, age_ns)
                if signal is not None:
                    await publish(subject_for(signal.path), signal, retain=True)

    async def on_fix(self, fix: GpsFix, delivery: Delivery) -> None:
        header = delivery.header
        source = header.source
        age_ns = _age_ns(header)
        reading = fix_signals(fix, source)
        async with self._in_order:
            now_ns = _now_ns()
            known = [self.table.report(signal, source, now_ns, age_ns) for signal in reading.known]
            unknown = [self.table.mark_stale(path, source, now_ns) for path in reading.unknown]
            await self._publish(known + unknown)

    async def on_status(self, status: DeviceStatus, delivery: Delivery) -> None:
        if status.state != "unavailable":
            return  # a source that is back is fresh again with its next report
        source = delivery.header.source
        self.service.log.info("source_unavailable", source=source, reason=status.reason)
        async with self._in_order:
            await self._publish(self.table.source_lost(source, _now_ns()))

    async def get(self, query: SignalQuery) -> SignalValues:
        return self.table.values(query.paths)

    async def publish_due(self) -> None:
        """Publish what went stale and what the rate limits held back; log what was refused."""
        while True:
            await trio.sleep(self.config.poll_interval_s)
            async with self._in_order:
                await self._publish(self.table.poll(_now_ns()))
            self._log_rejects(trio.current_time())

    async def _publish(self, signals: Iterable[Signal | None]) -> None:
        for signal in signals:
            if signal is not None:
                await self.service.publish(subject_for(signal.path), signal, retain=True)

    def _log_rejects(self, now: float) -> None:
        total = self.table.rejects.total()
        if total == self._rejects_logged or now - self._rejects_logged_at < REJECTS_LOGGED_EVERY_S:
            return
        example = self.table.last_rejection
        self.service.log.warning(
            "signals_rejected", since_last=total - self._rejects_logged,
            rejects=dict(self.table.rejects), reason=example.reason, path=example.path,
            source=example.source)
        self._rejects_logged = total
        self._rejects_logged_at = now
