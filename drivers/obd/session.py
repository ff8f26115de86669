"""The ELM327 session: a sans-I/O state machine between a caller and the adapter's byte stream.

The caller submits requests and writes `Step.send` to the adapter; it feeds every byte read
back to `receive` in whatever chunks arrive, and calls `expire` once its clock passes
`Step.deadline`. The session owns no socket and no clock: every call takes `now`.

One command is on the wire at a time (the ELM327 answers one line, then prints `>`); further
requests wait in a bounded queue. A reply that does not come in time fails its request, and the
session sends a CR, which stops an adapter still busy (it prints STOPPED) and otherwise repeats
the last command, and discards everything up to the next prompt before going on.
"""
from __future__ import annotations

from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from carnel.drivers.obd.elm import Link, Protocol
from carnel.drivers.obd.errors import AdapterError, UsageError
from carnel.drivers.obd.events import AdapterReady, Event, RequestFailed, ResponsePending
from carnel.drivers.obd.frames import Assembly, assemble, is_pending, pending_in_line
from carnel.drivers.obd.operations import Command, Finish, Operation, Reply, Send, operation_for
from carnel.drivers.obd.reader import Line, LineReader, Overflow
from carnel.drivers.obd.requests import Initialise, Request
from carnel.drivers.obd.settings import ElmSettings


# An ISO 15765-2 message holds at most 4095 bytes: 585 lines of 7 bytes, plus a few more for
# other ECUs. Anything longer is an adapter that babbles, and waits for its timeout.
_MAX_LINES = 1024


@dataclass(frozen=True, slots=True)
class Step:
    """What the caller does next: handle `events`, write `send`, call `expire` at `deadline`."""

    events: tuple[Event, ...] = ()
    send: bytes = b""
    deadline: float | None = None


@dataclass(slots=True)
class _Exchange:
    request: Request
    operation: Operation
    command: Command
    deadline: float
    lines: list[str] = field(default_factory=list)
    may_echo: bool = True
    pending_since: float | None = None


@dataclass(slots=True)
class _Resync:
    attempts: int
    deadline: float


@dataclass(slots=True)
class _Output:
    events: list[Event] = field(default_factory=list)
    send: bytearray = field(default_factory=bytearray)


class ElmSession:
    """Drives an ELM327 through initialisation and OBD-II requests, one command at a time."""

    def __init__(self, settings: ElmSettings | None = None) -> None:
        self.settings = settings or ElmSettings()
        self._reader = LineReader()
        self._queue: deque[Request] = deque()
        self._exchange: _Exchange | None = None
        self._resync: _Resync | None = None
        self._link: Link | None = None
        self._protocol: Protocol | None = None
        self._counts: Counter[str] = Counter()

    # --- what the caller can read -----------------------------------------------------------

    @property
    def ready(self) -> bool:
        """Whether the adapter has been initialised and OBD requests can be sent."""
        return self._link is not None

    @property
    def protocol(self) -> Protocol | None:
        return self._protocol

    @property
    def link(self) -> Link | None:
        return self._link

    @property
    def deadline(self) -> float | None:
        """When the caller should call `expire` if nothing arrives; None when nothing is awaited."""
        if self._resync is not None:
            return self._resync.deadline
        if self._exchange is not None:
            return self._exchange.deadline
        return None

    @property
    def error_counts(self) -> Mapping[str, int]:
        """How often each failure reason occurred, including answers dropped as garbage."""
        return MappingProxyType(self._counts)

    # --- what the caller can do ----------------------------------------------------------------

    def submit(self, request: Request, now: float) -> Step:
        """Queue a request; its command is in `send` when the adapter is free."""
        if len(self._queue) >= self.settings.max_queue:
            raise UsageError("queue_full", f"{len(self._queue)} requests already wait")
        if not isinstance(request, Initialise) and self._link is None and not self._initialising():
            raise UsageError("not_initialised", f"submit Initialise() before {request!r}")
        self._queue.append(request)
        out = _Output()
        self._advance(now, out)
        return self._step(out)

    def receive(self, data: bytes, now: float) -> Step:
        """Feed bytes read from the adapter, split anywhere."""
        out = _Output()
        for item in self._reader.feed(data):
            if isinstance(item, Line):
                self._on_line(item.text, now, out)
            elif isinstance(item, Overflow):
                self._counts["line_too_long"] += 1
            else:
                self._on_prompt(now, out)
        self._advance(now, out)
        return self._step(out)

    def expire(self, now: float) -> Step:
        """Tell the session the time; a request whose deadline has passed fails."""
        out = _Output()
        if self._resync is not None:
            if now >= self._resync.deadline:
                self._retry_resync(self._resync, now, out)
        elif self._exchange is not None and now >= self._exchange.deadline:
            exchange = self._exchange
            if exchange.pending_since is not None:
                error = AdapterError("response_pending_timeout",
                                     f"{exchange.command.text}: ECU still busy after "
                                     f"{now - exchange.pending_since:.1f} s")
            else:
                error = AdapterError("timeout", f"no prompt after {exchange.command.text}")
            self._finish(Finish(RequestFailed(exchange.request, error)), out)
            self._reader.clear()
            self._resync = _Resync(1, now + self.settings.command_timeout)
            out.send += b"\r"
        self._advance(now, out)
        return self._step(out)

    # --- internals -------------------------------------------------------------------------------

    def _initialising(self) -> bool:
        running = self._exchange is not None and isinstance(self._exchange.request, Initialise)
        return running or any(isinstance(request, Initialise) for request in self._queue)

    def _step(self, out: _Output) -> Step:
        return Step(tuple(out.events), bytes(out.send), self.deadline)

    def _advance(self, now: float, out: _Output) -> None:
        while self._exchange is None and self._resync is None and self._queue:
            request = self._queue.popleft()
            if isinstance(request, Initialise):
                self._link = self._protocol = None
            elif self._link is None:
                self._finish_unstarted(request, out)
                continue
            operation = operation_for(request, self.settings)
            command = operation.start()
            self._exchange = _Exchange(request, operation, command, now + command.timeout)
            out.send += _encode(command)

    def _finish_unstarted(self, request: Request, out: _Output) -> None:
        error = AdapterError("not_initialised", "the adapter is not initialised")
        self._counts[error.reason] += 1
        out.events.append(RequestFailed(request, error))

    def _on_line(self, text: str, now: float, out: _Output) -> None:
        exchange = self._exchange
        if self._resync is not None:
            return
        if exchange is None:
            self._counts["unsolicited_line"] += 1
            return
        if exchange.may_echo:
            exchange.may_echo = False
            if _compact(text) == _compact(exchange.command.text):
                return
        if len(exchange.lines) >= _MAX_LINES:
            self._counts["response_too_long"] += 1
            return
        exchange.lines.append(text)
        if exchange.command.service is not None and self._link is not None:
            pending = pending_in_line(text, self._link)
            if pending is not None:
                self._note_pending(exchange, pending.ecu, now, out)

    def _note_pending(self, exchange: _Exchange, ecu: int | None, now: float, out: _Output) -> None:
        if exchange.pending_since is None:
            exchange.pending_since = now
        exchange.deadline = min(now + self.settings.pending_timeout,
                                exchange.pending_since + self.settings.pending_limit)
        out.events.append(ResponsePending(exchange.request, ecu, exchange.deadline))

    def _on_prompt(self, now: float, out: _Output) -> None:
        if self._resync is not None:
            self._resync = None
            return
        exchange = self._exchange
        if exchange is None:
            return
        lines = tuple(exchange.lines)
        exchange.lines.clear()
        exchange.may_echo = True
        service = exchange.command.service
        if service is None or self._link is None:
            reply = Reply(lines)
        else:
            assembly = assemble(lines, self._link, service)
            answers = tuple(m for m in assembly.messages if not is_pending(m.payload))
            if exchange.pending_since is not None and not answers:
                self._wait_again(exchange, exchange.pending_since, now, out)
                return
            reply = Reply(lines, Assembly(answers, assembly.statuses, assembly.errors))
        outcome = exchange.operation.on_reply(reply, self._link)
        if isinstance(outcome, Send):
            exchange.command = outcome.command
            exchange.deadline = now + outcome.command.timeout
            exchange.pending_since = None
            out.send += _encode(outcome.command)
        elif isinstance(outcome, Finish):
            self._finish(outcome, out)
        # Wait: the reply was stale; the same deadline still holds.

    def _wait_again(self, exchange: _Exchange, since: float, now: float, out: _Output) -> None:
        """Every ECU said "pending" and the adapter stopped listening: ask again, within the limit.

        Some adapters print the prompt after 7F xx 78 instead of waiting for the answer; the
        request is read-only, so asking again is how the answer is collected.
        """
        if now >= since + self.settings.pending_limit:
            error = AdapterError("response_pending_timeout",
                                 f"{exchange.command.text}: ECU still busy after {now - since:.1f} s")
            self._finish(Finish(RequestFailed(exchange.request, error)), out)
            return
        out.send += _encode(exchange.command)

    def _finish(self, outcome: Finish, out: _Output) -> None:
        for dropped in outcome.dropped:
            self._counts[dropped.reason] += 1
        event = outcome.event
        if isinstance(event, AdapterReady):
            self._protocol = event.protocol
            self._link = Link(event.protocol.family, self.settings.headers)
        elif isinstance(event, RequestFailed):
            self._counts[event.error.reason] += 1
        self._exchange = None
        out.events.append(event)

    def _retry_resync(self, resync: _Resync, now: float, out: _Output) -> None:
        if resync.attempts >= self.settings.resync_attempts:
            self._resync = None
            self._link = self._protocol = None
            error = AdapterError("adapter_unresponsive",
                                 f"no prompt after {self.settings.resync_attempts} attempts")
            self._counts[error.reason] += 1
            while self._queue:
                request = self._queue.popleft()
                if isinstance(request, Initialise):
                    self._queue.appendleft(request)
                    break
                self._counts[error.reason] += 1
                out.events.append(RequestFailed(request, error))
            return
        resync.attempts += 1
        resync.deadline = now + self.settings.command_timeout
        out.send += b"\r"


def _encode(command: Command) -> bytes:
    return command.text.encode("ascii") + b"\r"


def _compact(text: str) -> str:
    return text.replace(" ", "").upper()
