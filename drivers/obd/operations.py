"""The dialogue behind each request: which commands to send and what each reply means.

An operation never sees bytes or time: the session hands it the reply to its last command
(echo removed, lines joined into messages) and it answers with the next command, a request to
keep waiting, or the request's final event.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from carnel.drivers.obd.dtc import Dtc, decode_dtcs
from carnel.drivers.obd.elm import Family, Link, parse_protocol, status_reason
from carnel.drivers.obd.errors import AdapterError, ObdError
from carnel.drivers.obd.events import (AdapterReady, DtcsRead, EcuDtcs, EcuValue, Event, PidRead,
                                       RequestFailed, SupportedPidsRead, VinRead)
from carnel.drivers.obd.frames import Assembly
from carnel.drivers.obd.payloads import (answers, decode_mode01, decode_mode01_bitmap, decode_vin,
                                         negative_response)
from carnel.drivers.obd.requests import Initialise, ReadDtcs, ReadPid, ReadSupportedPids, Request
from carnel.drivers.obd.settings import ElmSettings

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Command:
    """One line to send; `service` is the OBD service it asks for, None for an AT command."""

    text: str
    timeout: float
    service: int | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    """The adapter's answer to one command, up to its prompt; AT replies have no messages."""

    lines: tuple[str, ...]
    assembly: Assembly = Assembly((), (), ())


@dataclass(frozen=True, slots=True)
class Send:
    command: Command


@dataclass(frozen=True, slots=True)
class Wait:
    """The reply was not the one awaited (a prompt left over from before): keep waiting."""


@dataclass(frozen=True, slots=True)
class Finish:
    """The request is over; `dropped` are answers that were ignored, for the counters."""

    event: Event
    dropped: tuple[ObdError, ...] = ()


Outcome = Send | Wait | Finish


class Operation:
    """Base of the per-request dialogues."""

    request: Request

    def start(self) -> Command:
        raise NotImplementedError

    def on_reply(self, reply: Reply, link: Link | None) -> Outcome:
        raise NotImplementedError

    def _fail(self, error: ObdError, dropped: tuple[ObdError, ...] = ()) -> Finish:
        return Finish(RequestFailed(self.request, error), dropped)


def operation_for(request: Request, settings: ElmSettings) -> Operation:
    """The dialogue that answers `request`."""
    if isinstance(request, Initialise):
        return InitialiseOperation(request, settings)
    if isinstance(request, ReadPid):
        return PidOperation(request, settings)
    if isinstance(request, ReadSupportedPids):
        return SupportedPidsOperation(request, settings)
    if isinstance(request, ReadDtcs):
        return DtcOperation(request, settings)
    return VinOperation(request, settings)


@dataclass(frozen=True, slots=True)
class _Setting:
    """A formatting or protocol command, and whether the adapter must answer it with OK."""

    command: Command
    required: bool = True


class InitialiseOperation(Operation):
    """ATZ, the formatting commands, the protocol, a first request to connect, then ATDPN."""

    def __init__(self, request: Initialise, settings: ElmSettings) -> None:
        self.request = request
        quick = settings.command_timeout
        self._version = ""
        # Some clones answer `?` to ATS0/ATS1 (added in ELM327 v1.3); the parser copes with
        # spaces either way, so that one may be refused.
        self._settings = [
            _Setting(Command(f"ATE{int(settings.echo)}", quick)),
            _Setting(Command(f"ATL{int(settings.linefeeds)}", quick)),
            _Setting(Command(f"ATS{int(settings.spaces)}", quick), required=False),
            _Setting(Command(f"ATH{int(settings.headers)}", quick)),
            _Setting(Command(f"ATSP{settings.protocol}", quick)),
        ]
        self._reset = Command("ATZ", settings.reset_timeout)
        self._connect = Command("0100", settings.connect_timeout)
        self._describe = Command("ATDPN", quick)
        self._current = self._reset
        self._step = 0

    def start(self) -> Command:
        return self._reset

    def on_reply(self, reply: Reply, link: Link | None) -> Outcome:
        if self._current is self._reset:
            banner = next((line for line in reply.lines if "ELM" in line.upper()), None)
            if banner is None:
                return Wait()
            self._version = banner.strip()
            return self._send(self._settings[0].command)
        if self._current is self._connect:
            for line in reply.lines:
                reason = status_reason(line)
                if reason is not None:
                    return self._fail(AdapterError(reason, f"connecting: {line!r}"))
            return self._send(self._describe)
        if self._current is self._describe:
            try:
                protocol = parse_protocol(reply.lines[-1] if reply.lines else "")
            except AdapterError as error:
                return self._fail(error)
            return Finish(AdapterReady(self.request, self._version, protocol))
        setting = self._settings[self._step]
        accepted = any(line.replace(" ", "").upper() == "OK" for line in reply.lines)
        if setting.required and not accepted:
            return self._fail(AdapterError("setup_rejected",
                                           f"{setting.command.text} answered {reply.lines!r}"))
        self._step += 1
        if self._step < len(self._settings):
            return self._send(self._settings[self._step].command)
        return self._send(self._connect)

    def _send(self, command: Command) -> Send:
        self._current = command
        return Send(command)


@dataclass(frozen=True, slots=True)
class _Answer(Generic[T]):
    ecu: int | None
    value: T


@dataclass(frozen=True, slots=True)
class _Answers(Generic[T]):
    """The decoded positive answers of one reply, or why there were none."""

    values: list[_Answer[T]]
    failure: ObdError | None
    dropped: tuple[ObdError, ...]


def _collect(assembly: Assembly, service: int, pid: int | None,
             decode: Callable[[bytes], T]) -> _Answers[T]:
    values: list[_Answer[T]] = []
    refusals: list[ObdError] = []
    dropped: list[ObdError] = list(assembly.errors)
    for message in assembly.messages:
        refusal = negative_response(message.payload, message.ecu)
        if refusal is not None and refusal.service == service:
            refusals.append(refusal)
        elif answers(message.payload, service, pid):
            try:
                values.append(_Answer(message.ecu, decode(message.payload)))
            except AdapterError as error:
                dropped.append(error)
        else:
            dropped.append(AdapterError("unexpected_message",
                                        f"{message.payload.hex(' ')} from {message.ecu}"))
    if values:
        return _Answers(values, None, tuple(dropped + refusals))
    if refusals:
        return _Answers(values, refusals[0], tuple(dropped + refusals[1:]))
    if assembly.statuses:
        status = assembly.statuses[0]
        return _Answers(values, AdapterError(status.reason, status.text), tuple(dropped))
    if dropped:
        return _Answers(values, dropped[0], tuple(dropped[1:]))
    return _Answers(values, AdapterError("no_data", "no ECU answered"), ())


class _SingleCommand(Operation):
    def __init__(self, request: Request, settings: ElmSettings) -> None:
        self.request = request
        self._timeout = settings.command_timeout


class PidOperation(_SingleCommand):
    request: ReadPid

    def start(self) -> Command:
        return Command(f"01{self.request.pid:02X}", self._timeout, 0x01)

    def on_reply(self, reply: Reply, link: Link | None) -> Outcome:
        found = _collect(reply.assembly, 0x01, self.request.pid, decode_mode01)
        if found.failure is not None:
            return self._fail(found.failure, found.dropped)
        readings = tuple(EcuValue(answer.ecu, answer.value) for answer in found.values)
        return Finish(PidRead(self.request, readings), found.dropped)


class SupportedPidsOperation(_SingleCommand):
    """Bitmap PID 00, then 20, 40... while the last bit of the previous one says it exists."""

    def __init__(self, request: Request, settings: ElmSettings) -> None:
        super().__init__(request, settings)
        self._base = 0x00
        self._pids: set[int] = set()
        self._dropped: list[ObdError] = []

    def start(self) -> Command:
        return Command(f"01{self._base:02X}", self._timeout, 0x01)

    def on_reply(self, reply: Reply, link: Link | None) -> Outcome:
        found = _collect(reply.assembly, 0x01, self._base, decode_mode01_bitmap)
        self._dropped.extend(found.dropped)
        if found.failure is not None:
            if self._base == 0x00:
                return self._fail(found.failure, tuple(self._dropped))
            # An ECU that announced the next bitmap but cannot answer it: keep what was read.
            self._dropped.append(found.failure)
        for answer in found.values:
            self._pids |= answer.value
        following = self._base + 0x20
        if found.failure is None and following < 0x100 and following in self._pids:
            self._base = following
            return Send(self.start())
        return Finish(SupportedPidsRead(self.request, frozenset(self._pids)), tuple(self._dropped))


class DtcOperation(_SingleCommand):
    request: ReadDtcs

    def start(self) -> Command:
        return Command(f"{int(self.request.kind):02X}", self._timeout, int(self.request.kind))

    def on_reply(self, reply: Reply, link: Link | None) -> Outcome:
        service = int(self.request.kind)
        counted = link is not None and link.family is not Family.LEGACY

        def decode(payload: bytes) -> tuple[Dtc, ...]:
            return decode_dtcs(payload, counted)

        found = _collect(reply.assembly, service, None, decode)
        if found.failure is not None:
            # Many ECUs stay silent instead of sending an empty list, so the adapter says NO DATA.
            if found.failure.reason == "no_data" and not reply.assembly.messages:
                return Finish(DtcsRead(self.request, ()), found.dropped)
            return self._fail(found.failure, found.dropped)
        reports = tuple(EcuDtcs(answer.ecu, answer.value) for answer in found.values)
        return Finish(DtcsRead(self.request, reports), found.dropped)


class VinOperation(_SingleCommand):
    def start(self) -> Command:
        return Command("0902", self._timeout, 0x09)

    def on_reply(self, reply: Reply, link: Link | None) -> Outcome:
        found = _collect(reply.assembly, 0x09, 0x02, decode_vin)
        if found.failure is not None:
            return self._fail(found.failure, found.dropped)
        first = found.values[0]
        return Finish(VinRead(self.request, first.value, first.ecu), found.dropped)
