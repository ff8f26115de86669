"""A fuzzing run against a running image: send the inputs, watch the kernel for crashes, and wait
out each restart before going on.

The kernel announces every process state change on `kernel.process.<name>`; an announcement, a
request that went unanswered, or every few publications is the cue to compare kernel.ps with the
last listing: a restart count that went up, or a process newly failed, is a crash, reported with
the inputs sent since the previous one.

An interruption (Ctrl-C) ends the sending, and any wait, at once; one last look at kernel.ps
still follows, so that the report counts what the last inputs did.
"""
from __future__ import annotations

import collections
import contextlib
from collections.abc import Iterator

import trio

from carnel.ipc.client import BusClient, Delivery
from carnel.ipc.errors import CallError
from carnel.ipc.schemas.bus import Empty
from carnel.ipc.schemas.kernel import ProcessList
from carnel.ipc.wire import Kind
from carnel.kernel.tools.bus import call, refusals, routed
from carnel.kernel.tools.fuzzing.findings import (
    OK,
    Findings,
    Sent,
    crashes_between,
    restarts_between,
)
from carnel.kernel.tools.fuzzing.inputs import FuzzInput, InputSource
from carnel.kernel.tools.fuzzing.targets import Verb

SUSPECTS = 10  # inputs kept to show with a crash
CHECK_EVERY = 10  # publications between looks at kernel.ps
RESTART_WAIT = 30.0
# A subscriber does not acknowledge what it handles, so a crash caused by the last publications
# shows only a little later: this long after the last one the run still watches for it.
GRACE = 1.0
# Replies that may mean the provider died with the request.
_ALARMING = frozenset({"unavailable", "timeout"})


class StateChanges:
    """Counts the kernel's process state announcements, and wakes whoever waits for the next."""

    def __init__(self) -> None:
        self.count = 0
        self._changed = trio.Event()

    def sink(self, batch: list[Delivery]) -> None:
        self.count += len(batch)
        self._changed.set()
        self._changed = trio.Event()

    async def after(self, count: int) -> None:
        """Return once more than `count` announcements have arrived."""
        while self.count <= count:
            await self._changed.wait()


class Campaign:
    def __init__(self, client: BusClient, findings: Findings, source: InputSource, *,
                 request_timeout: float) -> None:
        self.client = client
        self.findings = findings
        self.source = source
        self.request_timeout = request_timeout
        self.changes = StateChanges()
        self.recent: collections.deque[Sent] = collections.deque(maxlen=SUSPECTS)
        self._listing: ProcessList | None = None
        self._looked_at = 0  # announcements already looked into
        self._interrupted = False
        self._waiting: trio.CancelScope | None = None  # the part of the run interrupt() ends

    @property
    def process(self) -> str:
        return self.findings.process

    def interrupt(self, why: str) -> None:
        """End the run now, as it stands: stop sending, wait for nothing more, and let `run`
        return what was found so far, with `why` as the reason it stopped early."""
        self.findings.stopped = self.findings.stopped or why
        self._interrupted = True
        if self._waiting is not None:
            self._waiting.cancel()

    @contextlib.contextmanager
    def _interruptible(self) -> Iterator[None]:
        """A part of the run that interrupt() cuts short (parts are never nested)."""
        try:
            with trio.CancelScope() as self._waiting:
                if self._interrupted:
                    self._waiting.cancel()
                yield
        finally:
            self._waiting = None

    async def run(self, seconds: float) -> Findings:
        await self.client.subscribe("kernel.process.*", self.changes.sink)
        first = self._listing = await self._ps()
        self._looked_at = self.changes.count
        started = trio.current_time()
        with self._interruptible():
            await self._send_until(started + seconds)
        # The time spent sending: the wait for late crashes below sends nothing, and counting it
        # reported every run as a second longer than asked for.
        self.findings.seconds = trio.current_time() - started
        await routed(self.client)
        with self._interruptible(), trio.move_on_after(GRACE):
            await self.changes.after(self._looked_at)
        if await self._look():
            with self._interruptible():
                await self._wait_until_ready()
        self.findings.restarts = restarts_between(first, self._listing)
        self.findings.refused = await refusals(self.client)
        return self.findings

    async def _send_until(self, deadline: float) -> None:
        number = 0
        unchecked = 0
        while trio.current_time() < deadline and not self.findings.stopped:
            batch = await trio.to_thread.run_sync(self.source.batch, number,
                                                  abandon_on_cancel=True)
            number += 1
            for item in batch:
                if trio.current_time() >= deadline or self.findings.stopped:
                    break
                sent = Sent(item, await self._send(item))
                self.findings.count(sent)
                self.recent.append(sent)
                unchecked += 1
                if (sent.reply in _ALARMING or unchecked >= CHECK_EVERY
                        or self.changes.count > self._looked_at):
                    if await self._look():
                        await self._wait_until_ready()
                        self._looked_at = self.changes.count  # the restart's own announcements
                    unchecked = 0

    async def _send(self, item: FuzzInput) -> str | None:
        if item.target.verb is Verb.PUBLISH:
            await self.client.publish_raw(item.target.subject, item.payload)
            return None
        try:
            await self.client.request_raw(Kind.REQ, item.target.subject, item.payload,
                                          timeout=self.request_timeout)
        except CallError as exc:
            return exc.code
        return OK

    async def _ps(self) -> ProcessList:
        return await call(self.client, "kernel.ps", Empty(), ProcessList)

    async def _look(self) -> bool:
        """Compare kernel.ps with the last listing and note any crash; whether the process under
        test is among them, and so must be waited for."""
        await routed(self.client)
        self._looked_at = self.changes.count
        listing = await self._ps()
        crashes = crashes_between(self._listing, listing, tuple(self.recent))
        self._listing = listing
        if not crashes:
            return False
        self.findings.crashes += crashes
        self.recent.clear()
        return any(crash.process == self.process for crash in crashes)

    async def _wait_until_ready(self) -> None:
        with trio.move_on_after(RESTART_WAIT):
            while True:
                seen = self.changes.count
                listing = await self._ps()
                info = next(p for p in listing.processes if p.name == self.process)
                if listing.phase != "running":
                    self.findings.stopped = f"the image is {listing.phase}"
                    return
                if info.state == "ready":
                    return
                if info.state in ("failed", "stopped"):
                    self.findings.stopped = (f"{self.process} is {info.state} "
                                             f"({info.last_exit}): it will not be restarted")
                    return
                await self.changes.after(seen)
        self.findings.stopped = f"{self.process} was not ready again within {RESTART_WAIT:g} s"
