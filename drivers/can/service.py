"""can: reads a CAN bus (or replays a log of one), decodes it with a DBC, publishes the signals.

Each frame with mapped signals becomes one SignalBatch, retained on `can.signals.<DBC message
name>`; the adapter's state is on the retained `can.status`. Frames that cannot be read or
decoded are counted per reason (`socket.bad_size`, `log.bad_id`, `dbc.unknown_id`,
`dbc.length_mismatch`, ...), and so are frames the OS dropped while the driver was behind
(`socket.queue_overflow`): the status shows the counts, updated every REPORT_INTERVAL_S at most,
and a log line marks each reason's 1st, 10th, 100th ... rejection.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Mapping
from typing import NoReturn

import cantools
import trio
from cantools.database import Database

from carnel.drivers.can.asc import AscReader
from carnel.drivers.can.batches import BatchBuilder
from carnel.drivers.can.candump import CandumpReader
from carnel.drivers.can.config import CanConfig
from carnel.drivers.can.errors import CanError
from carnel.drivers.can.frame import CanFrame
from carnel.drivers.can.lines import LineReader
from carnel.drivers.can.pacing import ReplayPacer
from carnel.drivers.can.replay_adapter import LogReplay
from carnel.drivers.can.socketcan_adapter import SocketCanReader, open_can_socket
from carnel.drivers.can.stats import ReasonCounts
from carnel.ipc import Service, run
from carnel.ipc.device import DeviceLink
from carnel.ipc.settings import ConfigError, config_path, process_config

DRIVER = "can"
REPORT_INTERVAL_S = 5.0

svc = Service(DRIVER)


class CanDriver:
    """The CAN driver's bus side: one device session at a time under a DeviceLink.

    `svc` is anything with the Service's `publish` and `log`; `open_socket` opens the SocketCAN
    interface. The readers outlive sessions, so that the counts they keep cover the driver's
    whole life.
    """

    def __init__(
        self,
        svc: Service,
        config: CanConfig,
        database: Database,
        *,
        environ: Mapping[str, str] = os.environ,
        open_socket: Callable[[str], socket.socket] = open_can_socket,
    ) -> None:
        self.config = config
        self.link = DeviceLink(svc, DRIVER, config.device)
        self.frames = 0
        self.published = 0
        self._svc = svc
        self._open_socket = open_socket
        self._builder = BatchBuilder(database, config.decoder_config(), source=DRIVER)
        self._counts: dict[str, ReasonCounts] = {"dbc": self._builder.rejections}
        self._socket_reader: SocketCanReader | None = None
        self._log_reader: LineReader | None = None
        self._log_path = config_path(config.file, environ) if config.file else None
        if config.source == "socketcan":
            self._socket_reader = SocketCanReader(config.interface)
            self._counts["socket"] = self._socket_reader.rejections
        else:
            self._log_reader = CandumpReader() if config.source == "candump" else AscReader()
            self._counts["log"] = self._log_reader.rejections

    async def run(self) -> NoReturn:
        """Keep the device session going and report counts, until cancelled."""
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._report_every, REPORT_INTERVAL_S)
            await self.link.run(self._session)

    async def publish_frames(self, frames: list[CanFrame]) -> None:
        """Publish one SignalBatch per frame that carries mapped signals; count the rest."""
        timestamp_ns = time.time_ns()
        build, publish = self._builder.build, self._svc.publish
        published = 0
        for frame in frames:
            built = build(frame, timestamp_ns)
            if built is not None:
                await publish(built[0], built[1], retain=True)
                published += 1
        self.frames += len(frames)
        self.published += published

    async def report(self) -> None:
        """Fold new rejection counts into the status, log them, and publish them if connected."""
        # While unavailable the status carries the failure's reason, which a report would blank;
        # the counts go out with the next state change instead.
        if self._note_rejections() and self.link.state == "connected":
            await self.link.report()

    def _note_rejections(self) -> bool:
        link = self.link
        changed = False
        milestones: dict[str, int] = {}
        for layer, counts in self._counts.items():
            for reason, count in counts.snapshot().items():
                name = f"{layer}.{reason}"
                before = link.rejects.get(name, 0)
                if count != before:
                    link.reject(name, count - before)
                    changed = True
                    if _passes_a_power_of_ten(before, count):
                        milestones[name] = count
        # A real bus carries ids its DBC does not describe for ever: logging every report would
        # bury the log, so a reason is logged at its 1st, 10th, 100th ... rejection.
        if milestones:
            self._svc.log.warning("frames_rejected", totals=milestones, frames=self.frames, published=self.published)
        return changed

    async def _report_every(self, interval: float) -> NoReturn:
        while True:
            await trio.sleep(interval)
            await self.report()

    async def _session(self, link: DeviceLink) -> None:
        try:
            if self._socket_reader is not None:
                await self._read_socket(link, self._socket_reader)
            else:
                await self._replay(link, self._log_reader)
        finally:
            # What the session counted goes out with the state DeviceLink publishes next.
            self._note_rejections()

    async def _read_socket(self, link: DeviceLink, reader: SocketCanReader) -> NoReturn:
        with self._open_socket(reader.channel) as sock:
            await link.connected()
            await reader.run(sock, self.publish_frames)

    async def _replay(self, link: DeviceLink, reader: LineReader) -> NoReturn:
        pacer = ReplayPacer(self.config.replay_rate)
        async with await trio.open_file(self._log_path, "rb") as log:
            replay = LogReplay(log, reader, pacer, loop=self.config.loop)
            await link.connected()
            await replay.run(self.publish_frames)
        await self.report()
        self._svc.log.info(
            "replay_finished", frames=self.frames, published=self.published, skipped=reader.skipped.snapshot()
        )
        # The log has ended, not the device: like a bus gone quiet, it stays connected.
        await trio.sleep_forever()


def _passes_a_power_of_ten(before: int, after: int) -> bool:
    return before == 0 or len(str(after)) > len(str(before))


def load_driver(svc: Service, config: CanConfig, environ: Mapping[str, str] = os.environ) -> CanDriver:
    """The driver for a config, with its DBC loaded; raises OSError, CanError or a cantools error."""
    database = cantools.database.load_file(config_path(config.dbc, environ))
    return CanDriver(svc, config, database, environ=environ)


def main() -> None:
    """Process entry: the image's config, the DBC, then the bus."""
    try:
        driver = load_driver(svc, process_config(CanConfig))
    except (ConfigError, OSError, CanError, cantools.database.Error) as exc:
        raise SystemExit(f"{DRIVER}: {exc}") from None
    svc.task(driver.run)
    run(svc)
