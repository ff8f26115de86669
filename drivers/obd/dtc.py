"""Diagnostic trouble codes (SAE J2012): two bytes on the wire, `P0301` to a person."""
from __future__ import annotations

import re
from dataclasses import dataclass

from carnel.drivers.obd.errors import AdapterError, UsageError

_SYSTEMS = "PCBU"
_CODE = re.compile(r"[PCBU][0-3][0-9A-F]{3}")


@dataclass(frozen=True, slots=True, order=True)
class Dtc:
    """One trouble code, e.g. `Dtc("P0301")` (cylinder 1 misfire)."""

    code: str

    def __post_init__(self) -> None:
        if not isinstance(self.code, str) or not _CODE.fullmatch(self.code):
            raise UsageError("bad_dtc", f"{self.code!r} is not a J2012 code like P0301")

    @classmethod
    def from_bytes(cls, high: int, low: int) -> Dtc:
        """Decode the two J1979 bytes: 2 bits system, 2 bits first digit, then three hex digits."""
        return cls(f"{_SYSTEMS[high >> 6]}{(high >> 4) & 0x3}{high & 0xF:X}{low:02X}")

    def to_bytes(self) -> bytes:
        high = (_SYSTEMS.index(self.code[0]) << 6) | (int(self.code[1]) << 4) | int(self.code[2], 16)
        return bytes((high, int(self.code[3:], 16)))

    def __str__(self) -> str:
        return self.code


def decode_dtcs(payload: bytes, counted: bool) -> tuple[Dtc, ...]:
    """The codes in a mode 03/07/0A positive response (`payload` starts with 43/47/4A).

    On ISO 15765-4 (CAN) the service byte is followed by a count of codes (`counted`); the older
    protocols send bare pairs padded with 00 00, which mean "no code" and are dropped.
    """
    body = payload[1:]
    if counted:
        if not body:
            raise AdapterError("short_payload", f"DTC response without a count: {payload.hex(' ')!r}")
        count, body = body[0], body[1:]
        if len(body) < 2 * count:
            raise AdapterError("dtc_count_mismatch",
                               f"count says {count} codes, {len(body)} bytes follow: {payload.hex(' ')!r}")
        body = body[:2 * count]
    elif len(body) % 2:
        raise AdapterError("short_payload", f"odd number of DTC bytes: {payload.hex(' ')!r}")
    pairs = (body[i:i + 2] for i in range(0, len(body), 2))
    return tuple(Dtc.from_bytes(high, low) for high, low in pairs if high or low)
