"""Joins the data lines of one response into whole messages, one or more per ECU.

CAN follows ISO 15765-2 (single, first and consecutive frames). Without headers the ELM327
prints a multi-frame message as a byte count line and `N:` lines instead. The older protocols
split long answers (DTC lists, the VIN) into frames that each repeat the service byte.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from carnel.drivers.obd.elm import (ByteCount, Family, Frame, Info, Link, Numbered, ParsedLine,
                                    Status, parse_line)
from carnel.drivers.obd.errors import RESPONSE_PENDING, AdapterError

_SINGLE, _FIRST, _CONSECUTIVE, _FLOW_CONTROL = 0, 1, 2, 3
# Services whose legacy answers span several frames: DTC lists (03, 07, 0A) and vehicle info (09).
_SPLIT_SERVICES = frozenset({0x03, 0x07, 0x0A, 0x09})


@dataclass(frozen=True, slots=True)
class EcuMessage:
    """One whole service payload (e.g. `41 0C 1A F8`) and the ECU that sent it, when known."""

    ecu: int | None
    payload: bytes


@dataclass(frozen=True, slots=True)
class Assembly:
    """Everything one response held: whole messages, adapter conditions, and what was dropped."""

    messages: tuple[EcuMessage, ...]
    statuses: tuple[Status, ...]
    errors: tuple[AdapterError, ...]


@dataclass(slots=True)
class _Partial:
    total: int
    next_index: int
    data: bytearray = field(default_factory=bytearray)


def assemble(lines: Iterable[str], link: Link, service: int) -> Assembly:
    """Parse and join the lines of one response to a request for `service` (e.g. 0x01)."""
    parsed: list[ParsedLine] = []
    statuses: list[Status] = []
    errors: list[AdapterError] = []
    for text in lines:
        try:
            line = parse_line(text, link)
        except AdapterError as error:
            errors.append(error)
            continue
        if isinstance(line, Status):
            statuses.append(line)
        elif not isinstance(line, Info):
            parsed.append(line)
    if link.family is Family.LEGACY:
        messages = _join_legacy(parsed, service, errors)
    elif link.headers:
        messages = _join_can(parsed, errors)
    else:
        messages = _join_can_without_headers(parsed, errors)
    return Assembly(tuple(messages), tuple(statuses), tuple(errors))


def _join_can(lines: list[ParsedLine], errors: list[AdapterError]) -> list[EcuMessage]:
    messages: list[EcuMessage] = []
    partial: dict[int | None, _Partial] = {}
    for line in lines:
        if not isinstance(line, Frame):
            errors.append(AdapterError("unexpected_line", f"{line!r} with headers on"))
            continue
        data, ecu = line.data, line.ecu
        if not data:
            errors.append(AdapterError("bad_pci", f"empty frame from {ecu}"))
            continue
        kind, low = data[0] >> 4, data[0] & 0x0F
        if kind == _SINGLE:
            _abandon(partial, ecu, errors)
            if low == 0 or low > len(data) - 1:
                errors.append(AdapterError("bad_pci", f"single frame length {low} in {data.hex(' ')}"))
                continue
            messages.append(EcuMessage(ecu, bytes(data[1:1 + low])))
        elif kind == _FIRST:
            _abandon(partial, ecu, errors)
            if len(data) < 2:
                errors.append(AdapterError("bad_pci", f"first frame without a length: {data.hex(' ')}"))
                continue
            total = (low << 8) | data[1]
            partial[ecu] = _Partial(total, 1, bytearray(data[2:]))
            _complete(partial, ecu, messages)
        elif kind == _CONSECUTIVE:
            _consecutive(partial, ecu, low, data[1:], errors)
            _complete(partial, ecu, messages)
        elif kind != _FLOW_CONTROL:  # the adapter answers flow control itself; an echo is harmless
            errors.append(AdapterError("bad_pci", f"PCI type {kind} in {data.hex(' ')}"))
    for ecu in list(partial):
        _abandon(partial, ecu, errors)
    return messages


def _join_can_without_headers(lines: list[ParsedLine], errors: list[AdapterError]) -> list[EcuMessage]:
    messages: list[EcuMessage] = []
    partial: dict[int | None, _Partial] = {}
    for line in lines:
        if isinstance(line, ByteCount):
            _abandon(partial, None, errors)
            partial[None] = _Partial(line.count, 0)
        elif isinstance(line, Numbered):
            _consecutive(partial, None, line.index, line.data, errors)
            _complete(partial, None, messages)
        elif isinstance(line, Frame):
            _abandon(partial, None, errors)
            if line.data:
                messages.append(EcuMessage(None, line.data))
    _abandon(partial, None, errors)
    return messages


def _consecutive(partial: dict[int | None, _Partial], ecu: int | None, index: int, data: bytes,
                 errors: list[AdapterError]) -> None:
    current = partial.get(ecu)
    if current is None:
        errors.append(AdapterError("isotp_sequence", f"frame {index:X} from {ecu} before a first frame"))
        return
    if index != current.next_index:
        del partial[ecu]
        errors.append(AdapterError("isotp_sequence",
                                   f"frame {index:X} from {ecu} where {current.next_index:X} was due"))
        return
    current.data += data
    current.next_index = (current.next_index + 1) & 0x0F


def _complete(partial: dict[int | None, _Partial], ecu: int | None, messages: list[EcuMessage]) -> None:
    current = partial.get(ecu)
    if current is not None and len(current.data) >= current.total:
        del partial[ecu]
        messages.append(EcuMessage(ecu, bytes(current.data[:current.total])))


def _abandon(partial: dict[int | None, _Partial], ecu: int | None, errors: list[AdapterError]) -> None:
    current = partial.pop(ecu, None)
    if current is not None:
        errors.append(AdapterError("isotp_incomplete",
                                   f"{len(current.data)} of {current.total} bytes from {ecu}"))


def _join_legacy(lines: list[ParsedLine], service: int, errors: list[AdapterError]) -> list[EcuMessage]:
    """Merge each ECU's frames that answer a multi-frame `service`; each other frame stands alone.

    Mode 09 frames carry a message counter after the PID (J1979 legacy VIN: five frames of four
    bytes), so they are ordered by it and the repeated `49 <pid> <n>` is dropped; other services
    repeat only the service byte.
    """
    positive = service + 0x40 if service in _SPLIT_SERVICES else None
    prefix = 3 if service == 0x09 else 1
    groups: dict[int | None, list[bytes]] = {}
    messages: list[EcuMessage] = []
    for line in lines:
        if not isinstance(line, Frame):
            errors.append(AdapterError("unexpected_line", f"{line!r} on a legacy protocol"))
        elif line.data and line.data[0] == positive and len(line.data) >= prefix:
            groups.setdefault(line.ecu, []).append(line.data)
        elif line.data:
            messages.append(EcuMessage(line.ecu, line.data))
    for ecu, frames in groups.items():
        if prefix == 3:
            frames.sort(key=lambda frame: frame[2])
        body = b"".join(frame[prefix:] for frame in frames[1:])
        messages.append(EcuMessage(ecu, frames[0] + body))
    return messages


def pending_in_line(text: str, link: Link) -> EcuMessage | None:
    """The `7F <service> 78` (response pending) a single line holds, or None.

    Checked line by line, before the prompt, so that the session can move its deadline while
    the adapter is still listening.
    """
    try:
        line = parse_line(text, link)
    except AdapterError:
        return None
    if not isinstance(line, Frame):
        return None
    payload = line.data
    if link.headers and link.family is not Family.LEGACY:
        if not payload or payload[0] >> 4 != _SINGLE:
            return None
        payload = payload[1:1 + (payload[0] & 0x0F)]
    if is_pending(payload):
        return EcuMessage(line.ecu, payload)
    return None


def is_pending(payload: bytes) -> bool:
    """Whether a payload is the negative response 0x78, "request received, response pending"."""
    return len(payload) >= 3 and payload[0] == 0x7F and payload[2] == RESPONSE_PENDING
