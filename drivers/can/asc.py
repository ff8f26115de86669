"""Vector's ASC log format (CANalyzer / CANoe), read into frames.

The header says how to read the rest:

    date Sam Sep 30 15:06:13.191 2017
    base hex  timestamps absolute
    internal events logged
    // version 9.0.0
    Begin Triggerblock Sam Sep 30 15:06:13.191 2017

then one event a line, each starting with its time in seconds. Frames are

    <time> <channel> <id>[x] Rx|Tx d <dlc> <byte> ... [Length = ... BitCount = ... ID = ...]
    <time> <channel> <id>[x] Rx|Tx r [<dlc>]
    <time> <channel> ErrorFrame ...
    <time> CANFD <channel> Rx|Tx <id>[x] [<name>] <brs> <esi> <dlc> <length> <byte> ...
          <duration> <bit count> <flags> <crc> <bit timings ...>

A CANFD event carries classic frames too: its flags field says which (bit 12, EDL, set for CAN FD;
bit 4 for a remote frame), as can-utils' asc2log reads it. `base dec` switches classic ids and
bytes to decimal; CANFD events stay hexadecimal apart from the length. With `timestamps relative`
each time counts from the previous event, and frames get the running total, so a frame's
timestamp is always seconds since the start of measurement. The header date is kept as text
(`header_date`): its day and month names follow the logging PC's locale.

Timestamped events that are not frames (statistics, status, J1939 transport, TxRq) are counted in
`skipped`; a line that claims to be a frame and is malformed is counted in `rejections`.
"""
from __future__ import annotations

import re

from carnel.drivers.can.errors import FrameError, LogLineError
from carnel.drivers.can.frame import FD_MAX_LENGTH, CanFrame, dlc_to_length
from carnel.drivers.can.lines import LineReader

_TIMESTAMP = re.compile(r"[0-9]{1,12}\.[0-9]{1,9}\Z")
_CHANNEL = re.compile(r"[0-9]{1,3}\Z")
_HEX_ID = re.compile(r"[0-9A-Fa-f]{1,8}\Z")
_DEC_ID = re.compile(r"[0-9]{1,10}\Z")
_HEX_BYTE = re.compile(r"[0-9A-Fa-f]{1,2}\Z")
_DEC_BYTE = re.compile(r"[0-9]{1,3}\Z")
_HEX_DIGIT = re.compile(r"[0-9A-Fa-f]\Z")
_HEX_WORD = re.compile(r"[0-9A-Fa-f]{1,8}\Z")
_DEC_LENGTH = re.compile(r"[0-9]{1,2}\Z")

# Flags field of a CANFD event (Vector's ASC format specification; the bits asc2log reads).
_FLAG_RTR = 0x0010
_FLAG_EDL = 0x1000

_DIRECTIONS = ("Rx", "Tx")
_FD_BITS = ("0", "1")


class AscReader(LineReader):
    """Reads a Vector ASC log: bytes or lines in, frames out, bad lines counted per reason."""

    def __init__(self) -> None:
        super().__init__()
        self.header_date: str | None = None
        self._decimal = False
        self._relative = False
        self._clock = 0.0

    def parse_line(self, line: str) -> CanFrame | None:
        fields = line.split()
        if not fields:
            return None
        if _TIMESTAMP.match(fields[0]):
            try:
                return self._parse_event(fields)
            except FrameError as exc:
                raise LogLineError(exc.reason, exc.detail) from None
        self._parse_header(fields)
        return None

    def _parse_header(self, fields: list[str]) -> None:
        keyword = fields[0].lower()
        if keyword.startswith("//"):
            self.skipped.add("comment")
        elif keyword == "date":
            self.header_date = " ".join(fields[1:])
            self.skipped.add("header")
        elif keyword == "base":
            self._parse_base(fields)
            self.skipped.add("header")
        elif [f.lower() for f in fields[-3:]] == ["internal", "events", "logged"] and len(fields) <= 4:
            self.skipped.add("header")
        elif keyword in ("begin", "end") and len(fields) >= 2 and fields[1].lower() == "triggerblock":
            self.skipped.add("header")
        else:
            raise LogLineError("malformed", f"{' '.join(fields)[:40]!r} is neither a header line nor an event")

    def _parse_base(self, fields: list[str]) -> None:
        words = [f.lower() for f in fields]
        if len(words) not in (2, 4) or words[1] not in ("hex", "dec"):
            raise LogLineError("bad_header", "expected 'base hex|dec timestamps absolute|relative'")
        if len(words) == 4 and (words[2] != "timestamps" or words[3] not in ("absolute", "relative")):
            raise LogLineError("bad_header", "expected 'base hex|dec timestamps absolute|relative'")
        self._decimal = words[1] == "dec"
        self._relative = len(words) == 4 and words[3] == "relative"

    def _parse_event(self, fields: list[str]) -> CanFrame | None:
        time = float(fields[0])
        if self._relative:
            self._clock += time
            time = self._clock
        if len(fields) < 3:
            raise LogLineError("malformed", "an event needs more than a time")
        if fields[1] == "CANFD":
            return self._parse_fd(time, fields)
        if _CHANNEL.match(fields[1]):
            if fields[2] == "ErrorFrame":
                return CanFrame(timestamp=time, arbitration_id=0, is_error=True, channel=fields[1])
            if len(fields) >= 5 and fields[3] in _DIRECTIONS:
                return self._parse_classic(time, fields)
        self.skipped.add("event")
        return None

    def _parse_classic(self, time: float, fields: list[str]) -> CanFrame:
        channel, id_text, kind = fields[1], fields[2], fields[4]
        arbitration_id, is_extended = self._parse_id(id_text, decimal=self._decimal)
        if kind in ("r", "R"):
            # The requested DLC is optional; a following word is the bit-timing trailer.
            dlc = fields[5] if len(fields) > 5 and _HEX_DIGIT.match(fields[5]) else "0"
            return CanFrame(
                timestamp=time,
                arbitration_id=arbitration_id,
                is_extended=is_extended,
                is_remote=True,
                remote_length=dlc_to_length(int(dlc, 16), is_fd=False),
                channel=channel,
            )
        if kind not in ("d", "D"):
            raise LogLineError("malformed", f"frame kind {kind[:8]!r} is not 'd' (data) or 'r' (remote)")
        if len(fields) < 6 or not _HEX_DIGIT.match(fields[5]):
            raise LogLineError("bad_dlc", "a data frame needs a DLC of one hex digit")
        length = dlc_to_length(int(fields[5], 16), is_fd=False)
        byte_fields = fields[6 : 6 + length]
        if len(byte_fields) < length:
            raise LogLineError("length_mismatch", f"DLC {fields[5]} promises {length} bytes, line has {len(byte_fields)}")
        return CanFrame(
            timestamp=time,
            arbitration_id=arbitration_id,
            is_extended=is_extended,
            data=self._parse_bytes(byte_fields, decimal=self._decimal),
            channel=channel,
        )

    def _parse_fd(self, time: float, fields: list[str]) -> CanFrame | None:
        if len(fields) < 5 or not _CHANNEL.match(fields[2]):
            raise LogLineError("malformed", "a CANFD event is '<time> CANFD <channel> <dir> <id> ...'")
        channel, direction = fields[2], fields[3]
        if direction not in _DIRECTIONS:
            self.skipped.add("event")
            return None
        if fields[4] == "ErrorFrame":
            return CanFrame(timestamp=time, arbitration_id=0, is_error=True, channel=channel)
        arbitration_id, is_extended = self._parse_id(fields[4], decimal=False)
        # A symbolic message name may stand between the id and BRS; a name never is "0" or "1".
        at = 5 if len(fields) > 5 and fields[5] in _FD_BITS else 6
        if len(fields) < at + 4:
            raise LogLineError("malformed", "a CANFD event needs BRS, ESI, DLC and data length")
        brs, esi, dlc_text, length_text = fields[at : at + 4]
        if brs not in _FD_BITS or esi not in _FD_BITS:
            raise LogLineError("malformed", f"BRS {brs[:4]!r} and ESI {esi[:4]!r} must be 0 or 1")
        if not _HEX_DIGIT.match(dlc_text):
            raise LogLineError("bad_dlc", f"DLC {dlc_text[:8]!r} is not one hex digit")
        if not _DEC_LENGTH.match(length_text) or int(length_text) > FD_MAX_LENGTH:
            raise LogLineError("length_mismatch", f"data length {length_text[:8]!r} is not 0..64")
        dlc, length = int(dlc_text, 16), int(length_text)
        start = at + 4
        byte_fields = fields[start : start + length]
        trailer = fields[start + length :]
        if len(byte_fields) < length:
            raise LogLineError("length_mismatch", f"data length {length}, line has {len(byte_fields)} bytes")
        if len(trailer) < 3 or not _HEX_WORD.match(trailer[2]):
            raise LogLineError("malformed", "a CANFD event needs its duration, bit count and flags after the data")
        flags = int(trailer[2], 16)
        data = self._parse_bytes(byte_fields, decimal=False)
        if flags & _FLAG_EDL:
            if dlc_to_length(dlc, is_fd=True) != length:
                raise LogLineError("length_mismatch", f"CAN FD DLC {dlc} does not stand for {length} bytes")
            return CanFrame(
                timestamp=time,
                arbitration_id=arbitration_id,
                is_extended=is_extended,
                is_fd=True,
                bitrate_switch=brs == "1",
                error_state_indicator=esi == "1",
                data=data,
                channel=channel,
            )
        if flags & _FLAG_RTR:
            if length:
                raise LogLineError("length_mismatch", "a remote frame carries no data")
            return CanFrame(
                timestamp=time,
                arbitration_id=arbitration_id,
                is_extended=is_extended,
                is_remote=True,
                remote_length=dlc_to_length(dlc, is_fd=False),
                channel=channel,
            )
        if dlc_to_length(dlc, is_fd=False) != length:
            raise LogLineError("length_mismatch", f"classic DLC {dlc} does not stand for {length} bytes")
        return CanFrame(
            timestamp=time,
            arbitration_id=arbitration_id,
            is_extended=is_extended,
            data=data,
            channel=channel,
        )

    @staticmethod
    def _parse_id(text: str, *, decimal: bool) -> tuple[int, bool]:
        is_extended = text[-1:] in ("x", "X")
        digits = text[:-1] if is_extended else text
        if not (_DEC_ID if decimal else _HEX_ID).match(digits):
            raise LogLineError("bad_id", f"id {text[:16]!r} is not a {'decimal' if decimal else 'hex'} CAN id")
        return int(digits, 10 if decimal else 16), is_extended

    @staticmethod
    def _parse_bytes(fields: list[str], *, decimal: bool) -> bytes:
        pattern, base = (_DEC_BYTE, 10) if decimal else (_HEX_BYTE, 16)
        if not all(pattern.match(field) for field in fields):
            raise LogLineError("bad_data", f"data bytes {' '.join(fields)[:40]!r} are not {'decimal' if decimal else 'hex'}")
        values = [int(field, base) for field in fields]
        if any(value > 0xFF for value in values):
            raise LogLineError("bad_data", "a decimal data byte is above 255")
        return bytes(values)

