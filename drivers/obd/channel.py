"""Runs the sans-I/O ElmSession over a Trio byte stream: one request at a time, to its final event.

Every wait has the session's deadline; when it passes, the session is told the time and decides
(fail the request, resynchronise, give up on the adapter). A device that is gone (end of stream,
a broken tty or socket, a write that never completes) or an adapter the session has given up on
raises DeviceLost, which the device link turns into `unavailable` and a reconnect.
"""
from __future__ import annotations

from collections import Counter

import trio

from carnel.drivers.obd.events import Event, RequestFailed, ResponsePending
from carnel.drivers.obd.failures import describe_request
from carnel.drivers.obd.requests import Request
from carnel.drivers.obd.session import ElmSession, Step
from carnel.ipc.device import DeviceLost, describe_failure

_RECEIVE_SIZE = 4096


class ElmChannel:
    """An ElmSession and the stream to its adapter; `request` sends and waits for the answer."""

    def __init__(self, stream: trio.abc.Stream, session: ElmSession) -> None:
        self._stream = stream
        self._session = session
        self._reported: Counter[str] = Counter()

    @property
    def session(self) -> ElmSession:
        return self._session

    async def request(self, request: Request) -> Event:
        """The request's final event (never ResponsePending).

        Raises DeviceLost when the device is gone, or when the session is no longer initialised
        afterwards (initialisation failed, or the adapter stopped answering).
        """
        step = self._session.submit(request, trio.current_time())
        while True:
            final = _final_event(step, request)
            if step.send:
                await self._send(step.send)
            if final is not None:
                break
            step = await self._next_step(step.deadline)
        if not self._session.ready:
            detail = final.error if isinstance(final, RequestFailed) else final
            raise DeviceLost(f"{describe_request(request)} failed: {detail}")
        return final

    def new_error_counts(self) -> dict[str, int]:
        """The session's failure counts that grew since the last call, by reason."""
        current = Counter(self._session.error_counts)
        grown = current - self._reported
        self._reported = current
        return dict(grown)

    async def _send(self, data: bytes) -> None:
        timeout = self._session.settings.command_timeout
        with trio.move_on_after(timeout):
            try:
                await self._stream.send_all(data)
            except trio.BrokenResourceError as exc:
                raise DeviceLost(_broken(exc, "writing")) from exc
            return
        raise DeviceLost(f"writing to the adapter stalled for {timeout} s")

    async def _next_step(self, deadline: float | None) -> Step:
        if deadline is None:
            # The session awaits nothing, yet the request has not ended: only a new session
            # (a reconnect) can put that right.
            raise DeviceLost("the session stopped waiting without an answer")
        with trio.move_on_at(deadline):
            try:
                data = await self._stream.receive_some(_RECEIVE_SIZE)
            except trio.BrokenResourceError as exc:
                raise DeviceLost(_broken(exc, "reading")) from exc
            if not data:
                raise DeviceLost("the adapter closed the connection")
            return self._session.receive(data, trio.current_time())
        return self._session.expire(trio.current_time())


def _final_event(step: Step, request: Request) -> Event | None:
    for event in step.events:
        if event.request is request and not isinstance(event, ResponsePending):
            return event
    return None


def _broken(exc: trio.BrokenResourceError, doing: str) -> str:
    return f"{doing}: {describe_failure(exc.__cause__ or exc)}"
