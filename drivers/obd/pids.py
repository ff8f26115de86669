"""SAE J1979 mode 01 PIDs: the table of formulas, decoding to typed values, and the inverse.

Every PID here follows J1979's linear form `value = raw * scale + offset`, where `raw` is the
big-endian unsigned integer of the PID's data bytes (A, or 256*A + B). The inverse (`encode_pid`)
is what the simulated adapter uses, so each formula is tested in both directions.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from carnel.drivers.obd.errors import AdapterError, UsageError


class Unit(StrEnum):
    """Units of decoded values, spelled as the vehicle signal names spell them."""

    PERCENT = "percent"
    CELSIUS = "celsius"
    KILOPASCAL = "kPa"
    RPM = "rpm"
    KILOMETRES_PER_HOUR = "km/h"
    GRAMS_PER_SECOND = "g/s"
    SECONDS = "s"
    MINUTES = "min"
    KILOMETRES = "km"
    VOLTS = "V"
    DEGREES = "degrees"
    LITRES_PER_HOUR = "l/h"
    RATIO = "ratio"
    COUNT = "count"


@dataclass(frozen=True, slots=True)
class PidSpec:
    """One mode 01 PID: its name, unit, data length and J1979 formula."""

    pid: int
    name: str
    unit: Unit
    length: int
    scale: float
    offset: float = 0.0

    @property
    def minimum(self) -> float:
        return self.offset

    @property
    def maximum(self) -> float:
        return (256 ** self.length - 1) * self.scale + self.offset

    @property
    def resolution(self) -> float:
        return self.scale


@dataclass(frozen=True, slots=True)
class PidValue:
    """A decoded mode 01 value with its unit."""

    pid: int
    name: str
    value: float
    unit: Unit


_PERCENT = 100 / 255
_TRIM = 100 / 128

PIDS: dict[int, PidSpec] = {spec.pid: spec for spec in (
    PidSpec(0x04, "engine_load", Unit.PERCENT, 1, _PERCENT),
    PidSpec(0x05, "coolant_temperature", Unit.CELSIUS, 1, 1, -40),
    PidSpec(0x06, "short_term_fuel_trim_bank1", Unit.PERCENT, 1, _TRIM, -100),
    PidSpec(0x07, "long_term_fuel_trim_bank1", Unit.PERCENT, 1, _TRIM, -100),
    PidSpec(0x08, "short_term_fuel_trim_bank2", Unit.PERCENT, 1, _TRIM, -100),
    PidSpec(0x09, "long_term_fuel_trim_bank2", Unit.PERCENT, 1, _TRIM, -100),
    PidSpec(0x0A, "fuel_pressure", Unit.KILOPASCAL, 1, 3),
    PidSpec(0x0B, "intake_manifold_pressure", Unit.KILOPASCAL, 1, 1),
    PidSpec(0x0C, "engine_speed", Unit.RPM, 2, 0.25),
    PidSpec(0x0D, "vehicle_speed", Unit.KILOMETRES_PER_HOUR, 1, 1),
    PidSpec(0x0E, "timing_advance", Unit.DEGREES, 1, 0.5, -64),
    PidSpec(0x0F, "intake_air_temperature", Unit.CELSIUS, 1, 1, -40),
    PidSpec(0x10, "mass_air_flow", Unit.GRAMS_PER_SECOND, 2, 0.01),
    PidSpec(0x11, "throttle_position", Unit.PERCENT, 1, _PERCENT),
    PidSpec(0x1F, "run_time_since_start", Unit.SECONDS, 2, 1),
    PidSpec(0x21, "distance_with_mil_on", Unit.KILOMETRES, 2, 1),
    PidSpec(0x2C, "commanded_egr", Unit.PERCENT, 1, _PERCENT),
    PidSpec(0x2F, "fuel_level", Unit.PERCENT, 1, _PERCENT),
    PidSpec(0x30, "warm_ups_since_codes_cleared", Unit.COUNT, 1, 1),
    PidSpec(0x31, "distance_since_codes_cleared", Unit.KILOMETRES, 2, 1),
    PidSpec(0x33, "barometric_pressure", Unit.KILOPASCAL, 1, 1),
    PidSpec(0x42, "control_module_voltage", Unit.VOLTS, 2, 0.001),
    PidSpec(0x43, "absolute_load", Unit.PERCENT, 2, _PERCENT),
    PidSpec(0x44, "commanded_equivalence_ratio", Unit.RATIO, 2, 2 / 65536),
    PidSpec(0x45, "relative_throttle_position", Unit.PERCENT, 1, _PERCENT),
    PidSpec(0x46, "ambient_air_temperature", Unit.CELSIUS, 1, 1, -40),
    PidSpec(0x49, "accelerator_pedal_position_d", Unit.PERCENT, 1, _PERCENT),
    PidSpec(0x4D, "time_run_with_mil_on", Unit.MINUTES, 2, 1),
    PidSpec(0x4E, "time_since_codes_cleared", Unit.MINUTES, 2, 1),
    PidSpec(0x5A, "relative_accelerator_pedal_position", Unit.PERCENT, 1, _PERCENT),
    PidSpec(0x5C, "engine_oil_temperature", Unit.CELSIUS, 1, 1, -40),
    PidSpec(0x5E, "engine_fuel_rate", Unit.LITRES_PER_HOUR, 2, 0.05),
)}

# PIDs 0x00, 0x20, ..., 0xE0 are 32-bit bitmaps of the next 32 PIDs (J1979 PID 00 and friends);
# the last bit of each says whether the next bitmap PID is supported too.
BITMAP_PIDS = tuple(range(0x00, 0x100, 0x20))


def spec_for(pid: int) -> PidSpec:
    """The table entry for `pid`, or a UsageError naming the PID."""
    spec = PIDS.get(pid)
    if spec is None:
        raise UsageError("unknown_pid", f"PID {pid:#04x} has no formula in the table")
    return spec


def decode_pid(pid: int, data: bytes) -> PidValue:
    """Decode the data bytes of a mode 01 response (after `41 <pid>`) into a typed value.

    Extra trailing bytes are ignored (some ECUs pad); too few raise AdapterError("short_payload").
    """
    spec = spec_for(pid)
    if len(data) < spec.length:
        raise AdapterError("short_payload",
                           f"PID {pid:#04x} needs {spec.length} bytes, got {data.hex(' ')!r}")
    raw = int.from_bytes(data[:spec.length], "big")
    return PidValue(pid, spec.name, raw * spec.scale + spec.offset, spec.unit)


def encode_pid(pid: int, value: float) -> bytes:
    """The data bytes that decode to the nearest representable value to `value`, clamped to range."""
    spec = spec_for(pid)
    if math.isnan(value):
        raise UsageError("bad_value", f"PID {pid:#04x} cannot encode NaN")
    top = 256 ** spec.length - 1
    steps = min(float(top), max(0.0, (value - spec.offset) / spec.scale))
    raw = round(steps)
    return raw.to_bytes(spec.length, "big")


def decode_bitmap(base: int, data: bytes) -> frozenset[int]:
    """The PIDs marked supported in the 4-byte bitmap answered for bitmap PID `base`."""
    if base not in BITMAP_PIDS:
        raise UsageError("unknown_pid", f"PID {base:#04x} is not a supported-PID bitmap")
    if len(data) < 4:
        raise AdapterError("short_payload", f"bitmap PID {base:#04x} needs 4 bytes, got {data.hex(' ')!r}")
    bits = int.from_bytes(data[:4], "big")
    return frozenset(base + i + 1 for i in range(32) if bits & (1 << (31 - i)))


def encode_bitmap(base: int, supported: frozenset[int] | set[int]) -> bytes:
    """The 4-byte bitmap for bitmap PID `base` given every supported PID (other ranges ignored)."""
    bits = 0
    for pid in supported:
        if base < pid <= base + 32:
            bits |= 1 << (31 - (pid - base - 1))
    return bits.to_bytes(4, "big")
