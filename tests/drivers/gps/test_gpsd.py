"""gpsd's JSON reports: decoded into the same fix events as NMEA, bad lines counted, and the
adapter against a real TCP server on 127.0.0.1 that speaks gpsd's protocol with gpsd's own
output (data/gpsd/garmin-10x.log.chk, see SOURCES.md).
"""
from __future__ import annotations

import datetime
import json

import pytest
import trio
from gps_rig import (
    DEVICES,
    VERSION,
    WATCHING,
    FakeGpsd,
    RecordingOutput,
    RecordingService,
    gpsd_reports,
    receiver_output,
)
from hypothesis import given
from hypothesis import strategies as st

from carnel.drivers.gps import (
    WATCH,
    Fix,
    FixLost,
    FixQuality,
    FixType,
    GpsConfig,
    GpsdReceiver,
    NmeaReceiver,
    Reason,
)
from carnel.drivers.gps.gpsd import MAX_REPORT_LENGTH
from carnel.drivers.gps.gpsd_client import gpsd_session
from carnel.ipc.device import Backoff, DeviceLink, DeviceLost

DEADLINE_S = 10


def decode(lines: list[bytes]):
    receiver = GpsdReceiver()
    return receiver.feed(b"".join(lines), 1.0)


def test_gpsds_reports_of_a_real_log_give_its_fixes_and_its_loss() -> None:
    received = decode(gpsd_reports())
    assert received.rejected == []
    fixes = [event for event in received.fixes if isinstance(event, Fix)]
    losses = [event for event in received.fixes if isinstance(event, FixLost)]
    first = fixes[0]
    assert (first.time, first.lat, first.lon) == (datetime.time(16, 50, 7), 41.726763333,
                                                  -83.63463)
    assert (first.altitude_m, first.geoid_separation_m) == (204.3, -33.7)
    assert (first.speed_mps, first.course_deg) == (0.283, 36.58)
    assert (first.quality, first.fix_type) == (FixQuality.GPS, FixType.FIX_3D)
    assert (first.satellites_used, first.hdop, first.pdop, first.vdop) == (6, 1.5, 2.8, 2.4)
    assert [loss.time for loss in losses] == [datetime.time(16, 50, 19)]


def test_gpsd_and_the_nmea_path_agree_on_the_same_log() -> None:
    """gpsd decoded garmin-10x.log itself: its fixes are ours, time for time."""
    nmea = NmeaReceiver()
    ours = nmea.feed(receiver_output("garmin-10x.log"), 1.0).fixes + nmea.end_epoch()
    theirs = decode(gpsd_reports()).fixes

    def by_time(events):
        # gpsd may refine a cycle's fix (2D, then 3D); the last word for each time counts.
        return {event.time: (round(event.lat, 9), round(event.lon, 9))
                for event in events if isinstance(event, Fix)}

    assert by_time(theirs) == by_time(ours)
    assert [type(event) for event in theirs if isinstance(event, FixLost)] == [
        type(event) for event in ours if isinstance(event, FixLost)]


def test_a_refined_report_for_the_same_cycle_counts_only_when_its_mode_is_better() -> None:
    fixes = [event for event in decode(gpsd_reports()).fixes if isinstance(event, Fix)]
    at_44 = [fix.fix_type for fix in fixes if fix.time == datetime.time(16, 50, 44)]
    assert at_44 == [FixType.FIX_2D, FixType.FIX_3D]
    times = [fix.time for fix in fixes]
    assert len(times) - len(set(times)) == 1


@given(st.lists(st.integers(1, 400), max_size=60))
def test_any_chunking_of_the_reports_gives_the_same_events(cuts) -> None:
    data = b"".join(gpsd_reports())
    whole = decode([data])
    receiver = GpsdReceiver()
    fixes, rejected, position = [], [], 0
    for cut in [*cuts, len(data)]:
        received = receiver.feed(data[position:position + cut], 1.0)
        fixes += received.fixes
        rejected += received.rejected
        position += cut
    assert (fixes, rejected) == (whole.fixes, whole.rejected)


@pytest.mark.parametrize(("line", "reason"), [
    (b"not json at all\r\n", Reason.MALFORMED),
    (b'{"class":"TPV","mode":3,"lat":91.0,"lon":0.0,"time":"2020-01-01T00:00:00Z"}\r\n',
     Reason.BAD_FIELD),
    (b'{"class":"TPV","mode":"three"}\r\n', Reason.BAD_FIELD),
    (b'{"class":"TPV","mode":3,"time":"yesterday","lat":1.0,"lon":1.0}\r\n', Reason.BAD_FIELD),
    (b'{"class":"SKY","hdop":"low"}\r\n', Reason.BAD_FIELD),
    (b'{"class":"ERROR","message":"Unrecognized request \'WACH\'"}\r\n', Reason.UNSUPPORTED),
    (b'{"class":"TPV","mode":3,"lat":1.0,' + b" " * MAX_REPORT_LENGTH + b"}\r\n", Reason.TOO_LONG),
])
def test_bad_report_lines_are_refused_with_a_reason_and_the_next_one_still_counts(
        line: bytes, reason: Reason) -> None:
    received = decode([line, *gpsd_reports()[:12]])
    assert [rejection.reason for rejection in received.rejected] == [reason]
    assert any(isinstance(event, Fix) for event in received.fixes)


TPV_FIELDS = st.fixed_dictionaries({"class": st.just("TPV")}, optional={
    "mode": st.one_of(st.integers(-5, 5), st.text(max_size=3)),
    "status": st.integers(-1, 12),
    "time": st.one_of(st.text(max_size=30), st.datetimes(timezones=st.timezones()).map(
        lambda moment: moment.isoformat())),
    "lat": st.floats(allow_nan=False, allow_infinity=False),
    "lon": st.floats(allow_nan=False, allow_infinity=False),
    "altMSL": st.floats(allow_nan=False, allow_infinity=False),
    "speed": st.floats(allow_nan=False, allow_infinity=False),
    "track": st.floats(allow_nan=False, allow_infinity=False),
})


@given(st.lists(st.one_of(TPV_FIELDS.map(lambda tpv: json.dumps(tpv).encode()), st.binary()),
                max_size=8))
def test_any_report_lines_give_events_or_counted_refusals_and_never_raise(lines) -> None:
    received = GpsdReceiver().feed(b"\n".join(lines) + b"\n", 1.0)
    for event in received.fixes:
        if isinstance(event, Fix):
            assert -90.0 <= event.lat <= 90.0 and -180.0 <= event.lon <= 180.0
            assert event.speed_mps is None or event.speed_mps >= 0.0


def test_reports_of_other_classes_are_skipped() -> None:
    received = decode([VERSION, DEVICES, WATCHING,
                       b'{"class":"PPS","device":"/dev/pps0","real_sec":1}\r\n'])
    assert (received.fixes, received.rejected) == ([], [])


def test_a_peer_that_never_ends_its_line_cannot_grow_the_buffer() -> None:
    receiver = GpsdReceiver()
    rejected = []
    for _ in range(100):
        rejected += receiver.feed(b"x" * 1000, 1.0).rejected
        assert len(receiver._pending) <= MAX_REPORT_LENGTH
    assert [rejection.reason for rejection in rejected] == [Reason.TOO_LONG]
    after = receiver.feed(b"\n" + b"".join(gpsd_reports()[:12]), 1.0)
    assert after.rejected == [] and after.fixes


def gpsd_config(port: int) -> GpsConfig:
    return GpsConfig(source="gpsd", host="127.0.0.1", port=port, quiet_s=0.2, silence_s=60.0)


async def test_the_adapter_asks_gpsd_to_watch_in_json_and_reads_its_fixes() -> None:
    server = FakeGpsd(gpsd_reports())
    svc = RecordingService()
    output = RecordingOutput()
    async with trio.open_nursery() as nursery:
        await nursery.start(server.run)
        link = DeviceLink(svc, "gps", f"gpsd:127.0.0.1:{server.port}")
        nursery.start_soon(gpsd_session, link, gpsd_config(server.port), output, lambda: 1.0)
        with trio.fail_after(DEADLINE_S):
            await output.wait_until(lambda: len(output.events) == len(decode(gpsd_reports()).fixes))
        nursery.cancel_scope.cancel()
    assert server.requests == [WATCH]
    assert output.events == decode(gpsd_reports()).fixes[:len(output.events)]
    assert output.rejections == []


async def test_gpsd_going_away_is_unavailable_and_reconnected_when_it_is_back() -> None:
    server = FakeGpsd(gpsd_reports()[:12])
    svc = RecordingService()
    output = RecordingOutput()
    async with trio.open_nursery() as nursery:
        await nursery.start(server.run)
        config = gpsd_config(server.port)
        link = DeviceLink(svc, "gps", f"gpsd:127.0.0.1:{server.port}",
                          backoff=Backoff(initial=0.01, maximum=0.05))

        async def session(link: DeviceLink) -> None:
            await gpsd_session(link, config, output, lambda: 1.0)

        nursery.start_soon(link.run, session)
        with trio.fail_after(DEADLINE_S):
            await output.wait_until(lambda: len(output.fixes_only) >= 1)
            first_connection = len(output.fixes_only)
            server.stop()
            await svc.wait_until(lambda: any("ECONNREFUSED" in reason for _, reason in svc.states))
            back = FakeGpsd(gpsd_reports()[:12], port=server.port)
            await nursery.start(back.run)
            await svc.wait_until(lambda: svc.states.count(("connected", "")) == 2)
            await output.wait_until(lambda: len(output.fixes_only) > first_connection)
        nursery.cancel_scope.cancel()
    unavailable = [reason for state, reason in svc.states if state == "unavailable"]
    assert unavailable[0] == "gpsd closed the connection"
    assert back.clients == 1


async def test_a_gpsd_that_never_answers_is_lost_after_the_silence_timeout() -> None:
    # A listener that never accepts: the connection is queued, gpsd's VERSION never comes,
    # and the driver gives up after silence_s of nothing instead of waiting for ever.
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = listeners[0].socket.getsockname()[1]
    svc = RecordingService()
    link = DeviceLink(svc, "gps", f"gpsd:127.0.0.1:{port}")
    config = GpsConfig(source="gpsd", host="127.0.0.1", port=port, quiet_s=0.1, silence_s=0.3)
    with pytest.raises(DeviceLost, match="^no data for 0.3 s$"):
        with trio.fail_after(DEADLINE_S):
            await gpsd_session(link, config, RecordingOutput(), lambda: 1.0)
    for listener in listeners:
        await listener.aclose()
