"""A recorded drive for the simulated adapter: mode 01 values over time, read from JSON lines.

Each line is `{"t": <seconds from the drive's start>, "values": {"0D": 42.0, "0C": 1650.0}}`:
mode 01 PIDs in hex, values in the engineering units of pids.py. A sample lasts until the next
one, and the drive loops. A PID missing from a line keeps its last value (its first value before
it appears), so that every sample answers for the same PIDs and the simulated ECU's supported-PID
bitmap stays the same for the whole drive.
"""
from __future__ import annotations

import bisect
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import msgspec

from carnel.drivers.obd.errors import DriveFileError
from carnel.drivers.obd.pids import PIDS

_PID_KEY = re.compile(r"[0-9A-Fa-f]{2}")


class _Line(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    t: float
    values: dict[str, float]


_decode_line = msgspec.json.Decoder(_Line).decode


@dataclass(frozen=True, slots=True)
class DriveSample:
    """The values from `t` seconds into the drive until the next sample."""

    t: float
    values: Mapping[int, float]


@dataclass(frozen=True, slots=True)
class Drive:
    """A drive to replay in a loop of `length` seconds."""

    samples: tuple[DriveSample, ...]
    length: float
    _times: tuple[float, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_times", tuple(sample.t for sample in self.samples))

    @property
    def pids(self) -> frozenset[int]:
        return frozenset(self.samples[0].values)

    def values_at(self, elapsed: float) -> Mapping[int, float]:
        """The values `elapsed` seconds after the replay started, looping the drive."""
        position = elapsed % self.length
        index = bisect.bisect_right(self._times, position) - 1
        return self.samples[max(index, 0)].values


@dataclass(frozen=True, slots=True)
class DriveLoad:
    """What a drive file held: the drive (None when no line was usable) and what was refused."""

    drive: Drive | None
    errors: tuple[DriveFileError, ...]


def parse_drive(data: bytes) -> DriveLoad:
    """Read a drive file's bytes; bad lines are refused one by one, the rest is kept."""
    errors: list[DriveFileError] = []
    raw: list[tuple[float, dict[int, float]]] = []
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            t, values = _parse_line(line, number, errors)
        except DriveFileError as error:
            errors.append(error)
            continue
        if raw and t <= raw[-1][0]:
            errors.append(DriveFileError("time_goes_back",
                                         f"line {number}: t={t} after t={raw[-1][0]}"))
            continue
        raw.append((t, values))
    if not raw:
        errors.append(DriveFileError("no_samples", "no line holds a usable sample"))
        return DriveLoad(None, tuple(errors))
    return DriveLoad(_filled_drive(raw), tuple(errors))


def _parse_line(line: bytes, number: int, errors: list[DriveFileError]) -> tuple[float, dict[int, float]]:
    try:
        parsed = _decode_line(line)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise DriveFileError("bad_line", f"line {number}: {exc}") from None
    if not (math.isfinite(parsed.t) and parsed.t >= 0):
        raise DriveFileError("bad_time", f"line {number}: t={parsed.t} is not a time from the start")
    values: dict[int, float] = {}
    for key, value in parsed.values.items():
        if not math.isfinite(value):
            raise DriveFileError("bad_value", f"line {number}: {key}={value}")
        pid = int(key, 16) if _PID_KEY.fullmatch(key) else None
        if pid not in PIDS:
            # One PID the simulator cannot encode should not cost the line's other values.
            errors.append(DriveFileError("unknown_pid", f"line {number}: {key!r} is not a mode 01 "
                                                        "PID with a formula in pids.py"))
            continue
        values[pid] = value
    return parsed.t, values


def _filled_drive(raw: list[tuple[float, dict[int, float]]]) -> Drive:
    current: dict[int, float] = {}
    for _, values in reversed(raw):
        current.update(values)
    samples = []
    for t, values in raw:
        current.update(values)
        samples.append(DriveSample(t, MappingProxyType(dict(current))))
    # A drive sampled every `step` seconds: its last sample lasts one step before the loop
    # starts again. A single sample is a drive that never changes.
    step = raw[-1][0] - raw[-2][0] if len(raw) > 1 else math.inf
    return Drive(tuple(samples), raw[-1][0] + step)
