"""FixTracker: combine the sentences of one receiver epoch into a Fix, or report a FixLost.

An epoch is the burst of sentences a receiver sends for one measurement time. Sentences that
carry a time (GGA, RMC, GLL, ZDA, GNS) name their epoch; the others (GSA, GSV, VTG) belong to
the epoch open when they arrive. A new time closes the open epoch. To emit without waiting for
the next epoch, the tracker learns which sentence the receiver sends last in an epoch (the one
seen just before the time changed, as gpsd does, or the one seen last before two pauses in a
row) and closes the epoch as soon as it arrives.
"""
from __future__ import annotations

import datetime
from typing import Union

import msgspec

from carnel.drivers.gps.sentences import (
    GGA,
    GLL,
    GNS,
    GSA,
    GSV,
    RMC,
    VTG,
    ZDA,
    FixQuality,
    FixType,
    PositionMode,
    Sentence,
)

KNOT_MPS = 1852.0 / 3600.0
_VALID_QUALITIES = frozenset({
    FixQuality.GPS, FixQuality.DGPS, FixQuality.PPS, FixQuality.RTK_FIXED,
    FixQuality.RTK_FLOAT, FixQuality.DEAD_RECKONING,
})


class Fix(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A position the receiver reported as valid, from one epoch's sentences.

    `received_at` is the caller's clock (as passed to FixTracker.update) when the epoch's last
    sentence arrived. `date` is None when neither this epoch nor an earlier one of the same day
    carried a date (RMC or ZDA). Altitude is above mean sea level. `talker` is that of the
    sentence the position came from (GN for a multi-constellation solution), "" when the fix
    did not come from NMEA.
    """

    received_at: float
    time: datetime.time
    date: datetime.date | None
    lat: float
    lon: float
    altitude_m: float | None
    geoid_separation_m: float | None
    speed_mps: float | None
    course_deg: float | None
    quality: FixQuality | None
    fix_type: FixType | None
    mode: PositionMode | None
    satellites_used: int | None
    hdop: float | None
    pdop: float | None
    vdop: float | None
    talker: str = ""

    @property
    def utc(self) -> datetime.datetime | None:
        """The fix's instant, when the date is known."""
        if self.date is None:
            return None
        return datetime.datetime.combine(self.date, self.time, tzinfo=datetime.timezone.utc)


class FixLost(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """The receiver reported that it has no fix (once per loss, not every epoch).

    `reported_by` is the sentence type that said so: RMC or GLL status V, GGA quality 0, GSA
    fix type 1, or GNS mode N for every constellation.
    """

    received_at: float
    time: datetime.time | None
    reported_by: str


FixEvent = Union[Fix, FixLost]


class _Epoch:
    """What one epoch's sentences said so far."""

    __slots__ = (
        "time", "date", "lat", "lon", "talker", "position_from_fix_data", "altitude_m",
        "geoid_separation_m", "speed_mps", "course_deg", "quality", "fix_type", "mode",
        "counted_satellites", "gsa_satellites", "hdop", "pdop", "vdop", "asserted_valid",
        "lost_by", "last_at", "empty",
    )

    def __init__(self, time: datetime.time | None = None) -> None:
        self.time = time
        self.date: datetime.date | None = None
        self.lat: float | None = None
        self.lon: float | None = None
        self.talker = ""
        self.position_from_fix_data = False
        self.altitude_m: float | None = None
        self.geoid_separation_m: float | None = None
        self.speed_mps: float | None = None
        self.course_deg: float | None = None
        self.quality: FixQuality | None = None
        self.fix_type: FixType | None = None
        self.mode: PositionMode | None = None
        self.counted_satellites: int | None = None
        self.gsa_satellites: int | None = None
        self.hdop: float | None = None
        self.pdop: float | None = None
        self.vdop: float | None = None
        self.asserted_valid = False
        self.lost_by: str | None = None
        self.last_at = 0.0
        self.empty = True


class FixTracker:
    """Feed it every parsed sentence with the time it arrived; it returns Fix and FixLost events.

    At most one Fix is emitted per epoch time: sentences that arrive after their epoch was closed
    (while the tracker still learns the receiver's order) can report a loss, not a second fix.
    """

    def __init__(self) -> None:
        self._epoch = _Epoch()
        self._last_key: tuple[object, ...] | None = None
        self._ender: tuple[object, ...] | None = None
        self._closed_time: datetime.time | None = None
        self._closed_by_pause = False
        self._last_before_pause: tuple[object, ...] | None = None
        self._has_fix: bool | None = None
        self._fix_time: datetime.time | None = None
        self._date: datetime.date | None = None
        self._date_time: datetime.time | None = None

    def update(self, sentence: Sentence, now: float) -> list[FixEvent]:
        """Take one sentence received at `now` (the caller's clock, in seconds)."""
        events: list[FixEvent] = []
        epoch = self._epoch
        time = getattr(sentence, "time", None)
        if time is not None:
            if epoch.time is None:
                if time == self._closed_time:
                    # The learnt last sentence was not the last one after all.
                    self._ender = None
                elif epoch.empty and self._closed_by_pause:
                    # A receiver that pauses after every epoch never changes time mid-epoch;
                    # the same sentence before two pauses is its last one.
                    if self._last_key == self._last_before_pause:
                        self._ender = self._last_key
                    self._last_before_pause = self._last_key
                epoch.time = time
            elif time != epoch.time:
                self._ender = self._last_key
                events.extend(self._close())
                self._closed_by_pause = False
                epoch = self._epoch = _Epoch(time)
        _MERGE[type(sentence)](epoch, sentence)
        epoch.last_at = now
        epoch.empty = False
        key = _key(sentence)
        self._last_key = key
        if key == self._ender:
            events.extend(self._close())
            self._closed_by_pause = False
            self._epoch = _Epoch()
        return events

    def end_epoch(self) -> list[FixEvent]:
        """Close the open epoch now: at the end of a log, or when the receiver has gone quiet."""
        if not self._epoch.empty:
            self._closed_by_pause = True
        events = self._close()
        self._epoch = _Epoch()
        return events

    def _close(self) -> list[FixEvent]:
        epoch = self._epoch
        if epoch.empty:
            return []
        self._closed_time = epoch.time
        if epoch.fix_type is FixType.NONE and epoch.lost_by is None:
            epoch.lost_by = "GSA"
        if epoch.lost_by is not None:
            if self._has_fix is False:
                return []
            self._has_fix = False
            return [FixLost(received_at=epoch.last_at, time=epoch.time, reported_by=epoch.lost_by)]
        if (not epoch.asserted_valid or epoch.time is None or epoch.lat is None
                or epoch.lon is None or epoch.time == self._fix_time):
            return []
        self._has_fix = True
        self._fix_time = epoch.time
        return [Fix(
            received_at=epoch.last_at,
            time=epoch.time,
            date=self._date_for(epoch),
            lat=epoch.lat,
            lon=epoch.lon,
            altitude_m=epoch.altitude_m,
            geoid_separation_m=epoch.geoid_separation_m,
            speed_mps=epoch.speed_mps,
            course_deg=epoch.course_deg,
            quality=epoch.quality,
            fix_type=epoch.fix_type,
            mode=epoch.mode,
            satellites_used=(epoch.gsa_satellites if epoch.gsa_satellites is not None
                             else epoch.counted_satellites),
            hdop=epoch.hdop,
            pdop=epoch.pdop,
            vdop=epoch.vdop,
            talker=epoch.talker,
        )]

    def _date_for(self, epoch: _Epoch) -> datetime.date | None:
        if epoch.date is not None:
            self._date, self._date_time = epoch.date, epoch.time
            return epoch.date
        if self._date_time is not None and epoch.time is not None and epoch.time >= self._date_time:
            return self._date
        return None


def _key(sentence: Sentence) -> tuple[object, ...]:
    # Several sentences of one type can share an epoch (GSV parts, a GSA per constellation):
    # the key tells them apart as far as the sentences themselves allow.
    if type(sentence) is GSV:
        part = 0 if sentence.message_number == sentence.message_count else sentence.message_number
        return (sentence.talker, GSV, part)
    if type(sentence) is GSA:
        return (sentence.talker, GSA, sentence.system_id)
    return (sentence.talker, type(sentence))


def _set_position(epoch: _Epoch, lat: float | None, lon: float | None, talker: str,
                  fix_data: bool) -> None:
    # GGA and GNS carry the altitude that goes with their position, so theirs wins.
    if lat is None or lon is None or (epoch.position_from_fix_data and not fix_data):
        return
    epoch.lat, epoch.lon, epoch.talker = lat, lon, talker
    epoch.position_from_fix_data = fix_data


def _report_loss(epoch: _Epoch, sentence_type: str) -> None:
    if epoch.lost_by is None:
        epoch.lost_by = sentence_type


def _merge_gga(epoch: _Epoch, gga: GGA) -> None:
    _set_position(epoch, gga.lat, gga.lon, gga.talker, True)
    if gga.quality is FixQuality.INVALID:
        _report_loss(epoch, "GGA")
    elif gga.quality in _VALID_QUALITIES:
        epoch.asserted_valid = True
    if epoch.quality is None or gga.talker == "GN":
        epoch.quality = gga.quality
        epoch.counted_satellites = gga.satellites_used
        epoch.altitude_m = gga.altitude_m
        epoch.geoid_separation_m = gga.geoid_separation_m
    if epoch.hdop is None:
        epoch.hdop = gga.hdop


def _merge_rmc(epoch: _Epoch, rmc: RMC) -> None:
    _set_position(epoch, rmc.lat, rmc.lon, rmc.talker, False)
    if rmc.valid:
        epoch.asserted_valid = True
    else:
        _report_loss(epoch, "RMC")
    if rmc.date is not None:
        epoch.date = rmc.date
    if rmc.speed_knots is not None:
        epoch.speed_mps = rmc.speed_knots * KNOT_MPS
    if rmc.course_deg is not None:
        epoch.course_deg = rmc.course_deg
    if rmc.mode is not None:
        epoch.mode = rmc.mode


def _merge_vtg(epoch: _Epoch, vtg: VTG) -> None:
    if vtg.speed_knots is not None:
        epoch.speed_mps = vtg.speed_knots * KNOT_MPS
    elif vtg.speed_kmh is not None:
        epoch.speed_mps = vtg.speed_kmh / 3.6
    if vtg.course_true_deg is not None:
        epoch.course_deg = vtg.course_true_deg
    if vtg.mode is not None and epoch.mode is None:
        epoch.mode = vtg.mode


def _merge_gsa(epoch: _Epoch, gsa: GSA) -> None:
    if epoch.fix_type is None or gsa.fix_type > epoch.fix_type:
        epoch.fix_type = gsa.fix_type
    if gsa.prns:
        epoch.gsa_satellites = (epoch.gsa_satellites or 0) + len(gsa.prns)
    if epoch.pdop is None:
        epoch.pdop, epoch.vdop = gsa.pdop, gsa.vdop
        if gsa.hdop is not None:
            epoch.hdop = gsa.hdop


def _merge_gsv(epoch: _Epoch, gsv: GSV) -> None:
    """The sky view is not part of a fix; a GSV still counts towards the epoch's sentences."""


def _merge_gll(epoch: _Epoch, gll: GLL) -> None:
    _set_position(epoch, gll.lat, gll.lon, gll.talker, False)
    if gll.valid is True:
        epoch.asserted_valid = True
    elif gll.valid is False:
        _report_loss(epoch, "GLL")
    if gll.mode is not None and epoch.mode is None:
        epoch.mode = gll.mode


def _merge_zda(epoch: _Epoch, zda: ZDA) -> None:
    if zda.date is not None:
        epoch.date = zda.date


def _merge_gns(epoch: _Epoch, gns: GNS) -> None:
    _set_position(epoch, gns.lat, gns.lon, gns.talker, True)
    if any(mode is not PositionMode.NOT_VALID for mode in gns.modes):
        epoch.asserted_valid = True
    else:
        _report_loss(epoch, "GNS")
    if epoch.quality is None:
        epoch.counted_satellites = gns.satellites_used
        epoch.altitude_m = gns.altitude_m
        epoch.geoid_separation_m = gns.geoid_separation_m
    if epoch.hdop is None:
        epoch.hdop = gns.hdop


_MERGE = {
    GGA: _merge_gga,
    RMC: _merge_rmc,
    VTG: _merge_vtg,
    GSA: _merge_gsa,
    GSV: _merge_gsv,
    GLL: _merge_gll,
    ZDA: _merge_zda,
    GNS: _merge_gns,
}
