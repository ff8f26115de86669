"""Converters from one NMEA field's text to a typed value, raising NmeaError(bad_field).

An empty field is None everywhere (NMEA's "no data"). Decimal numbers are read with float()
and then checked for finiteness and range; counts, times and dates must be plain digits.
"""
from __future__ import annotations

import datetime
import functools
import math

from carnel.drivers.gps.errors import NmeaError, Reason
from carnel.drivers.gps.sentences import PositionMode

_INF = math.inf
_isfinite = math.isfinite
_time = datetime.time
_MODES = {mode.value: mode for mode in PositionMode}

# Counts, PRNs, elevations, azimuths and SNRs are one to three digits. Looking the text up is
# about half the cost of isdigit() and int(); longer or unusual text goes the careful way.
SHORT_NUMERALS: dict[str, int | None] = {
    "": None,
    **{f"{value:0{width}d}": value for width in (1, 2, 3) for value in range(10 ** width)},
}


def bad(name: str, text: str, why: str) -> NmeaError:
    """The error for field `name` holding `text`."""
    return NmeaError(Reason.BAD_FIELD, f"{name}={text!r}: {why}")


def number(text: str, name: str) -> float | None:
    """A decimal number, or None for an empty field."""
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise bad(name, text, "not a number") from None
    if not _isfinite(value):
        raise bad(name, text, "not finite")
    return value


def count(text: str, name: str) -> int | None:
    """A non-negative decimal integer, or None for an empty field."""
    try:
        return SHORT_NUMERALS[text]
    except KeyError:
        pass
    if not text.isdigit():
        raise bad(name, text, "not a non-negative integer")
    return int(text)


def signed_count(text: str, name: str) -> int | None:
    """A decimal integer that may carry a sign, or None for an empty field."""
    sign = text[:1]
    if sign == "-" or sign == "+":
        value = count(text[1:], name)
        if value is None:
            raise bad(name, text, "a sign without digits")
        return -value if sign == "-" else value
    return count(text, name)


def bounded(text: str, name: str, limit: float = _INF) -> float | None:
    """A non-negative number no greater than `limit` (a course, a speed, a variation)."""
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise bad(name, text, "not a number") from None
    # One chained comparison admits every good value; NaN fails it as well as out-of-range ones.
    if 0.0 <= value <= limit and value < _INF:
        return value
    if not _isfinite(value):
        raise bad(name, text, "not finite")
    raise bad(name, text, f"outside 0..{limit:g}")


def coordinate(text: str, hemisphere: str, name: str, negative: str, positive: str,
               limit: float) -> float | None:
    """Signed decimal degrees from NMEA's (d)ddmm.mmmm and a hemisphere letter."""
    if not text:
        if not hemisphere:
            return None
        raise bad(name, text, "no unsigned ddmm.mmmm value")
    try:
        value = float(text)
    except ValueError:
        raise bad(name, text, "not a number") from None
    if not 0.0 <= value < _INF:
        raise bad(name, text, "no unsigned ddmm.mmmm value" if _isfinite(value) else "not finite")
    # value // 100 and value % 100 are the two halves of divmod(value, 100), computed alike.
    minutes = value % 100.0
    # MediaTek receivers report their no-fix placeholder as 8960.000000,N: 60 minutes, not 59.99.
    if minutes > 60.0:
        raise bad(name, text, "minutes above 60")
    degrees = value // 100.0 + minutes / 60.0
    if degrees > limit:
        raise bad(name, text, f"beyond {limit:g} degrees")
    if hemisphere == positive:
        return degrees
    if hemisphere == negative:
        return -degrees
    raise bad(name + "_hemisphere", hemisphere, f"not {positive} or {negative}")


# A receiver repeats its epoch's position in GGA, RMC, GLL and GNS; as with times, a hit
# (0.05 us) saves converting it again (0.15 us). The cache only remembers a pure function's results.
@functools.lru_cache(maxsize=8)
def latitude(text: str, hemisphere: str) -> float | None:
    """Latitude in signed degrees, north positive."""
    return coordinate(text, hemisphere, "lat", "S", "N", 90.0)


@functools.lru_cache(maxsize=8)
def longitude(text: str, hemisphere: str) -> float | None:
    """Longitude in signed degrees, east positive."""
    return coordinate(text, hemisphere, "lon", "W", "E", 180.0)


_TWO_DIGITS = {f"{value:02d}": value for value in range(100)}
# What follows hhmmss: nothing, a bare point, or up to three decimals (receivers send 0 to 3).
_FRACTION_MICROS = {
    "": 0,
    ".": 0,
    **{f".{value:0{width}d}": value * 10 ** (6 - width)
       for width in (1, 2, 3) for value in range(10 ** width)},
}


# A receiver repeats its epoch's time in GGA, RMC, GLL and ZDA; a hit costs 0.05 us against
# 0.3 us for parsing. The cache only remembers a pure function's results.
@functools.lru_cache(maxsize=32)
def utc_time(text: str, name: str = "time") -> datetime.time | None:
    """A time of day from hhmmss with an optional decimal fraction of seconds."""
    if not text:
        return None
    # The usual form by table lookups; anything else (more decimals, a leap second, an error)
    # is read digit by digit.
    try:
        hours = _TWO_DIGITS[text[0:2]]
        minutes = _TWO_DIGITS[text[2:4]]
        seconds = _TWO_DIGITS[text[4:6]]
        micros = _FRACTION_MICROS[text[6:]]
    except KeyError:
        return _any_utc_time(text, name)
    if hours > 23 or minutes > 59 or seconds > 59:
        return _any_utc_time(text, name)
    return _time(hours, minutes, seconds, micros)


def _any_utc_time(text: str, name: str) -> datetime.time:
    digits = text[:6]
    if len(digits) != 6 or not digits.isdigit() or (len(text) > 6 and text[6] != "."):
        raise bad(name, text, "not hhmmss[.s]")
    hours, rest = divmod(int(digits), 10000)
    minutes, seconds = divmod(rest, 100)
    micros = 0
    if len(text) > 7:
        fraction = text[7:]
        if not fraction.isdigit():
            raise bad(name, text, "not hhmmss[.s]")
        micros = int(fraction[:6].ljust(6, "0"))
    if hours > 23 or minutes > 59 or seconds > 60:
        raise bad(name, text, "not a time of day")
    if seconds == 60:
        # A leap second: datetime.time has no 23:59:60, so it reads as the last instant before.
        seconds, micros = 59, 999_999
    return _time(hours, minutes, seconds, micros)


# The date is the same in every RMC of a day, so, as with times, a small cache of a pure
# function's results saves its parsing (0.5 us) on nearly every sentence.
@functools.lru_cache(maxsize=8)
def short_date(text: str, name: str = "date") -> datetime.date | None:
    """A date from RMC's ddmmyy; two-digit years from 80 on are 19xx (GPS time began in 1980)."""
    if not text:
        return None
    if len(text) != 6 or not text.isdigit():
        raise bad(name, text, "not ddmmyy")
    year = int(text[4:6])
    year += 1900 if year >= 80 else 2000
    try:
        return datetime.date(year, int(text[2:4]), int(text[0:2]))
    except ValueError:
        raise bad(name, text, "not a calendar date") from None


def status(text: str, name: str = "status") -> bool:
    """A status letter: A (valid) is True, V (void) is False."""
    if text == "A":
        return True
    if text == "V":
        return False
    raise bad(name, text, "not A or V")


def mode(text: str, name: str = "mode") -> PositionMode | None:
    """A mode indicator letter, or None for an empty or absent field."""
    if not text:
        return None
    found = _MODES.get(text)
    if found is None:
        raise bad(name, text, "not a mode indicator")
    return found


def modes(text: str, name: str = "modes") -> tuple[PositionMode, ...]:
    """One mode indicator letter per constellation, as GNS sends them."""
    found = tuple(_MODES.get(letter) for letter in text)
    if None in found:
        raise bad(name, text, "not mode indicator letters")
    return found  # type: ignore[return-value]  # None was ruled out just above
