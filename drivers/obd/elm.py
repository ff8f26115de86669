"""What an ELM327 prints, one line at a time: status messages, protocols, and data lines.

The ELM327 data sheet (v2.x) is the reference for every message here. Lines are compared with
their spaces removed, because `ATS0` removes them from data and clones remove them from
messages too (`NODATA`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from carnel.drivers.obd.errors import AdapterError


class Family(Enum):
    """How a protocol's frames look once the ELM327 prints them."""

    CAN_11BIT = "can_11bit"
    CAN_29BIT = "can_29bit"
    LEGACY = "legacy"  # J1850 PWM/VPW, ISO 9141-2, ISO 14230-4: 3-byte header + checksum


@dataclass(frozen=True, slots=True)
class Protocol:
    """A protocol by its ELM327 number (`ATDPN`), e.g. 6 = ISO 15765-4 CAN 11 bit 500 kbaud."""

    number: str
    name: str
    family: Family
    automatic: bool = False


_PROTOCOLS = {
    "1": ("SAE J1850 PWM", Family.LEGACY),
    "2": ("SAE J1850 VPW", Family.LEGACY),
    "3": ("ISO 9141-2", Family.LEGACY),
    "4": ("ISO 14230-4 KWP (5 baud init)", Family.LEGACY),
    "5": ("ISO 14230-4 KWP (fast init)", Family.LEGACY),
    "6": ("ISO 15765-4 CAN (11 bit, 500 kbaud)", Family.CAN_11BIT),
    "7": ("ISO 15765-4 CAN (29 bit, 500 kbaud)", Family.CAN_29BIT),
    "8": ("ISO 15765-4 CAN (11 bit, 250 kbaud)", Family.CAN_11BIT),
    "9": ("ISO 15765-4 CAN (29 bit, 250 kbaud)", Family.CAN_29BIT),
    "B": ("User1 CAN (11 bit, 125 kbaud)", Family.CAN_11BIT),
    "C": ("User2 CAN (11 bit, 50 kbaud)", Family.CAN_11BIT),
}
# Protocol A (SAE J1939) carries no OBD-II services, so a session never settles on it.
SELECTABLE_PROTOCOLS = frozenset(_PROTOCOLS) | {"0"}


def parse_protocol(text: str) -> Protocol:
    """The protocol an `ATDPN` reply names: `6`, or `A6` when found by the automatic search."""
    number = text.replace(" ", "").upper()
    automatic = len(number) == 2 and number[0] == "A"
    if automatic:
        number = number[1]
    known = _PROTOCOLS.get(number)
    if known is None:
        raise AdapterError("unsupported_protocol", f"ATDPN answered {text!r}")
    return Protocol(number, known[0], known[1], automatic)


@dataclass(frozen=True, slots=True)
class Link:
    """How the adapter formats data lines: the protocol family and whether headers are shown."""

    family: Family
    headers: bool


# --- what one line can be -------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Status:
    """A condition the adapter reported instead of data (NO DATA, CAN ERROR, ?...)."""

    reason: str
    text: str


@dataclass(frozen=True, slots=True)
class Frame:
    """One line of data; `ecu` is the sender when headers are on.

    With CAN and headers on, `data` starts with the ISO 15765-2 PCI byte(s); with headers off
    the ELM327 has already removed a single frame's PCI byte. Legacy checksums are removed.
    """

    ecu: int | None
    data: bytes


@dataclass(frozen=True, slots=True)
class ByteCount:
    """The first line of a multi-frame CAN message printed without headers: its length."""

    count: int


@dataclass(frozen=True, slots=True)
class Numbered:
    """A `N: ..` line of a multi-frame CAN message printed without headers (N wraps at F)."""

    index: int
    data: bytes


@dataclass(frozen=True, slots=True)
class Info:
    """Progress text that is neither data nor a failure (SEARCHING..., BUS INIT: ...OK, OK)."""

    text: str


ParsedLine = Status | Frame | ByteCount | Numbered | Info

_STATUS_REASONS = {
    "NODATA": "no_data",
    "UNABLETOCONNECT": "unable_to_connect",
    "CANERROR": "can_error",
    "BUSERROR": "bus_error",
    "BUSBUSY": "bus_busy",
    "BUFFERFULL": "buffer_full",
    "STOPPED": "stopped",
    "?": "unknown_command",
    "DATAERROR": "data_error",
    "FBERROR": "feedback_error",
    "LVRESET": "low_voltage_reset",
    "ACTALERT": "activity_alert",
}
_INFO = re.compile(r"SEARCHING\.*|BUSINIT:?\.*(OK)?|OK")
_PREFIX = re.compile(r"^(SEARCHING\.*|BUSINIT:?\.*OK)")
_BUS_INIT_ERROR = re.compile(r"BUSINIT:?\.*ERROR")
_INTERNAL_ERROR = re.compile(r"ERR[0-9]{2}")
_HEX = re.compile(r"[0-9A-F]+")
_NUMBERED = re.compile(r"([0-9A-F]):([0-9A-F]*)")


def parse_line(text: str, link: Link) -> ParsedLine:
    """Classify one line the adapter printed in answer to an OBD request.

    Raises AdapterError("unparsable_line") for anything that is neither a known message nor
    well-formed hex for this link.
    """
    compact = text.replace(" ", "").upper()
    status = _status(compact)
    if status is not None:
        return Status(status, text)
    if _INFO.fullmatch(compact):
        return Info(text)
    # A clone may print the progress message and the first data on one line.
    compact = _PREFIX.sub("", compact)
    numbered = _NUMBERED.fullmatch(compact)
    if numbered is not None:
        return Numbered(int(numbered[1], 16), _hex_bytes(numbered[2], text))
    if not _HEX.fullmatch(compact):
        raise AdapterError("unparsable_line", f"not data: {text!r}")
    if link.family is Family.CAN_11BIT:
        return _can_line(compact, text, header_digits=3, headers=link.headers)
    if link.family is Family.CAN_29BIT:
        return _can_line(compact, text, header_digits=8, headers=link.headers)
    return _legacy_line(compact, text, link.headers)


def status_reason(text: str) -> str | None:
    """The reason for a status message like `NO DATA` or `BUS INIT: ...ERROR`, None for other text."""
    return _status(text.replace(" ", "").upper())


def _status(compact: str) -> str | None:
    reason = _STATUS_REASONS.get(compact)
    if reason is not None:
        return reason
    if compact.endswith("<DATAERROR") or compact.endswith("DATAERROR"):
        return "data_error"
    if compact.endswith("<RXERROR"):
        return "rx_error"
    if _BUS_INIT_ERROR.fullmatch(compact):
        return "bus_init_error"
    if _INTERNAL_ERROR.fullmatch(compact):
        return "adapter_internal_error"
    return None


def _hex_bytes(digits: str, text: str) -> bytes:
    if len(digits) % 2:
        raise AdapterError("unparsable_line", f"odd number of hex digits: {text!r}")
    return bytes.fromhex(digits)


def _can_line(compact: str, text: str, header_digits: int, headers: bool) -> ParsedLine:
    if not headers:
        if len(compact) == 3:
            return ByteCount(int(compact, 16))
        return Frame(None, _hex_bytes(compact, text))
    if len(compact) < header_digits + 2:
        raise AdapterError("unparsable_line", f"too short for a header and data: {text!r}")
    ecu = int(compact[:header_digits], 16)
    return Frame(ecu, _hex_bytes(compact[header_digits:], text))


def _legacy_line(compact: str, text: str, headers: bool) -> ParsedLine:
    data = _hex_bytes(compact, text)
    if not headers:
        return Frame(None, data)
    # priority, target, source, then data, then the checksum the adapter has already verified
    if len(data) < 5:
        raise AdapterError("unparsable_line", f"too short for a header, data and checksum: {text!r}")
    return Frame(data[2], data[3:-1])
