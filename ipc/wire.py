"""The bus envelope's header: pack, parse and re-stamp, in pure Python.

This is the twin of ext/wire.pyx: both must produce the same bytes and accept or refuse the same
inputs with the same reason (tests/ipc/test_wire.py runs one suite against both). Use the active
implementation through `carnel.ipc._impl`, not this module directly.

A message on the bus is multipart: ``[header][payload][attachment ...]``. The header is::

    offset size  field
    0      1     version       (1)
    1      1     kind          (Kind)
    2      2     flags         (Flag bits)
    4      4     seq           per-subject sequence number, stamped by the kernel
    8      8     msg_id        chosen by the sender; a request's id
    16     8     corr_id       on REP/ERR: the msg_id of the request answered
    24     8     timestamp_ns  sender's wall clock, ns since the epoch (signed)
    32     4     timeout_ms    on REQ: the caller's deadline; 0 = none
    36     1     source_len    0..64; senders leave it empty, the kernel stamps it
    37     1     subject_len   1..255
    38     ...   source, then subject (ASCII)

All integers are little-endian. The header must end exactly after the subject.
"""
from __future__ import annotations

import enum
import struct
from typing import NamedTuple

VERSION = 1
FIXED = struct.Struct("<BBHIQQqIBB")
FIXED_SIZE = FIXED.size  # 38
MAX_SOURCE = 64
MAX_SUBJECT = 255
MAX_SEQ = 0xFFFFFFFF


class Kind(enum.IntEnum):
    PUB = 1
    REQ = 2
    REP = 3
    ERR = 4
    SUB = 5
    UNSUB = 6
    HELLO = 7
    READY = 8
    HEARTBEAT = 9
    CONTROL = 10


KIND_MAX = max(Kind)
# Only subscriptions may carry wildcards; everything else names one concrete subject.
PATTERN_KINDS = frozenset((Kind.SUB, Kind.UNSUB))


class Flag(enum.IntFlag):
    RETAIN = 0x1  # publisher asks the kernel to keep this as the subject's latest value
    RETAINED = 0x2  # this delivery is a kept value replayed to a new subscriber


class WireError(ValueError):
    """A header that does not follow the wire format; `reason` is stable, for counting."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class Header(NamedTuple):
    version: int
    kind: int
    flags: int
    seq: int
    msg_id: int
    corr_id: int
    timestamp_ns: int
    timeout_ms: int
    source: str
    subject: str


def _is_name_byte(b: int) -> bool:
    # [A-Za-z0-9_-]
    return (97 <= b <= 122) or (65 <= b <= 90) or (48 <= b <= 57) or b == 95 or b == 45


def check_source(raw: bytes) -> None:
    """A source is a process name: 1..64 of [A-Za-z0-9_-], or empty (not stamped yet)."""
    if len(raw) > MAX_SOURCE:
        raise WireError("source", f"source is {len(raw)} bytes, the limit is {MAX_SOURCE}")
    for b in raw:
        if not _is_name_byte(b):
            raise WireError("source", f"source byte 0x{b:02x} is not one of [A-Za-z0-9_-]")


def check_subject(raw: bytes, patterns: bool) -> None:
    """Dotted tokens of [A-Za-z0-9_-]; with `patterns`, a token may be `*`, and the last `>`."""
    n = len(raw)
    if n == 0:
        raise WireError("subject", "subject is empty")
    if n > MAX_SUBJECT:
        raise WireError("subject", f"subject is {n} bytes, the limit is {MAX_SUBJECT}")
    start = 0
    token = 1
    while True:
        end = raw.find(b".", start)
        last = end < 0
        if last:
            end = n
        if end == start:
            raise WireError("subject", f"token {token} is empty")
        if end - start == 1 and raw[start] in (42, 62):  # '*', '>'
            if not patterns:
                raise WireError("wildcard", "wildcards are allowed only in SUB and UNSUB")
            if raw[start] == 62 and not last:
                raise WireError("wildcard", "'>' matches the rest of a subject, so it must be "
                                            "the last token")
        else:
            for i in range(start, end):
                if not _is_name_byte(raw[i]):
                    text = raw[start:end].decode("ascii", "replace")
                    raise WireError("subject", f"token {token} ({text!r}) may hold only letters, "
                                               "digits, '_' and '-'")
        if last:
            return
        start = end + 1
        token += 1


def _ascii(text: str, field: str) -> bytes:
    try:
        return text.encode("ascii")
    except UnicodeEncodeError:
        raise WireError(field, "not ASCII") from None


def _check_kind(kind: int) -> None:
    if not 1 <= kind <= KIND_MAX:
        raise WireError("kind", f"unknown kind {kind}")


def pack_header(
    kind: int,
    subject: str,
    *,
    flags: int = 0,
    seq: int = 0,
    msg_id: int = 0,
    corr_id: int = 0,
    timestamp_ns: int = 0,
    timeout_ms: int = 0,
    source: str = "",
) -> bytes:
    """Build a header; raises WireError for anything parse_header would refuse."""
    _check_kind(kind)
    raw_source = _ascii(source, "source")
    raw_subject = _ascii(subject, "subject")
    check_source(raw_source)
    check_subject(raw_subject, kind in PATTERN_KINDS)
    try:
        fixed = FIXED.pack(
            VERSION, kind, flags, seq, msg_id, corr_id, timestamp_ns, timeout_ms,
            len(raw_source), len(raw_subject),
        )
    except struct.error:
        raise WireError("range", "a numeric field is out of its range") from None
    return fixed + raw_source + raw_subject


def _split(buf: bytes | memoryview) -> tuple[tuple, bytes, bytes]:
    raw = bytes(buf)
    if len(raw) < FIXED_SIZE:
        raise WireError("short", f"header is {len(raw)} bytes, at least {FIXED_SIZE} needed")
    fields = FIXED.unpack_from(raw)
    if fields[0] != VERSION:
        raise WireError("version", f"version {fields[0]}, this bus speaks {VERSION}")
    _check_kind(fields[1])
    source_len, subject_len = fields[8], fields[9]
    if len(raw) != FIXED_SIZE + source_len + subject_len:
        raise WireError(
            "length",
            f"header is {len(raw)} bytes, its lengths say {FIXED_SIZE + source_len + subject_len}",
        )
    raw_source = raw[FIXED_SIZE:FIXED_SIZE + source_len]
    raw_subject = raw[FIXED_SIZE + source_len:]
    check_source(raw_source)
    check_subject(raw_subject, fields[1] in PATTERN_KINDS)
    return fields, raw_source, raw_subject


def parse_header(buf: bytes | memoryview) -> Header:
    """Parse and validate a header frame; raises WireError."""
    fields, raw_source, raw_subject = _split(buf)
    return Header(*fields[:8], raw_source.decode("ascii"), raw_subject.decode("ascii"))


def restamp(buf: bytes | memoryview, source: str, seq: int) -> bytes:
    """The same header with the kernel's authenticated source and sequence number written in."""
    fields, _, raw_subject = _split(buf)
    raw_source = _ascii(source, "source")
    check_source(raw_source)
    if not 0 <= seq <= MAX_SEQ:
        raise WireError("range", f"seq {seq} is out of range")
    try:
        fixed = FIXED.pack(*fields[:3], seq, *fields[4:8], len(raw_source), len(raw_subject))
    except struct.error:
        raise WireError("range", f"seq {seq!r} is not an integer") from None
    return fixed + raw_source + raw_subject
