"""gpsd's JSON protocol (sans-I/O): report lines in, the same fix events as from NMEA out.

The driver asks gpsd for JSON reports, not for relayed NMEA: gpsd also serves receivers that
speak binary protocols (u-blox UBX, SiRF, Garmin), for which it has no NMEA to relay, only
pseudo-NMEA made from its own fix, and its TPV report already combines each cycle into one fix.

A TPV report gives the position, mode and time; SKY reports give the dilutions and the number
of satellites used, which are attached to the next fix. gpsd sends a TPV once a cycle, but it
may send one for a cycle it has not finished (its regression output shows one per sentence):
a TPV for the time of the last fix counts only when its mode is better.
"""
from __future__ import annotations

import datetime
from typing import Annotated

import msgspec

from carnel.drivers.gps.errors import Reason
from carnel.drivers.gps.fix import Fix, FixEvent, FixLost
from carnel.drivers.gps.protocol import Rejected
from carnel.drivers.gps.receiver import Received
from carnel.drivers.gps.sentences import FixQuality, FixType

# Sent once connected: JSON reports from every device gpsd has, pushed as they come.
WATCH = b'?WATCH={"enable":true,"json":true};\n'

# gpsd's own bound on a report (GPS_JSON_RESPONSE_MAX in gps_json.h, GPSD 3.22).
MAX_REPORT_LENGTH = 10240

Latitude = Annotated[float, msgspec.Meta(ge=-90.0, le=90.0)]
Longitude = Annotated[float, msgspec.Meta(ge=-180.0, le=180.0)]

# TPV's status (gps.h's STATUS_*) as a GGA fix quality; gpsd leaves it out for a plain fix.
_QUALITIES = {
    1: FixQuality.GPS,
    2: FixQuality.DGPS,
    3: FixQuality.RTK_FIXED,
    4: FixQuality.RTK_FLOAT,
    5: FixQuality.DEAD_RECKONING,
    6: FixQuality.DEAD_RECKONING,
    7: FixQuality.MANUAL,
    8: FixQuality.SIMULATION,
    9: FixQuality.PPS,
}
_FIX_TYPES = {2: FixType.FIX_2D, 3: FixType.FIX_3D}
_NO_FIX = 1


class _Envelope(msgspec.Struct):
    kind: str = msgspec.field(name="class")


class Tpv(msgspec.Struct, frozen=True, kw_only=True):
    """The fields of a TPV (time-position-velocity) report that a fix is made of."""

    mode: int = 0
    status: int = 1
    time: str | None = None
    lat: Latitude | None = None
    lon: Longitude | None = None
    altitude_msl_m: float | None = msgspec.field(default=None, name="altMSL")
    # Before GPSD 3.20 "alt" was the only altitude, above mean sea level.
    altitude_m: float | None = msgspec.field(default=None, name="alt")
    geoid_separation_m: float | None = msgspec.field(default=None, name="geoidSep")
    speed_mps: Annotated[float, msgspec.Meta(ge=0.0)] | None = msgspec.field(
        default=None, name="speed")
    course_deg: Annotated[float, msgspec.Meta(ge=0.0, le=360.0)] | None = msgspec.field(
        default=None, name="track")


class SkySatellite(msgspec.Struct, frozen=True, kw_only=True):
    used: bool = False


class Sky(msgspec.Struct, frozen=True, kw_only=True):
    """The fields of a SKY report that a fix takes: dilutions and satellites used."""

    hdop: float | None = None
    pdop: float | None = None
    vdop: float | None = None
    satellites_used: int | None = msgspec.field(default=None, name="uSat")
    satellites: list[SkySatellite] | None = None


class GpsdError(msgspec.Struct, frozen=True):
    """gpsd's answer to a request it did not understand."""

    message: str = ""


_decode_envelope = msgspec.json.Decoder(_Envelope).decode
_DECODERS = {
    "TPV": msgspec.json.Decoder(Tpv).decode,
    "SKY": msgspec.json.Decoder(Sky).decode,
    "ERROR": msgspec.json.Decoder(GpsdError).decode,
}


class GpsdReceiver:
    """gpsd's report lines in, Fix and FixLost out; other report classes are skipped.

    A line that is not JSON is rejected as malformed, one whose fields have the wrong types or
    values (a latitude of 91) as bad_field, and one longer than gpsd ever sends as too_long.
    gpsd's ERROR report, its answer to a request it does not support, counts as unsupported.
    """

    def __init__(self) -> None:
        self._pending = b""
        self._discarding = False
        self._sky = Sky()
        self._has_fix: bool | None = None
        self._last_fix: Fix | None = None

    def feed(self, data: bytes, now: float) -> Received:
        """Take the next bytes from gpsd, received at `now`; feeding any chunking gives the same."""
        received = Received()
        if self._discarding:
            end = data.find(b"\n")
            if end < 0:
                return received
            data = data[end + 1:]
            self._discarding = False
        lines = (self._pending + data).split(b"\n")
        self._pending = lines.pop()
        for line in lines:
            self._report(line, now, received)
        if len(self._pending) > MAX_REPORT_LENGTH:
            # The rest of this report is skipped up to its newline, so a peer that never sends
            # one cannot make the buffer grow.
            received.rejected.append(_too_long(self._pending))
            self._pending = b""
            self._discarding = True
        return received

    def end_epoch(self) -> list[FixEvent]:
        """Nothing to close: every TPV is a whole cycle already."""
        return []

    def _report(self, line: bytes, now: float, received: Received) -> None:
        if len(line) > MAX_REPORT_LENGTH:
            received.rejected.append(_too_long(line))
            return
        line = line.strip()
        if not line:
            return
        try:
            kind = _decode_envelope(line).kind
            decode = _DECODERS.get(kind)
            if decode is None:
                return
            report = decode(line)
        except msgspec.ValidationError as exc:
            received.rejected.append(Rejected(reason=Reason.BAD_FIELD, detail=str(exc), raw=line))
            return
        except msgspec.DecodeError as exc:
            received.rejected.append(Rejected(reason=Reason.MALFORMED, detail=str(exc), raw=line))
            return
        if type(report) is Sky:
            self._sky = report
        elif type(report) is GpsdError:
            received.rejected.append(Rejected(
                reason=Reason.UNSUPPORTED, detail=f"gpsd refused a request: {report.message}",
                raw=line))
        else:
            self._tpv(report, line, now, received)

    def _tpv(self, tpv: Tpv, line: bytes, now: float, received: Received) -> None:
        try:
            moment = _utc(tpv.time)
        except (ValueError, OverflowError):
            received.rejected.append(Rejected(
                reason=Reason.BAD_FIELD, detail=f"time={tpv.time!r}: not ISO 8601", raw=line))
            return
        if tpv.mode == _NO_FIX:
            if self._has_fix is not False:
                self._has_fix = False
                received.fixes.append(FixLost(
                    received_at=now, time=moment.time() if moment else None, reported_by="TPV"))
            return
        fix_type = _FIX_TYPES.get(tpv.mode)
        if fix_type is None or moment is None or tpv.lat is None or tpv.lon is None:
            return
        last = self._last_fix
        if last is not None and last.time == moment.time() and last.date == moment.date() and (
                last.fix_type is None or fix_type <= last.fix_type):
            return
        fix = self._fix(tpv, moment, fix_type, now)
        self._has_fix = True
        self._last_fix = fix
        received.fixes.append(fix)

    def _fix(self, tpv: Tpv, moment: datetime.datetime, fix_type: FixType, now: float) -> Fix:
        sky = self._sky
        satellites_used = sky.satellites_used
        if satellites_used is None and sky.satellites is not None:
            satellites_used = sum(1 for satellite in sky.satellites if satellite.used)
        altitude = tpv.altitude_msl_m if tpv.altitude_msl_m is not None else tpv.altitude_m
        return Fix(
            received_at=now,
            time=moment.time(),
            date=moment.date(),
            lat=tpv.lat,
            lon=tpv.lon,
            altitude_m=altitude,
            geoid_separation_m=tpv.geoid_separation_m,
            speed_mps=tpv.speed_mps,
            course_deg=tpv.course_deg,
            quality=_QUALITIES.get(tpv.status),
            fix_type=fix_type,
            mode=None,
            satellites_used=satellites_used,
            hdop=sky.hdop,
            pdop=sky.pdop,
            vdop=sky.vdop,
        )


def _too_long(line: bytes) -> Rejected:
    return Rejected(reason=Reason.TOO_LONG, detail=f"a report over {MAX_REPORT_LENGTH} bytes",
                    raw=line[:MAX_REPORT_LENGTH])


def _utc(text: str | None) -> datetime.datetime | None:
    if text is None:
        return None
    moment = datetime.datetime.fromisoformat(text)
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.timezone.utc)
    return moment
