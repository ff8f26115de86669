"""The rendered feeds: each reads cleanly with its driver's own parser, and all three agree."""
from __future__ import annotations

import bisect
import collections
import statistics
import subprocess
import sys
from importlib import resources
from pathlib import Path

import cantools
import pytest

from carnel.drivers.can import CandumpReader, DecoderConfig, SignalDecoder, SignalMapping
from carnel.drivers.gps import Fix, FixLost, FixTracker, NmeaStream, Rejected, pace, read_log
from carnel.drivers.obd.drive_file import parse_drive
from carnel.drivers.obd.pids import PIDS, decode_pid, encode_pid
from carnel.drivers.sim.drive import Drive, simulate
from carnel.drivers.sim.geo import distance_m
from carnel.drivers.sim.render import CANDUMP_FILE, NMEA_FILE, OBD_FILE, START, render
from carnel.drivers.sim.route import bundled_route

SHIPPED = resources.files("carnel.kernel").joinpath("images/sim")
FEEDS = (NMEA_FILE, CANDUMP_FILE, OBD_FILE, "carnel_sim.dbc")
KNOTS_MPS = 1852.0 / 3600.0


@pytest.fixture(scope="module")
def lap() -> Drive:
    return simulate(bundled_route())


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, lap) -> Path:
    out = tmp_path_factory.mktemp("feeds")
    render(lap, out)
    return out


@pytest.fixture(scope="module")
def fixes(rendered) -> list[Fix | FixLost]:
    stream, tracker, events = NmeaStream(), FixTracker(), []
    for step in pace(read_log((rendered / NMEA_FILE).read_bytes())):
        for sentence in stream.feed(step.sentence):
            assert not isinstance(sentence, Rejected), sentence
            events += tracker.update(sentence, step.offset_s)
    return events + tracker.end_epoch()


@pytest.fixture(scope="module")
def can_signals(rendered) -> dict[str, list[tuple[float, object]]]:
    """Every decoded signal of drive.log by name: (seconds into the lap, value or choice)."""
    database = cantools.database.load_file(rendered / "carnel_sim.dbc")
    reader = CandumpReader()
    frames = reader.feed((rendered / CANDUMP_FILE).read_bytes()) + reader.close()
    assert reader.rejections.total == 0 and reader.skipped.total == 0
    signals = collections.defaultdict(list)
    for frame in frames:
        for name, value in database.decode_message(frame.arbitration_id, frame.data).items():
            signals[name].append((frame.timestamp - START.timestamp(), value))
    return signals


def value_near(series: list[tuple[float, object]], t: float) -> object:
    times = [at for at, _ in series]
    index = bisect.bisect_left(times, t)
    candidates = series[max(0, index - 1):index + 1]
    return min(candidates, key=lambda item: abs(item[0] - t))[1]


def test_the_shipped_feeds_are_what_the_renderer_writes_now(rendered):
    for name in FEEDS:
        assert SHIPPED.joinpath(name).read_bytes() == (rendered / name).read_bytes(), (
            f"kernel/images/sim/{name} is stale: python -m carnel.drivers.sim.render --out kernel/images/sim")


def test_the_shipped_feeds_stay_small():
    sizes = {name: len(SHIPPED.joinpath(name).read_bytes()) for name in FEEDS}
    assert sum(sizes.values()) < 5_000_000, sizes


def test_the_gps_log_is_all_valid_sentences_with_their_arrival_times(rendered):
    records = read_log((rendered / NMEA_FILE).read_bytes())
    assert len(records) == len((rendered / NMEA_FILE).read_text().splitlines())
    assert all(record.at is not None for record in records)
    assert [r.at for r in records] == sorted(r.at for r in records)
    stream = NmeaStream()
    for record in records:
        stream.feed(record.sentence)
    assert stream.stats.sentences == len(records) and stream.stats.rejected == 0


def test_the_receiver_fixes_once_a_second_but_for_a_short_loss(fixes, lap):
    lost = [event for event in fixes if isinstance(event, FixLost)]
    found = [event for event in fixes if isinstance(event, Fix)]
    assert len(lost) == 1
    assert len(found) == lap.duration_s - 6
    assert all(4 <= fix.satellites_used <= 12 and 0.5 <= fix.hdop <= 2.5 for fix in found)
    assert any(fix.received_at > lost[0].received_at for fix in found)


def test_gps_positions_and_speeds_follow_the_drive(fixes, lap):
    for fix in (event for event in fixes if isinstance(event, Fix)):
        second = fix.utc.timestamp() - START.timestamp()
        truth = lap.at(second)
        assert distance_m(fix.lat, fix.lon, truth.lat, truth.lon) < 8.0
        assert fix.speed_mps == pytest.approx(truth.speed_mps, abs=0.3)
        assert abs(fix.altitude_m - truth.altitude_m) < 12.0


def test_each_can_message_keeps_its_cycle_time(rendered):
    database = cantools.database.load_file(rendered / "carnel_sim.dbc")
    reader = CandumpReader()
    times = collections.defaultdict(list)
    for frame in reader.feed((rendered / CANDUMP_FILE).read_bytes()):
        times[frame.arbitration_id].append(frame.timestamp)
    assert set(times) == {message.frame_id for message in database.messages}
    for message in database.messages:
        gaps = [b - a for a, b in zip(times[message.frame_id], times[message.frame_id][1:])]
        period = message.cycle_time / 1000.0
        assert statistics.median(gaps) == pytest.approx(period, abs=0.001)
        assert max(gaps) < period + 0.001 and min(gaps) > period - 0.001
        assert 1.0 <= 1 / period <= 100.0


def test_the_can_driver_decodes_multiplexed_pages_and_value_tables(rendered):
    database = cantools.database.load_file(rendered / "carnel_sim.dbc")
    mapping = [("ENGINE_STATUS", "CoolantTemperature"), ("ENGINE_STATUS", "FuelLevel"),
               ("ENGINE_STATUS", "BatteryVoltage"), ("TRANSMISSION", "GearSelected"),
               ("TRANSMISSION", "ShiftLever"), ("BODY_STATUS", "DoorFrontLeft")]
    decoder = SignalDecoder(database, DecoderConfig(signals=tuple(
        SignalMapping(message=m, signal=s, output=s) for m, s in mapping)))
    reader = CandumpReader()
    decoded = collections.defaultdict(set)
    for frame in reader.feed((rendered / CANDUMP_FILE).read_bytes()):
        for signal in decoder.decode(frame):
            decoded[signal.name].add(signal.choice if signal.choice is not None else signal.value)
    assert decoder.rejections["decode_failed"] == 0
    assert {"CoolantTemperature", "FuelLevel", "BatteryVoltage"} <= set(decoded)
    assert {"First", "Second", "Third", "Fourth", "Neutral"} <= decoded["GearSelected"]
    assert decoded["ShiftLever"] == {"P", "D"}
    assert decoded["DoorFrontLeft"] == {"Open", "Closed"}


def test_rolling_counters_step_by_one(can_signals):
    values = [value for _, value in can_signals["RollingCounter"][:400]]
    assert set(values) == set(range(16))


def test_the_obd_drive_file_loads_in_the_obd_driver(rendered, lap):
    load = parse_drive((rendered / OBD_FILE).read_bytes())
    assert load.errors == ()
    assert load.drive.length == pytest.approx(lap.duration_s)
    assert {0x05, 0x0C, 0x0D, 0x11, 0x2F} <= load.drive.pids <= set(PIDS)
    for sample in load.drive.samples:
        for pid, value in sample.values.items():
            spec = PIDS[pid]
            assert spec.minimum <= value <= spec.maximum
            assert decode_pid(pid, encode_pid(pid, value)).value == pytest.approx(value, abs=spec.resolution)


def test_the_three_feeds_agree_on_speed(fixes, can_signals, rendered):
    obd = parse_drive((rendered / OBD_FILE).read_bytes()).drive
    compared = 0
    for fix in (event for event in fixes if isinstance(event, Fix)):
        second = fix.utc.timestamp() - START.timestamp()
        gps_kmh = fix.speed_mps * 3.6
        can_kmh = value_near(can_signals["VehicleSpeed"], second)
        obd_kmh = obd.values_at(second)[0x0D]
        assert abs(gps_kmh - can_kmh) < 1.0 and abs(can_kmh - obd_kmh) < 0.5, second
        compared += gps_kmh > 5.0
    assert compared > 300


def test_can_and_obd_agree_on_the_engine(can_signals, rendered):
    obd = parse_drive((rendered / OBD_FILE).read_bytes()).drive
    for second in range(0, int(obd.length), 7):
        values = obd.values_at(second)
        assert abs(value_near(can_signals["EngineSpeed"], second) - values[0x0C]) < 60.0
        assert abs(value_near(can_signals["ThrottlePosition"], second) - values[0x11]) < 3.0
        assert abs(value_near(can_signals["CoolantTemperature"], second) - values[0x05]) <= 1.0
        assert abs(value_near(can_signals["FuelLevel"], second) - values[0x2F]) <= 0.5


def test_the_drive_and_its_gps_and_obd_feeds_need_no_cantools():
    code = ("import sys; import carnel.drivers.sim.drive, carnel.drivers.sim.nmea_feed, "
            "carnel.drivers.sim.obd_feed; print('cantools' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
