"""The simulator adapter: the pure simulated ELM327 behind a stream, answering from a drive file."""
from __future__ import annotations

from pathlib import Path

import pytest
import trio
from obd_fakes import SHORT_DRIVE, RecordingLog, short_drive

from carnel.drivers.obd import Dtc, DtcsRead, ElmSession, Initialise, ReadDtcs, ReadPid, ReadVin, VinRead
from carnel.drivers.obd.channel import ElmChannel
from carnel.drivers.obd.simulated_adapter import SimulatedAdapterStream, SimulatorAdapter
from carnel.ipc.device import DeviceLost


async def speed(channel: ElmChannel) -> float:
    read = await channel.request(ReadPid(0x0D))
    return read.readings[0].value.value


async def test_answers_follow_the_drive_in_time_and_loop(autojump_clock) -> None:
    start = trio.current_time()
    stream = SimulatedAdapterStream(short_drive())
    channel = ElmChannel(stream, ElmSession())
    await channel.request(Initialise())
    assert await speed(channel) == 0.0
    await trio.sleep_until(start + 0.35)
    assert await speed(channel) == 15.0
    await trio.sleep_until(start + 0.95)
    assert await speed(channel) == 45.0
    await trio.sleep_until(start + 1.05)
    assert await speed(channel) == 0.0


async def test_the_simulator_adapter_reports_the_configured_vin_and_codes(autojump_clock) -> None:
    adapter = SimulatorAdapter(SHORT_DRIVE, RecordingLog(), vin="1D4GP00R55B123456",
                               stored_dtcs=(Dtc("P0420"),))
    assert adapter.name == f"simulator:{SHORT_DRIVE}"
    async with await adapter.open(lambda reason, count: None) as stream:
        channel = ElmChannel(stream, ElmSession())
        await channel.request(Initialise())
        vin = await channel.request(ReadVin())
        dtcs = await channel.request(ReadDtcs())
    assert isinstance(vin, VinRead) and vin.vin == "1D4GP00R55B123456"
    assert isinstance(dtcs, DtcsRead) and dtcs.dtcs == (Dtc("P0420"),)


async def test_bad_drive_lines_are_counted_and_logged_once_and_the_rest_replayed(tmp_path: Path) -> None:
    drive = tmp_path / "drive.obd.jsonl"
    drive.write_bytes(b'{"t": 0, "values": {"0D": 12}}\nnonsense\n{"t": 0.1, "values": {"FF": 1}}\n'
                      b'garbage\n')
    rejected: dict[str, int] = {}
    log = RecordingLog()
    stream = await SimulatorAdapter(drive, log).open(
        lambda reason, count: rejected.__setitem__(reason, rejected.get(reason, 0) + count))
    await stream.aclose()
    assert rejected == {"bad_line": 2, "unknown_pid": 1}
    (line,) = log.events("drive_lines_refused")
    assert line["reasons"] == rejected and "line 2" in line["first"]


async def test_a_drive_file_without_a_sample_or_missing_cannot_be_opened(tmp_path: Path) -> None:
    empty = tmp_path / "empty.obd.jsonl"
    empty.write_bytes(b"\n")
    with pytest.raises(DeviceLost, match="no usable sample"):
        await SimulatorAdapter(empty, RecordingLog()).open(lambda reason, count: None)
    with pytest.raises(FileNotFoundError):
        await SimulatorAdapter(tmp_path / "missing", RecordingLog()).open(lambda reason, count: None)


async def test_a_closed_stream_refuses_io_and_wakes_a_waiting_reader() -> None:
    stream = SimulatedAdapterStream(short_drive())
    async with trio.open_nursery() as nursery:
        failed = []

        async def read() -> None:
            with pytest.raises(trio.ClosedResourceError):
                await stream.receive_some()
            failed.append(True)

        nursery.start_soon(read)
        await trio.testing.wait_all_tasks_blocked()
        await stream.aclose()
    assert failed
    with pytest.raises(trio.ClosedResourceError):
        await stream.send_all(b"ATZ\r")
