"""The gps process's wiring, with an in-process stand-in for the bus: what it publishes on
`gps.fix` and `gps.status`, how it counts refused input, and its config from the image.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import structlog
import trio
import trio.testing
from gps_rig import DATA, FakeGpsd, RecordingService, gpsd_reports

from carnel.drivers.gps import GpsConfig
from carnel.drivers.gps.service import LOG_EVERY_S, GpsDriver, build_service
from carnel.ipc.settings import process_config

GARMIN = DATA / "garmin-10x.log"


def replay(path: Path | str, **overrides) -> GpsConfig:
    return GpsConfig(**{"source": "replay", "replay_file": str(path), "loop": False,
                        **overrides})


async def run_until(driver: GpsDriver, svc: RecordingService, predicate) -> None:
    """Run the driver until `predicate` holds; on the fake clock the deadline is virtual."""
    async with trio.open_nursery() as nursery:
        nursery.start_soon(driver.run)
        with trio.fail_after(600):
            await svc.wait_until(predicate)
        nursery.cancel_scope.cancel()


async def test_a_replayed_drive_publishes_its_fixes_and_each_loss_once(autojump_clock) -> None:
    svc = RecordingService()
    driver = GpsDriver(svc, replay(GARMIN), clock=lambda: 1_600_000_000.0)
    # The replay is over once its end has been reported as a loss of fix.
    await run_until(driver, svc, lambda: len(svc.fixes) == 11)
    validity = [fix.valid for fix in svc.fixes]
    assert validity == [True] * 3 + [False] + [True] * 6 + [False]
    first = svc.fixes[0]
    assert (round(first.latitude, 9), round(first.longitude, 9)) == (41.726763333, -83.63463)
    assert first.time_ns == 1_279_471_807_000_000_000
    assert first.timestamp_ns == 1_600_000_000_000_000_000
    assert (first.quality, first.mode, first.satellites, first.talker) == (1, 3, 6, "GP")
    assert svc.states == [("connecting", ""), ("connected", "")]
    assert svc.statuses[-1].device == f"replay:{GARMIN}"


async def test_refused_sentences_are_counted_by_reason_and_logged_at_a_bounded_rate(
        autojump_clock) -> None:
    # The MT3339 sends 84-character GGA: over NMEA's 82, refused unless the limit is raised.
    log = DATA / "mt3339.log"
    too_long = sum(1 for line in log.read_bytes().splitlines()
                   if line.startswith(b"$") and len(line.rstrip()) + 2 > 82)
    svc = RecordingService()
    driver = GpsDriver(svc, replay(log))
    with structlog.testing.capture_logs() as logs:
        await run_until(driver, svc, lambda: svc.fixes and not svc.fixes[-1].valid)
    assert driver.link.rejects == {"too_long": too_long}
    warnings = [entry for entry in logs if entry["event"] == "input_rejected"]
    # One GGA refused a second for 30 s, logged with the count since the line before, at most
    # every LOG_EVERY_S; the first one at once.
    assert warnings[0]["counts"] == {"too_long": 1}
    assert warnings[0]["last_raw"].startswith(b"$GPGGA")
    assert len(warnings) == 1 + (too_long - 1) // int(LOG_EVERY_S)
    assert sum(entry["counts"]["too_long"] for entry in warnings) <= too_long
    reported = [status.rejects for status in svc.statuses if status.rejects]
    assert reported[0] == {"too_long": 1}
    # The RMCs still give every fix.
    assert sum(fix.valid for fix in svc.fixes) == 30


async def test_a_raised_limit_takes_the_mt3339s_long_sentences(autojump_clock) -> None:
    svc = RecordingService()
    driver = GpsDriver(svc, replay(DATA / "mt3339.log", max_sentence_length=90))
    await run_until(driver, svc, lambda: svc.fixes and not svc.fixes[-1].valid)
    assert driver.link.rejects == {}
    assert all(fix.altitude_m is not None for fix in svc.fixes if fix.valid)


async def test_a_missing_log_is_unavailable_and_retried_without_crashing(
        autojump_clock, tmp_path: Path) -> None:
    svc = RecordingService()
    driver = GpsDriver(svc, replay(tmp_path / "later.nmea", retry_initial_s=1.0, retry_max_s=4.0))
    await run_until(driver, svc,
                    lambda: [state for state, _ in svc.states].count("unavailable") == 4)
    reasons = {reason for state, reason in svc.states if state == "unavailable"}
    assert reasons == {"ENOENT: No such file or directory"}
    assert [status.retry_in_s for status in svc.statuses if status.state == "unavailable"] == [
        1.0, 2.0, 4.0, 4.0]
    # One "no fix", replacing whatever fix the kernel retained from before the driver started.
    assert [(fix.valid, fix.latitude) for fix in svc.fixes] == [(False, None)]


async def test_a_relative_log_path_is_read_beside_the_image(
        autojump_clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "drives").mkdir()
    shutil.copy(GARMIN, tmp_path / "drives" / "garmin.nmea")
    monkeypatch.setenv("CARNEL_IMAGE_DIR", str(tmp_path))
    svc = RecordingService()
    await run_until(GpsDriver(svc, replay("drives/garmin.nmea")), svc, lambda: len(svc.fixes) >= 1)
    assert svc.fixes[0].valid


async def test_when_gpsd_goes_away_the_last_fix_is_ended_once() -> None:
    server = FakeGpsd(gpsd_reports()[:12])
    svc = RecordingService()
    async with trio.open_nursery() as nursery:
        await nursery.start(server.run)
        config = GpsConfig(source="gpsd", host="127.0.0.1", port=server.port, quiet_s=0.2,
                           retry_initial_s=0.01, retry_max_s=0.05)
        nursery.start_soon(GpsDriver(svc, config).run)
        with trio.fail_after(10):
            await svc.wait_until(lambda: any(fix.valid for fix in svc.fixes))
            server.stop()
            await svc.wait_until(lambda: svc.states.count(("connecting", "")) >= 3)
        nursery.cancel_scope.cancel()
    validity = [fix.valid for fix in svc.fixes]
    assert validity[-1] is False
    assert validity.count(False) == 1


def test_the_images_config_table_decodes_into_the_drivers_settings() -> None:
    table = {"source": "serial", "device": "/dev/ttyUSB0", "baud": 4800,
             "max_sentence_length": 84}
    config = process_config(GpsConfig, {"CARNEL_CONFIG": json.dumps(table)})
    assert (config.source, config.device, config.baud, config.max_sentence_length) == (
        "serial", "/dev/ttyUSB0", 4800, 84)
    assert config.device_name == "serial:/dev/ttyUSB0"
    assert build_service(config).name == "gps"


def test_a_bad_config_stops_the_process_with_the_field_named() -> None:
    env = {**os.environ, "CARNEL_CONFIG": json.dumps({"source": "serial", "baud": 12345})}
    done = subprocess.run([sys.executable, "-m", "carnel.drivers.gps"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "gps: baud 12345 is not a rate the serial port can be set to - at `config`")

