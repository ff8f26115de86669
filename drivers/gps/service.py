"""gps: the receiver's fixes on `gps.fix` (retained), its state on `gps.status`.

One source session at a time runs under a DeviceLink, which publishes the device's state and
reconnects with capped backoff, so an unplugged receiver or a stopped gpsd is a state on the
bus, never a crash. Refused input is counted per reason; the counts go into the log and the
status at most every `LOG_EVERY_S` (and with the next status, whatever its cause).
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import NoReturn

import trio

from carnel.drivers.gps.config import GpsConfig
from carnel.drivers.gps.fix import FixEvent
from carnel.drivers.gps.gpsd_client import gpsd_session
from carnel.drivers.gps.protocol import Rejected
from carnel.drivers.gps.publication import FixPublication
from carnel.drivers.gps.replay_source import replay_session
from carnel.drivers.gps.serial_port import serial_session
from carnel.ipc import Service
from carnel.ipc.device import Backoff, DeviceLink, DeviceLost
from carnel.ipc.settings import config_path

FIX_SUBJECT = "gps.fix"
# Refusals show in the status and the log at most this often, however fast they come.
LOG_EVERY_S = 10.0


class GpsDriver:
    """The gps process's wiring: a source session, its fixes published, its refusals counted.

    `clock` gives wall-clock seconds for the fixes' timestamps; everything that waits uses
    Trio's clock, so that tests run on a fake one.
    """

    def __init__(self, svc: Service, config: GpsConfig,
                 clock: Callable[[], float] = time.time) -> None:
        self.svc = svc
        self.config = config
        self.clock = clock
        self.link = DeviceLink(
            svc, "gps", config.device_name,
            backoff=Backoff(initial=config.retry_initial_s, maximum=config.retry_max_s))
        self.publication = FixPublication()
        self._unreported: dict[str, int] = {}
        self._last_report = -math.inf

    async def run(self) -> NoReturn:
        await self.link.run(self._session)

    async def _session(self, link: DeviceLink) -> None:
        config = self.config
        try:
            if config.source == "serial":
                await serial_session(link, config, self, self.clock)
            elif config.source == "gpsd":
                await gpsd_session(link, config, self, self.clock)
            else:
                await replay_session(link, config, self, self.clock,
                                     str(config_path(config.replay_file)))
        except (OSError, DeviceLost):
            await self.ended()
            raise

    async def fixes(self, events: list[FixEvent]) -> None:
        for message in self.publication.update(events):
            await self.svc.publish(FIX_SUBJECT, message, retain=True)

    async def ended(self) -> None:
        """The source is gone or has nothing more to say: its last fix no longer holds."""
        for message in self.publication.device_lost(round(self.clock() * 1e9)):
            await self.svc.publish(FIX_SUBJECT, message, retain=True)

    async def rejected(self, rejected: list[Rejected]) -> None:
        for rejection in rejected:
            reason = str(rejection.reason)
            self.link.reject(reason)
            self._unreported[reason] = self._unreported.get(reason, 0) + 1
        now = trio.current_time()
        if now - self._last_report < LOG_EVERY_S:
            return
        self._last_report = now
        last = rejected[-1]
        self.svc.log.warning("input_rejected", device=self.config.device_name,
                             counts=self._unreported, last_detail=last.detail,
                             last_raw=last.raw[:120])
        self._unreported = {}
        await self.link.report()


def build_service(config: GpsConfig) -> Service:
    """The gps process: the driver started as the service's task once it is ready."""
    svc = Service("gps")
    driver = GpsDriver(svc, config)
    svc.task(driver.run)
    return svc
