"""The serial adapter through a real pseudo-terminal, with a simulated ELM327 at the far end."""
from __future__ import annotations

import dataclasses
import errno
import os
import termios
from pathlib import Path

import pytest
import trio
from obd_fakes import Published, RecordingBus, elm327_on_pty

from carnel.drivers.obd import (AdapterConfig, AdapterReady, Dtc, ElmSession, ElmSettings,
                                Initialise, PidRead, ReadDtcs, ReadPid, ReadSupportedPids, ReadVin,
                                RequestFailed, SimulatedElm327, SupportedPidsRead, VehicleState,
                                VinRead)
from carnel.drivers.obd.channel import ElmChannel
from carnel.drivers.obd.config import ObdConfig
from carnel.drivers.obd.driver import ObdDriver
from carnel.drivers.obd.serial_port import SerialAdapter
from carnel.ipc.tty import open_raw_tty
from carnel.drivers.obd.vehicle import SAMPLE_VIN
from carnel.ipc.device import Backoff, DeviceLink


def vehicle(busy: bool = False) -> VehicleState:
    typical = VehicleState.typical(speed_kmh=63, rpm=2125.5, dtcs=(Dtc("P0301"), Dtc("C1234")))
    if not busy:
        return typical
    engine, transmission = typical.ecus
    return VehicleState((dataclasses.replace(engine, busy_replies=2), transmission))


def ignore(reason: str, count: int) -> None:
    raise AssertionError("a serial adapter refuses nothing while opening")


def test_the_tty_is_put_in_raw_mode_at_the_baud_rate() -> None:
    master, slave = os.openpty()
    try:
        fd = open_raw_tty(os.ttyname(slave), 115200)
        iflag, oflag, cflag, lflag, ispeed, ospeed, cc = termios.tcgetattr(fd)
        os.close(fd)
    finally:
        os.close(master)
        os.close(slave)
    assert not lflag & (termios.ICANON | termios.ECHO | termios.ISIG)
    assert not iflag & (termios.ICRNL | termios.IXON) and not oflag & termios.OPOST
    assert cflag & termios.CS8 and cflag & termios.CLOCAL and not cflag & termios.PARENB
    assert ispeed == ospeed == termios.B115200


@pytest.mark.parametrize(("path", "error"), [("/dev/null", errno.ENOTTY),
                                             ("/nonexistent/ttyUSB9", errno.ENOENT)])
async def test_a_path_that_is_no_tty_fails_to_open_with_an_os_error(path: str, error: int) -> None:
    with pytest.raises(OSError) as caught:
        await SerialAdapter(path).open(ignore)
    assert caught.value.errno == error


QUIRKS = [
    pytest.param(ElmSettings(), AdapterConfig(), vehicle(), None,
                 id="echo at power-up, searching, headers, no spaces"),
    pytest.param(ElmSettings(echo=True, spaces=True, linefeeds=True), AdapterConfig(), vehicle(), 1,
                 id="echo kept, spaces, CR LF, one byte at a time"),
    pytest.param(ElmSettings(headers=False), AdapterConfig(), vehicle(), 7,
                 id="no headers: byte count and numbered lines"),
    pytest.param(ElmSettings(), AdapterConfig(refused=frozenset({"S0"}), version="ELM327 v2.1"),
                 vehicle(), None, id="clone that refuses ATS0 keeps its spaces"),
    pytest.param(ElmSettings(), AdapterConfig(protocol="3"), vehicle(), 5,
                 id="ISO 9141-2 found by the search: legacy frames"),
    pytest.param(ElmSettings(), AdapterConfig(), vehicle(busy=True), None,
                 id="ECU answers 7F xx 78 before each answer"),
]


@pytest.mark.parametrize(("settings", "config", "car", "chunk"), QUIRKS)
async def test_a_session_over_the_serial_adapter_reads_everything_a_real_one_would(
        settings: ElmSettings, config: AdapterConfig, car: VehicleState, chunk: int | None) -> None:
    async with elm327_on_pty(SimulatedElm327(car, config), chunk) as path:
        with trio.fail_after(10):
            stream = await SerialAdapter(path, 38400).open(ignore)
            async with stream:
                channel = ElmChannel(stream, ElmSession(settings))
                ready = await channel.request(Initialise())
                supported = await channel.request(ReadSupportedPids())
                rpm = await channel.request(ReadPid(0x0C))
                unsupported = await channel.request(ReadPid(0x0A))
                vin = await channel.request(ReadVin())
                dtcs = await channel.request(ReadDtcs())
    assert isinstance(ready, AdapterReady) and ready.version == config.version
    assert ready.protocol.number == config.protocol
    assert isinstance(supported, SupportedPidsRead) and {0x05, 0x0C, 0x0D, 0x5C} <= supported.pids
    assert isinstance(rpm, PidRead) and rpm.readings[0].value.value == 2125.5
    assert isinstance(unsupported, RequestFailed) and unsupported.error.reason == "no_data"
    assert isinstance(vin, VinRead) and vin.vin == SAMPLE_VIN
    assert dtcs.dtcs == (Dtc("C1234"), Dtc("P0301"))


async def test_an_adapter_pulled_out_is_unavailable_until_it_is_plugged_in_again(tmp_path: Path) -> None:
    # A stable name for whichever pty is "plugged in", as udev gives /dev/serial/by-id/...
    device = tmp_path / "elm327"
    bus = RecordingBus()
    adapter = SerialAdapter(str(device))
    driver = ObdDriver(bus, adapter, ObdConfig(source="serial", device=str(device),
                                               poll={"vehicle_speed": 20.0}))
    link = DeviceLink(bus, "obd", adapter.name, backoff=Backoff(initial=0.01, maximum=0.05))

    def speed(p: Published) -> bool:
        return p.subject == "obd.signals.vehicle_speed"

    async with trio.open_nursery() as nursery:
        with trio.fail_after(10):
            async with elm327_on_pty(SimulatedElm327(vehicle())) as path:
                device.symlink_to(path)
                nursery.start_soon(link.run, driver.session)
                await bus.wait_for(speed)
            lost = await bus.wait_for_state("unavailable")
            device.unlink()
            async with elm327_on_pty(SimulatedElm327(vehicle())) as path:
                device.symlink_to(path)
                back = await bus.wait_for_state("connected", after=lost)
                await bus.wait_for(speed, after=back)
        nursery.cancel_scope.cancel()
    assert "EIO" in bus.published[lost].msg.reason
    assert bus.states()[:2] == [("connecting", ""), ("connected", "")]
    assert bus.on("obd.signals.vehicle_speed")[-1].msg.signals[0].value == 63.0
