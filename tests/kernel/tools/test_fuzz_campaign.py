"""A fuzzing run's course on a fake kernel and trio's MockClock: how long it says it sent for, and
what an interruption leaves of it."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import msgspec
import pytest
import trio

from carnel.ipc.schemas.bus import BusStats
from carnel.ipc.schemas.kernel import ProcessInfo, ProcessList
from carnel.ipc.schemas.vehicle import Signal
from carnel.ipc.wire import Kind
from carnel.kernel.tools.fuzzing.campaign import GRACE, Campaign
from carnel.kernel.tools.fuzzing.findings import Findings, format_report
from carnel.kernel.tools.fuzzing.inputs import GENERATED, FuzzInput
from carnel.kernel.tools.fuzzing.targets import Target, Verb

SPEED = Target(Verb.PUBLISH, "vehicle.Speed", Signal)
SEND_S = 0.01  # what each publication takes, in the fake kernel's time


@dataclass
class Reply:
    frames: list[bytes]


class FakeKernel:
    """The bus client a campaign talks through: publications take SEND_S each, kernel.ps always
    shows the process under test ready, and `after_each_publication` runs after each one."""

    name = "fuzz-1"

    def __init__(self) -> None:
        self.published = 0
        self.after_each_publication: Callable[[int], None] = lambda _count: None

    async def subscribe(self, _pattern: str, _sink) -> None:
        pass

    async def publish_raw(self, _subject: str, _payload: bytes) -> None:
        await trio.sleep(SEND_S)
        self.published += 1
        self.after_each_publication(self.published)

    async def request_raw(self, kind: int, subject: str, _payload: bytes, *,
                          timeout: float) -> Reply:
        if kind == Kind.UNSUB:  # "routed": answered once what came before was routed
            return Reply([b"", b""])
        if subject == "kernel.ps":
            return Reply([b"", msgspec.msgpack.encode(ProcessList(
                image="test", hot_path="pure", phase="running", processes=[ProcessInfo(
                    name="weather", state="ready", pid=1, uptime_s=1.0, restarts=0,
                    last_exit=None, rss_kb=None)]))])
        if subject == "kernel.stats":
            return Reply([b"", msgspec.msgpack.encode(BusStats(
                implementation="pure", processes=[], subjects=[]))])
        raise AssertionError(f"unexpected request {subject}")


class Inputs:
    """Batches of one valid publication, repeated."""

    def batch(self, _number: int) -> list[FuzzInput]:
        return [FuzzInput(SPEED, msgspec.msgpack.encode(Signal(path="Vehicle.Speed", value=1.0)),
                          GENERATED)] * 50


def campaign(kernel: FakeKernel) -> Campaign:
    return Campaign(kernel, Findings(process="weather", seed=1), Inputs(), request_timeout=2)


async def test_the_reported_duration_is_the_time_spent_sending(autojump_clock):
    kernel = FakeKernel()
    started = trio.current_time()
    findings = await campaign(kernel).run(5.0)
    assert findings.seconds == pytest.approx(5.0, abs=SEND_S)
    # The watch for late crashes comes after, and is not reported as sending.
    assert trio.current_time() - started == pytest.approx(5.0 + GRACE, abs=SEND_S)
    assert format_report(findings).startswith(
        f"carnel fuzz: weather for 5.0 s, seed 1: {kernel.published} messages")


async def test_an_interrupted_run_ends_at_once_with_what_it_did_so_far(autojump_clock):
    kernel = FakeKernel()
    run = campaign(kernel)

    def interrupt_after_30(count: int) -> None:
        if count == 30:
            run.interrupt("interrupted by SIGINT")

    kernel.after_each_publication = interrupt_after_30
    started = trio.current_time()
    findings = await run.run(60.0)
    assert trio.current_time() - started < GRACE  # no wait for late crashes, nor for the rest
    assert sum(tally.sent for tally in findings.tallies.values()) == 30
    assert findings.seconds == pytest.approx(30 * SEND_S)
    report = format_report(findings)
    assert "weather for 0.3 s, seed 1: 30 messages" in report
    assert "stopped early: interrupted by SIGINT" in report and "no crashes found" in report


async def test_an_interruption_before_sending_begins_sends_nothing(autojump_clock):
    kernel = FakeKernel()
    run = campaign(kernel)
    run.interrupt("interrupted by SIGTERM")
    findings = await run.run(60.0)
    assert kernel.published == 0 and findings.seconds == 0
    assert findings.stopped == "interrupted by SIGTERM"
