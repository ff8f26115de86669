"""Parse one NMEA 0183 sentence into a typed sentence Struct, checking its frame and checksum.

The checks run in this order, so each rejection has one reason: length, start character,
proprietary address (unsupported: their checksums are optional), checksum, encapsulated '!'
sentence (unsupported), printable ASCII, address, field count, fields.
"""
from __future__ import annotations

import functools
import os
from typing import NoReturn

from carnel.drivers.gps.decoders import DECODERS, Decoder
from carnel.drivers.gps.errors import NmeaError, Reason
from carnel.drivers.gps.sentences import Sentence

def _no_fast_fields(line: bytes, max_length: int) -> None:
    return None


# The compiled fast path of framing when the package was built with it, unless CARNEL_PURE=1.
_fast_fields = _no_fast_fields
if os.environ.get("CARNEL_PURE") != "1":
    try:
        from carnel.drivers.gps._framing import sentence_fields as _fast_fields
    except ImportError:
        pass

# NMEA 0183 limits a sentence to 82 characters, from the start character to the CRLF inclusive.
MAX_SENTENCE_LENGTH = 82

_HEX = {f"{value:02X}".encode(): value for value in range(256)}
_HEX.update({f"{value:02x}".encode(): value for value in range(256)})
_STAR_HEX = {b"*" + text: value for text, value in _HEX.items()}
_STAR = 0x2A
_DOLLAR = 0x24
_P = 0x50
# The XOR of the two bytes of every 16-bit value: the last two folds of a checksum in one lookup.
_XOR_OF_BYTE_PAIRS = bytes((value >> 8) ^ (value & 0xFF) for value in range(1 << 16))


def checksum(body: bytes) -> int:
    """The NMEA checksum of `body` (the bytes between the start character and '*'): their XOR."""
    # XOR-folding the bytes as one integer costs about half a Python loop over them (0.45 us
    # against 0.9 us for a 70-byte body). Each fold XORs the upper half of a power-of-two
    # width into the lower half, so the low 16 bits end as the XOR of all 16-bit words.
    value = int.from_bytes(body, "little")
    if len(body) <= 128:
        value ^= value >> 512
        value ^= value >> 256
        value ^= value >> 128
        value ^= value >> 64
        value ^= value >> 32
        value ^= value >> 16
        return _XOR_OF_BYTE_PAIRS[value & 0xFFFF]
    width = 128
    while width < len(body):
        width *= 2
    while width > 1:
        width //= 2
        value ^= value >> (8 * width)
    return value & 0xFF


def parse_sentence(line: bytes, max_length: int = MAX_SENTENCE_LENGTH) -> Sentence:
    """Parse one sentence, from its '$' to its checksum, without the CRLF.

    Raises NmeaError, and nothing else, for any input. `max_length` counts the CRLF, as the
    standard does.
    """
    fields = _fast_fields(line, max_length) if type(line) is bytes else None
    if fields is None:
        fields = _checked_fields(line, max_length)
    talker, minimum, decode = _route(fields[0])
    if len(fields) < minimum:
        raise NmeaError(
            Reason.MALFORMED,
            f"{fields[0]} has {len(fields) - 1} fields, at least {minimum - 1} expected",
        )
    return decode(talker, fields)


def _checked_fields(line: bytes, max_length: int) -> list[str]:
    """The frame checks one by one, refusing a sentence for the first it fails; its fields."""
    length = len(line)
    if length + 2 > max_length:
        raise NmeaError(Reason.TOO_LONG, f"{length + 2} characters with CRLF, limit {max_length}")
    # The usual sentence passes the frame checks in three tests; any other is taken through
    # them one by one, so that it is refused for the first one it fails.
    expected = _STAR_HEX.get(line[-3:])
    if expected is None or line[0] != _DOLLAR or line[1] == _P:
        _refuse_frame(line)
    body = line[1:-3]
    actual = checksum(body)
    if actual != expected:
        raise NmeaError(Reason.CHECKSUM, f"sent {expected:02X}, computed {actual:02X}")
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError:
        raise NmeaError(Reason.MALFORMED, "bytes outside ASCII") from None
    if not text.isprintable():
        raise NmeaError(Reason.MALFORMED, "control characters")
    return text.split(",")


def _refuse_frame(line: bytes) -> NoReturn:
    start = line[:1]
    encapsulated = start == b"!"
    if start != b"$" and not encapsulated:
        raise NmeaError(Reason.MALFORMED, "does not start with '$' or '!'")
    if not encapsulated and len(line) > 1 and line[1] == _P:
        raise NmeaError(Reason.UNSUPPORTED, "proprietary sentence " + _address(line))
    star = len(line) - 3
    if star < 1 or line[star] != _STAR:
        raise NmeaError(Reason.CHECKSUM, "no *hh checksum at the end")
    expected = _HEX.get(line[star + 1:])
    if expected is None:
        raise NmeaError(Reason.CHECKSUM, f"checksum {line[star + 1:]!r} is not two hex digits")
    actual = checksum(line[1:star])
    if actual != expected:
        raise NmeaError(Reason.CHECKSUM, f"sent {expected:02X}, computed {actual:02X}")
    # Only an encapsulated sentence with a good checksum gets this far.
    raise NmeaError(Reason.UNSUPPORTED, "encapsulated sentence " + _address(line))


# Receivers use a handful of addresses (GPGGA, GNRMC, ...), so each one's route is worked out
# once; the cache only remembers a pure function's results.
@functools.lru_cache(maxsize=64)
def _route(address: str) -> tuple[str, int, Decoder]:
    if not address.isalnum():
        raise NmeaError(Reason.MALFORMED, f"address {address!r} is not letters and digits")
    entry = DECODERS.get(address[2:]) if len(address) == 5 else None
    if entry is None:
        raise NmeaError(Reason.UNSUPPORTED, "sentence type " + address)
    minimum, decode = entry
    return address[:2], minimum, decode


def _address(line: bytes) -> str:
    end = line.find(b",")
    return line[1:end if end > 0 else 8].decode("ascii", "replace")
