"""One connection to the adapter, start to end: initialise, learn what the vehicle supports, then
read on schedule and publish every answer.

The device link runs `session` again after each failure; what was learnt about the vehicle is
learnt again on every connection, because the adapter may now be plugged into another car.
"""
from __future__ import annotations

import time
from typing import Any, Protocol

import msgspec
import trio

from carnel.drivers.obd.adapters import Adapter
from carnel.drivers.obd.channel import ElmChannel
from carnel.drivers.obd.config import ObdConfig
from carnel.drivers.obd.dtc import Dtc
from carnel.drivers.obd.events import (AdapterReady, DtcsRead, Event, PidRead, RequestFailed,
                                       SupportedPidsRead, VinRead)
from carnel.drivers.obd.failures import FailureLog, request_failed
from carnel.drivers.obd.messages import (DTC_SUBJECT, VIN_SUBJECT, signal_batch, signals_subject,
                                         trouble_codes, vehicle_id)
from carnel.drivers.obd.pids import spec_for
from carnel.drivers.obd.requests import DtcKind, Initialise, ReadSupportedPids
from carnel.drivers.obd.schedule import ReadSchedule
from carnel.drivers.obd.session import ElmSession
from carnel.drivers.obd.settings import ElmSettings
from carnel.ipc.device import DeviceLink, DeviceLost


class Bus(Protocol):
    """What the driver needs of a Service: publishing and its bound logger."""

    log: Any

    async def publish(self, subject: str, msg: msgspec.Struct, *, retain: bool = False) -> None: ...


class ObdDriver:
    """Reads the vehicle through `adapter` and publishes on `bus`; `session` is one connection."""

    def __init__(self, bus: Bus, adapter: Adapter, config: ObdConfig, *,
                 settings: ElmSettings | None = None, status_interval: float = 10.0) -> None:
        self._bus = bus
        self._adapter = adapter
        self._config = config
        self._rates = config.poll_rates()
        self._settings = settings or config.elm_settings()
        self._status_interval = status_interval
        self._failures = FailureLog(bus.log)

    async def session(self, link: DeviceLink) -> None:
        stream = await self._adapter.open(link.reject)
        async with stream:
            channel = ElmChannel(stream, ElmSession(self._settings))
            ready = await channel.request(Initialise())
            if not isinstance(ready, AdapterReady):
                raise DeviceLost(f"initialisation ended with {ready!r}")
            await link.connected()
            self._bus.log.info("adapter_ready", version=ready.version, protocol=ready.protocol.name)
            schedule = await self._learn_schedule(channel)
            await self._read_on_schedule(channel, schedule, link)

    async def _learn_schedule(self, channel: ElmChannel) -> ReadSchedule:
        supported = await channel.request(ReadSupportedPids())
        if not isinstance(supported, SupportedPidsRead):
            raise DeviceLost(f"reading the supported PIDs failed: {supported.error}")
        schedule = ReadSchedule(self._rates, supported.pids, self._config.diagnostics_period_s)
        self._bus.log.info("polling", pids=_names(schedule.polled),
                           unsupported=_names(schedule.unsupported))
        return schedule

    async def _read_on_schedule(self, channel: ElmChannel, schedule: ReadSchedule,
                                link: DeviceLink) -> None:
        next_report = trio.current_time() + self._status_interval
        unreported = False
        # Trouble codes of a kind whose read failed keep their last value from this vehicle.
        dtcs: dict[DtcKind, tuple[Dtc, ...]] = {DtcKind.STORED: (), DtcKind.PENDING: ()}
        while True:
            due = schedule.take(trio.current_time())
            if not due.requests:
                await trio.sleep_until(due.wake_at)
                continue
            events = [await channel.request(request) for request in due.requests]
            await self._publish(events, dtcs)
            for reason, count in channel.new_error_counts().items():
                link.reject(reason, count)
                unreported = True
            # New counts show in the status, at most once an interval however many there are.
            if unreported and trio.current_time() >= next_report:
                await link.report()
                unreported = False
                next_report = trio.current_time() + self._status_interval

    async def _publish(self, events: list[Event], dtcs: dict[DtcKind, tuple[Dtc, ...]]) -> None:
        now_ns = time.time_ns()
        dtcs_read = False
        for event in events:
            if isinstance(event, PidRead):
                pid = event.readings[0].value.pid
                await self._bus.publish(signals_subject(pid), signal_batch(event, now_ns), retain=True)
            elif isinstance(event, VinRead):
                await self._bus.publish(VIN_SUBJECT, vehicle_id(event, now_ns), retain=True)
            elif isinstance(event, DtcsRead):
                dtcs[event.request.kind] = event.dtcs
                dtcs_read = True
            elif isinstance(event, RequestFailed):
                self._failures.note(request_failed(event))
        if dtcs_read:
            codes = trouble_codes(dtcs[DtcKind.STORED], dtcs[DtcKind.PENDING], now_ns)
            await self._bus.publish(DTC_SUBJECT, codes, retain=True)


def _names(pids: frozenset[int]) -> list[str]:
    return [spec_for(pid).name for pid in sorted(pids)]
