"""Checks and decodes one ECU's service payload: mode 01 values, bitmaps, VIN, negative responses."""
from __future__ import annotations

import re

from carnel.drivers.obd.errors import AdapterError, NegativeResponseError
from carnel.drivers.obd.pids import PidValue, decode_bitmap, decode_pid

NEGATIVE_RESPONSE = 0x7F
POSITIVE_OFFSET = 0x40

# ISO 3779: 17 characters, digits and capitals without I, O and Q.
_VIN = re.compile(r"[A-HJ-NPR-Z0-9]{17}")


def negative_response(payload: bytes, ecu: int | None) -> NegativeResponseError | None:
    """The negative response in `payload` (`7F <service> <nrc>`), or None for anything else."""
    if len(payload) >= 3 and payload[0] == NEGATIVE_RESPONSE:
        return NegativeResponseError(payload[1], payload[2], ecu)
    return None


def answers(payload: bytes, service: int, pid: int | None = None) -> bool:
    """Whether `payload` is a positive response to `service` (and `pid`, when given)."""
    if not payload or payload[0] != service + POSITIVE_OFFSET:
        return False
    return pid is None or (len(payload) >= 2 and payload[1] == pid)


def decode_mode01(payload: bytes) -> PidValue:
    """A mode 01 positive response (`41 <pid> <data>`) as a typed value."""
    if len(payload) < 2:
        raise AdapterError("short_payload", f"mode 01 response without a PID: {payload.hex(' ')!r}")
    return decode_pid(payload[1], payload[2:])


def decode_mode01_bitmap(payload: bytes) -> frozenset[int]:
    """A mode 01 bitmap response (`41 <00|20|..> <4 bytes>`) as the set of supported PIDs."""
    if len(payload) < 2:
        raise AdapterError("short_payload", f"mode 01 response without a PID: {payload.hex(' ')!r}")
    return decode_bitmap(payload[1], payload[2:])


def decode_vin(payload: bytes) -> str:
    """The VIN in a mode 09 PID 02 response (`49 02 <count> <17 bytes>`).

    The older protocols pad the 17 characters to 20 bytes with leading zeros; some ECUs pad the
    end as well, so zeros on both sides are dropped before the VIN is checked.
    """
    text = payload[3:].strip(b"\x00").decode("latin-1")
    if not _VIN.fullmatch(text):
        raise AdapterError("bad_vin", f"not a 17-character VIN: {text!r}")
    return text
