"""The CAN driver's bus wiring, against an in-process stand-in for the Service (no kernel)."""

from __future__ import annotations

import errno
import io
import json
import socket
import time
from collections.abc import Callable
from pathlib import Path

import can
import cantools
import pytest
import structlog
import structlog.testing
import trio
import trio.testing
from cantools.database import Database

from carnel.drivers.can import CandumpReader, CanFrame, pack_frame
from carnel.drivers.can.config import CanConfig
from carnel.drivers.can.service import REPORT_INTERVAL_S, CanDriver, load_driver, main
from carnel.ipc.schemas.device import DeviceStatus
from carnel.ipc.schemas.vehicle import SignalBatch

SIGNALS = {
    "Vehicle.ADAS.ObstacleDetection.Left.Distance": "SENSOR_SONARS.SENSOR_SONARS_left",
    "Vehicle.ADAS.ObstacleDetection.ErrorCount": "SENSOR_SONARS.SENSOR_SONARS_err_count",
    "Vehicle.Debug.Signed": "IO_DEBUG.IO_DEBUG_test_signed",
    "Vehicle.Debug.Float": "IO_DEBUG.IO_DEBUG_test_float",
}


class RecordingService:
    """What the driver uses of a Service: `publish` and `log`; keeps what was published."""

    def __init__(self) -> None:
        self.log = structlog.get_logger()
        self.published: list[tuple[str, object, bool]] = []
        self._changed = trio.Event()

    async def publish(self, subject: str, msg: object, *, retain: bool = False) -> None:
        self.published.append((subject, msg, retain))
        self._changed.set()
        self._changed = trio.Event()

    async def wait_for(self, condition: Callable[[], bool]) -> None:
        while not condition():
            await self._changed.wait()

    def batches(self) -> list[tuple[str, SignalBatch]]:
        return [(subject, msg) for subject, msg, _ in self.published if isinstance(msg, SignalBatch)]

    def statuses(self) -> list[DeviceStatus]:
        return [msg for subject, msg, _ in self.published if subject == "can.status"]

    def state(self) -> str:
        """The last published state, "" before the first."""
        statuses = self.statuses()
        return statuses[-1].state if statuses else ""

    def rejects(self) -> dict[str, int]:
        statuses = self.statuses()
        return statuses[-1].rejects if statuses else {}


@pytest.fixture(scope="module")
def socialledge_dbc(cantools_sdist: Path) -> Path:
    """A DBC from cantools' test files (SJSU's SocialLedge RC car project)."""
    return cantools_sdist / "tests" / "files" / "dbc" / "socialledge.dbc"


@pytest.fixture(scope="module")
def socialledge_log(cantools_sdist: Path) -> str:
    """The candump -L log cantools' command-line test decodes with socialledge.dbc, verbatim: a
    10-byte classic frame, an ERROR line, a blank line and an id the DBC lacks among the frames."""
    source = (cantools_sdist / "tests" / "test_command_line.py").read_text(encoding="utf-8")
    test = source.split("def test_decode_log_format")[1]
    log = test.split('input_data = """\\\n')[1].split('"""')[0]
    assert log.count("\n") == 8
    return log


def decodable_frames(log: str) -> list[CanFrame]:
    reader = CandumpReader()
    return reader.read_lines(log.splitlines())


def config(**fields: object) -> CanConfig:
    return CanConfig(**{"signals": SIGNALS, "rate": "max", **fields})  # type: ignore[arg-type]


async def run_until(
    driver: CanDriver, svc: RecordingService, condition: Callable[[], bool], timeout: float = 10
) -> None:
    with trio.fail_after(timeout):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(driver.run)
            await svc.wait_for(condition)
            nursery.cancel_scope.cancel()


def expected_batches(database: Database, frames: list[CanFrame]) -> list[tuple[str, list[tuple[str, object, str]]]]:
    """What cantools itself decodes for the mapped signals of each frame, signals sorted by path."""
    expected = []
    for frame in frames:
        try:
            message = database.get_message_by_frame_id(frame.arbitration_id)
        except KeyError:
            continue
        if len(frame.data) != message.length:
            continue
        values = message.decode(frame.data, decode_choices=False)
        signals = []
        for path, target in SIGNALS.items():
            message_name, _, signal_name = target.partition(".")
            if message_name == message.name and signal_name in values:
                signals.append((path, values[signal_name], message.get_signal_by_name(signal_name).unit or ""))
        if signals:
            expected.append((f"can.signals.{message.name}", sorted(signals)))
    return expected


def published_batches(svc: RecordingService) -> list[tuple[str, list[tuple[str, object, str]]]]:
    # The order of signals inside a batch is not part of the contract.
    return [(subject, sorted((s.path, s.value, s.unit) for s in batch.signals)) for subject, batch in svc.batches()]


async def test_replayed_candump_log_becomes_one_retained_batch_per_frame(
    tmp_path: Path, socialledge_dbc: Path, socialledge_log: str
) -> None:
    (tmp_path / "socialledge.log").write_text(socialledge_log)
    database = cantools.database.load_file(socialledge_dbc)
    svc = RecordingService()
    # The log's path is relative, as an image gives it: it is found next to the image.
    driver = CanDriver(
        svc,
        config(source="candump", file="socialledge.log", dbc=str(socialledge_dbc)),
        database,
        environ={"CARNEL_IMAGE_DIR": str(tmp_path)},
    )
    before = time.time_ns()
    await run_until(driver, svc, lambda: bool(svc.rejects()))

    expected = expected_batches(database, decodable_frames(socialledge_log))
    assert [subject for subject, _ in expected] == ["can.signals.SENSOR_SONARS"] * 3 + ["can.signals.IO_DEBUG"]
    assert published_batches(svc) == expected
    assert all(retain for subject, _, retain in svc.published)
    signals = [signal for _, batch in svc.batches() for signal in batch.signals]
    assert {signal.source for signal in signals} == {"can"}
    assert all(before <= signal.timestamp_ns <= time.time_ns() for signal in signals)
    assert (driver.frames, driver.published) == (5, 4)

    statuses = svc.statuses()
    assert [status.state for status in statuses] == ["connecting", "connected", "connected"]
    assert statuses[-1].device == "candump:socialledge.log"
    assert statuses[-1].rejects == {"dbc.unknown_id": 1, "log.data_too_long": 1, "log.malformed": 1}


async def test_asc_log_of_the_same_frames_publishes_the_same_batches(
    tmp_path: Path, socialledge_dbc: Path, socialledge_log: str
) -> None:
    frames = decodable_frames(socialledge_log)
    text = io.StringIO()
    writer = can.ASCWriter(text)
    for frame in frames:
        writer.on_message_received(
            can.Message(
                timestamp=frame.timestamp,
                arbitration_id=frame.arbitration_id,
                data=frame.data,
                is_extended_id=frame.is_extended,
                channel=0,
            )
        )
    (tmp_path / "socialledge.asc").write_text(text.getvalue())
    writer.stop()
    database = cantools.database.load_file(socialledge_dbc)
    svc = RecordingService()
    driver = CanDriver(
        svc, config(source="asc", file=str(tmp_path / "socialledge.asc"), dbc=str(socialledge_dbc)), database
    )
    await run_until(driver, svc, lambda: driver.frames == len(frames))
    assert published_batches(svc) == expected_batches(database, frames)


async def test_real_capture_against_a_dbc_it_does_not_fit_is_counted_not_published(
    python_can_sdist: Path, socialledge_dbc: Path
) -> None:
    # A CANoe capture (python-can issue 1256): its id 0x64 carries 4 bytes where socialledge.dbc's
    # DRIVER_HEARTBEAT (also 0x64) has 1, 0x65 is the DBC's MOTOR_CMD, and the rest are unknown.
    database = cantools.database.load_file(socialledge_dbc)
    svc = RecordingService()
    signals = {"Vehicle.Heartbeat": "DRIVER_HEARTBEAT.DRIVER_HEARTBEAT_cmd"}
    log = python_can_sdist / "test" / "data" / "issue_1256.asc"
    driver = CanDriver(svc, config(source="asc", file=str(log), dbc=str(socialledge_dbc), signals=signals), database)
    await run_until(driver, svc, lambda: bool(svc.rejects()))
    assert svc.batches() == []
    assert svc.statuses()[-1].rejects == {"dbc.length_mismatch": 795, "dbc.not_mapped": 79, "dbc.unknown_id": 583}


async def test_looped_replay_starts_again_at_the_end(
    tmp_path: Path, socialledge_dbc: Path, socialledge_log: str
) -> None:
    (tmp_path / "socialledge.log").write_text(socialledge_log)
    svc = RecordingService()
    driver = load_driver(
        svc, config(source="candump", file=str(tmp_path / "socialledge.log"), dbc=str(socialledge_dbc), loop=True)
    )
    await run_until(driver, svc, lambda: len(svc.batches()) >= 12)
    subjects = [subject for subject, _ in svc.batches()]
    assert subjects[:8] == (["can.signals.SENSOR_SONARS"] * 3 + ["can.signals.IO_DEBUG"]) * 2


async def test_missing_log_is_an_unavailable_device_not_a_crash(tmp_path: Path, socialledge_dbc: Path) -> None:
    svc = RecordingService()
    driver = load_driver(svc, config(source="candump", file=str(tmp_path / "nowhere.log"), dbc=str(socialledge_dbc)))
    await run_until(driver, svc, lambda: len(svc.statuses()) >= 2)
    status = svc.statuses()[1]
    assert (status.state, status.reason) == ("unavailable", "ENOENT: No such file or directory")
    assert status.retry_in_s > 0


async def test_log_without_frames_is_reported_unavailable(tmp_path: Path, socialledge_dbc: Path) -> None:
    (tmp_path / "notes.log").write_text("not a CAN log\n")
    svc = RecordingService()
    driver = load_driver(svc, config(source="candump", file=str(tmp_path / "notes.log"), dbc=str(socialledge_dbc)))
    await run_until(driver, svc, lambda: any(status.state == "unavailable" for status in svc.statuses()))
    assert svc.statuses()[-1].reason == "the log holds no frames"


async def test_can_interface_that_cannot_be_opened_is_retried_with_backoff(
    socialledge_dbc: Path, autojump_clock: trio.testing.MockClock
) -> None:
    # The real AF_CAN open: ENODEV for the missing interface, or EAFNOSUPPORT on a kernel
    # without CAN (as in most containers). Either is a device state, retried.
    svc = RecordingService()
    driver = load_driver(svc, config(source="socketcan", interface="carnelnone0", dbc=str(socialledge_dbc)))
    attempts: list[float] = []

    def counted(condition_count: int) -> Callable[[], bool]:
        return lambda: sum(status.state == "unavailable" for status in svc.statuses()) >= condition_count

    start = trio.current_time()
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(driver.run)
            for count in (1, 2, 3):
                await svc.wait_for(counted(count))
                attempts.append(trio.current_time() - start)
            nursery.cancel_scope.cancel()
    assert attempts == pytest.approx([0.0, 0.5, 1.5])
    status = svc.statuses()[1]
    assert status.device == "socketcan:carnelnone0"
    assert status.reason.split(":")[0] in ("ENODEV", "EAFNOSUPPORT")


class SocketPairBus:
    """Stands in for a CAN interface: each open hands the driver one end of a SEQPACKET pair."""

    def __init__(self) -> None:
        self.opened: list[str] = []
        self.bus_ends: list[socket.socket] = []

    def open(self, interface: str) -> socket.socket:
        self.opened.append(interface)
        ours, bus = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        ours.setblocking(False)
        self.bus_ends.append(bus)
        return ours


async def test_socketcan_frames_are_published_and_a_lost_socket_is_reopened(
    socialledge_dbc: Path, socialledge_log: str
) -> None:
    database = cantools.database.load_file(socialledge_dbc)
    frames = decodable_frames(socialledge_log)
    bus = SocketPairBus()
    svc = RecordingService()
    driver = CanDriver(
        svc, config(source="socketcan", interface="can0", dbc=str(socialledge_dbc)), database, open_socket=bus.open
    )
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(driver.run)
            await svc.wait_for(lambda: svc.state() == "connected")
            for frame in frames:
                bus.bus_ends[0].send(pack_frame(frame))
            bus.bus_ends[0].send(bytes(3))
            await svc.wait_for(lambda: driver.frames == len(frames))
            bus.bus_ends[0].close()
            await svc.wait_for(lambda: len(bus.opened) == 2 and svc.state() == "connected")
            nursery.cancel_scope.cancel()
    for end in bus.bus_ends[1:]:
        end.close()
    assert published_batches(svc) == expected_batches(database, frames)
    states = [(status.state, status.reason) for status in svc.statuses()]
    assert states == [
        ("connecting", ""),
        ("connected", ""),
        ("unavailable", "the CAN socket was closed"),
        ("connecting", ""),
        ("connected", ""),
    ]
    assert svc.statuses()[2].rejects == {"dbc.unknown_id": 1, "socket.bad_size": 1}


async def test_rejections_are_reported_once_an_interval_and_logged_at_powers_of_ten(
    socialledge_dbc: Path, autojump_clock: trio.testing.MockClock
) -> None:
    bus = SocketPairBus()
    svc = RecordingService()
    driver = CanDriver(
        svc,
        config(source="socketcan", dbc=str(socialledge_dbc)),
        cantools.database.load_file(socialledge_dbc),
        open_socket=bus.open,
    )
    reports: list[tuple[float, dict[str, int]]] = []
    start = trio.current_time()
    with structlog.testing.capture_logs() as logs, trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(driver.run)
            await svc.wait_for(lambda: svc.state() == "connected")
            for bad_reads in (3, 6, 1):
                for _ in range(bad_reads):
                    bus.bus_ends[0].send(bytes(3))
                reported = len(svc.statuses())
                await svc.wait_for(lambda reported=reported: len(svc.statuses()) > reported)
                reports.append((trio.current_time() - start, svc.rejects()))
            nursery.cancel_scope.cancel()
    bus.bus_ends[0].close()
    interval = REPORT_INTERVAL_S
    assert reports == [
        (interval, {"socket.bad_size": 3}),
        (2 * interval, {"socket.bad_size": 9}),
        (3 * interval, {"socket.bad_size": 10}),
    ]
    logged = [entry["totals"] for entry in logs if entry["event"] == "frames_rejected"]
    assert logged == [{"socket.bad_size": 3}, {"socket.bad_size": 10}]


def test_bad_config_ends_the_process_with_the_field_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARNEL_CONFIG", json.dumps({"source": "candump", "dbc": "car.dbc", "signals": SIGNALS}))
    with pytest.raises(SystemExit) as caught:
        main()
    assert str(caught.value) == "can: no_file: source 'candump' replays a log: set file - at `config`"


def test_missing_dbc_ends_the_process_with_its_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(
        "CARNEL_CONFIG", json.dumps({"source": "candump", "file": "x.log", "dbc": "car.dbc", "signals": SIGNALS})
    )
    monkeypatch.setenv("CARNEL_IMAGE_DIR", str(tmp_path))
    with pytest.raises(SystemExit) as caught:
        main()
    assert str(caught.value) == f"can: [Errno {errno.ENOENT}] No such file or directory: '{tmp_path / 'car.dbc'}'"


def test_mapping_to_a_signal_the_dbc_lacks_ends_the_process(
    monkeypatch: pytest.MonkeyPatch, socialledge_dbc: Path
) -> None:
    signals = {"Vehicle.Speed": "MOTOR_STATUS.MOTOR_STATUS_speed_mph"}
    monkeypatch.setenv(
        "CARNEL_CONFIG",
        json.dumps({"source": "candump", "file": "x.log", "dbc": str(socialledge_dbc), "signals": signals}),
    )
    with pytest.raises(SystemExit) as caught:
        main()
    assert str(caught.value) == "can: unknown_signal: message 'MOTOR_STATUS' has no signal 'MOTOR_STATUS_speed_mph'"
