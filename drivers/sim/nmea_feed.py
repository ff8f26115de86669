"""The drive as a GPS receiver logs it: timestamped NMEA 0183 sentences, one epoch a second.

Each epoch is RMC, VTG, GGA, GSA and the GSV list, as a u-blox receiver sends them at 9600 baud,
each line stamped with the Unix time its last byte arrived (the form drivers/gps/replay.py
reads). Fixes carry a slowly wandering error of a metre or two; satellites low across the
street are hidden by the buildings, so the count used and the HDOP change with the heading;
and for a few seconds the receiver loses its fix altogether.
"""
from __future__ import annotations

import datetime
import math
import random
from dataclasses import dataclass, replace

from carnel.drivers.sim.drive import Drive, DriveSample
from carnel.drivers.sim.geo import EARTH_RADIUS_M, turn_deg

KNOTS_PER_MPS = 3600.0 / 1852.0
# EGM96 geoid height in central Helsinki: GGA's altitude is above the geoid, this below it.
GEOID_SEPARATION_M = 17.9
# The receiver needs this long after its epoch before it starts sending, and 10 bits a byte.
_LATENCY_S = 0.04
_BAUD = 9600
# The error wanders like a first-order Gauss-Markov process: how big and how fast.
_ERROR_M = 1.2
_ERROR_CORRELATION_S = 20.0
_ALTITUDE_ERROR_M = 2.5
_SPEED_ERROR_MPS = 0.05
# Below this speed a receiver cannot tell a course from its own noise, and leaves it empty.
_COURSE_FROM_MPS = 0.5
# Buildings hide satellites lower than this whose bearing is this far off the street's axis.
_STREET_WALL_ELEVATION_DEG = 35
_STREET_WALL_OFF_AXIS_DEG = 40.0


@dataclass(frozen=True, slots=True)
class Satellite:
    prn: int
    elevation_deg: int
    azimuth_deg: int
    snr_db: int


# The GPS sky over Helsinki on a May morning, as a receiver would list it.
SKY = (
    Satellite(5, 18, 135, 36), Satellite(7, 49, 297, 44), Satellite(8, 33, 229, 41),
    Satellite(9, 22, 318, 38), Satellite(13, 11, 72, 31), Satellite(14, 64, 95, 46),
    Satellite(17, 41, 164, 43), Satellite(19, 27, 193, 40), Satellite(21, 8, 16, 29),
    Satellite(22, 57, 43, 45), Satellite(30, 15, 262, 33),
)


@dataclass(frozen=True, slots=True)
class NmeaSettings:
    start: datetime.datetime
    seed: int = 7
    fix_lost_s: tuple[float, float] = (300.0, 306.0)  # from, until (seconds into the lap)


def nmea_lines(drive: Drive, settings: NmeaSettings) -> list[str]:
    """Every log line of the lap, in time order, without line endings."""
    rng = random.Random(settings.seed)
    error = _WanderingError(rng)
    lines = []
    start_unix = settings.start.timestamp()
    for second in range(int(drive.duration_s)):
        sample = drive.at(float(second))
        north, east, up = error.step()
        lost = settings.fix_lost_s[0] <= second < settings.fix_lost_s[1]
        when = settings.start + datetime.timedelta(seconds=second)
        speed = max(0.0, sample.speed_mps + rng.gauss(0.0, _SPEED_ERROR_MPS)) if sample.speed_mps else 0.0
        if lost:
            sentences = _lost_epoch(when, rng)
        else:
            sentences = _epoch(when, _shifted(sample, north, east, up), speed, _visible(sample), rng)
        arrived = start_unix + second + _LATENCY_S
        for text in sentences:
            arrived += (len(text) + 2) * 10 / _BAUD
            lines.append(f"{arrived:.3f} {text}")
    return lines


def sentence(body: str) -> str:
    """`$body*hh`: the checksum is the XOR of the body's bytes."""
    check = 0
    for byte in body.encode("ascii"):
        check ^= byte
    return f"${body}*{check:02X}"


class _WanderingError:
    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._keep = math.exp(-1.0 / _ERROR_CORRELATION_S)
        self._north = self._east = self._up = 0.0

    def step(self) -> tuple[float, float, float]:
        """The error (north, east, up in metres) one second on."""
        spread = math.sqrt(1.0 - self._keep ** 2)
        self._north = self._north * self._keep + self._rng.gauss(0.0, _ERROR_M) * spread
        self._east = self._east * self._keep + self._rng.gauss(0.0, _ERROR_M) * spread
        self._up = self._up * self._keep + self._rng.gauss(0.0, _ALTITUDE_ERROR_M) * spread
        return self._north, self._east, self._up


def _shifted(sample: DriveSample, north: float, east: float, up: float) -> DriveSample:
    lat = sample.lat + math.degrees(north / EARTH_RADIUS_M)
    lon = sample.lon + math.degrees(east / (EARTH_RADIUS_M * math.cos(math.radians(sample.lat))))
    return replace(sample, lat=lat, lon=lon, altitude_m=sample.altitude_m + up)


def _visible(sample: DriveSample) -> list[Satellite]:
    """The satellites the receiver tracks: all, but those low across the street's axis."""
    tracked = []
    for satellite in SKY:
        off_axis = abs(turn_deg(sample.course_deg, satellite.azimuth_deg))
        off_axis = min(off_axis, 180.0 - off_axis)
        if satellite.elevation_deg < _STREET_WALL_ELEVATION_DEG and off_axis > _STREET_WALL_OFF_AXIS_DEG:
            continue
        tracked.append(satellite)
    return tracked


def _epoch(when: datetime.datetime, sample: DriveSample, speed_mps: float,
           used: list[Satellite], rng: random.Random) -> list[str]:
    time = when.strftime("%H%M%S.00")
    date = when.strftime("%d%m%y")
    lat, lat_hemisphere = _angle(sample.lat, 2, "N", "S")
    lon, lon_hemisphere = _angle(sample.lon, 3, "E", "W")
    knots = f"{speed_mps * KNOTS_PER_MPS:.3f}"
    kmh = f"{speed_mps * 3.6:.3f}"
    course = f"{sample.course_deg:.2f}" if speed_mps >= _COURSE_FROM_MPS else ""
    # The fewer satellites, the worse the geometry; on the ground PDOP and VDOP run about 1.6
    # and 1.25 times HDOP.
    hdop = 0.55 + 4.0 / len(used)
    prns = [f"{s.prn:02d}" for s in used[:12]]
    return [
        sentence(f"GPRMC,{time},A,{lat},{lat_hemisphere},{lon},{lon_hemisphere},{knots},{course},"
                 f"{date},,,A"),
        sentence(f"GPVTG,{course},T,,M,{knots},N,{kmh},K,A"),
        sentence(f"GPGGA,{time},{lat},{lat_hemisphere},{lon},{lon_hemisphere},1,{len(used):02d},"
                 f"{hdop:.2f},{sample.altitude_m:.1f},M,{GEOID_SEPARATION_M:.1f},M,,"),
        sentence(f"GPGSA,A,3,{','.join(prns + [''] * (12 - len(prns)))},"
                 f"{hdop * 1.6:.2f},{hdop:.2f},{hdop * 1.25:.2f}"),
        *_gsv(used, rng),
    ]


def _lost_epoch(when: datetime.datetime, rng: random.Random) -> list[str]:
    time = when.strftime("%H%M%S.00")
    date = when.strftime("%d%m%y")
    return [
        sentence(f"GPRMC,{time},V,,,,,,,{date},,,N"),
        sentence("GPVTG,,T,,M,,N,,K,N"),
        sentence(f"GPGGA,{time},,,,,0,00,99.99,,,,,,"),
        sentence("GPGSA,A,1,,,,,,,,,,,,,99.99,99.99,99.99"),
        *_gsv([], rng),
    ]


def _gsv(tracked: list[Satellite], rng: random.Random) -> list[str]:
    """The whole sky in view, four satellites a sentence; one not tracked has no SNR."""
    count = math.ceil(len(SKY) / 4)
    tracked_prns = {satellite.prn for satellite in tracked}
    sentences = []
    for number in range(count):
        fields = []
        for satellite in SKY[number * 4:number * 4 + 4]:
            snr = satellite.snr_db + rng.randint(-2, 2) if satellite.prn in tracked_prns else None
            fields.append(f"{satellite.prn:02d},{satellite.elevation_deg:02d},"
                          f"{satellite.azimuth_deg:03d},{'' if snr is None else f'{snr:02d}'}")
        sentences.append(sentence(f"GPGSV,{count},{number + 1},{len(SKY):02d},{','.join(fields)}"))
    return sentences


def _angle(degrees: float, width: int, positive: str, negative: str) -> tuple[str, str]:
    """NMEA's (d)ddmm.mmmmm and hemisphere letter."""
    hemisphere = positive if degrees >= 0 else negative
    degrees = abs(degrees)
    whole = int(degrees)
    minutes = (degrees - whole) * 60.0
    if round(minutes, 5) >= 60.0:
        whole, minutes = whole + 1, 0.0
    return f"{whole:0{width}d}{minutes:08.5f}", hemisphere
