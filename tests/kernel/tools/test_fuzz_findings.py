"""What a fuzzing run found, and the report that says so."""
from __future__ import annotations

import msgspec

from carnel.ipc.schemas.kernel import ProcessInfo, ProcessList
from carnel.ipc.schemas.vehicle import Signal, SignalQuery
from carnel.kernel.tools.fuzzing.findings import (
    OK, Findings, Sent, crashes_between, format_report, reproduction, restarts_between)
from carnel.kernel.tools.fuzzing.inputs import GENERATED, FuzzInput
from carnel.kernel.tools.fuzzing.targets import Target, Verb

GET = Target(Verb.CALL, "vehicle.get", SignalQuery)
SPEED = Target(Verb.PUBLISH, "vehicle.Speed", Signal)


def listing(**processes: tuple[str, int, str | None]) -> ProcessList:
    return ProcessList(image="test", hot_path="pure", phase="running", processes=[
        ProcessInfo(name=name, state=state, pid=1, uptime_s=1.0, restarts=restarts,
                    last_exit=last_exit, rss_kb=None)
        for name, (state, restarts, last_exit) in processes.items()])


def generated(target: Target, message) -> FuzzInput:
    return FuzzInput(target, msgspec.msgpack.encode(message), GENERATED)


def test_a_restart_or_a_new_failure_is_a_crash_and_nothing_else_is():
    suspects = (Sent(generated(GET, SignalQuery(paths=[""])), "unavailable"),)
    before = listing(a=("ready", 0, None), b=("ready", 2, "exit 1"), c=("ready", 0, None),
                     d=("failed", 1, "exit 3"))
    after = listing(a=("backoff", 1, "SIGABRT"), b=("ready", 2, "exit 1"),
                    c=("failed", 0, "hung"), d=("failed", 1, "exit 3"))
    crashes = crashes_between(before, after, suspects)
    assert [(c.process, c.how, c.restarts_before, c.restarts_after) for c in crashes] == [
        ("a", "SIGABRT", 0, 1), ("c", "hung", 0, 0)]
    assert crashes[0].suspects == suspects
    assert restarts_between(before, after) == {"a": 1}


def test_a_generated_message_is_reproduced_as_a_carnel_command():
    item = generated(GET, SignalQuery(paths=["", "it's"]))
    assert reproduction(item) == (
        "carnel call vehicle.get "
        "'{\"type\":\"signal_query\",\"paths\":[\"\",\"it'\"'\"'s\"]}'")
    speed = generated(SPEED, Signal(path="a", value=1.5))
    assert reproduction(speed).startswith("carnel pub vehicle.Speed '{")


def test_what_json_cannot_carry_is_shown_as_bytes():
    nan = generated(SPEED, Signal(path="a", value=float("nan")))
    assert reproduction(nan).startswith("msgpack 87a4")
    cut = FuzzInput(GET, b"\x82\xa4ty", "cut to 4 of 26 bytes")
    assert reproduction(cut) == "msgpack 82a47479"
    assert reproduction(FuzzInput(GET, b"x" * 100, "random bytes")).endswith("... (100 bytes)")


def test_the_report_counts_replies_and_shows_each_crash_with_what_came_before():
    findings = Findings(process="fragile", seed=5, seconds=3.0,
                        not_fuzzed=("provide fragile: no schema declares a method under it",))
    fatal = Sent(generated(GET, SignalQuery(paths=[""])), "unavailable")
    for sent in (Sent(generated(GET, SignalQuery()), OK), fatal,
                 Sent(FuzzInput(SPEED, b"\xc0", "$ = nil"))):
        findings.count(sent)
    before = listing(fragile=("ready", 0, None))
    after = listing(fragile=("backoff", 1, "SIGABRT"))
    findings.crashes = crashes_between(before, after, (fatal,)) * 4
    findings.restarts = restarts_between(before, after)
    text = format_report(findings)
    assert text.startswith("carnel fuzz: fragile for 3.0 s, seed 5: 3 messages")
    assert "vehicle.get    call     2     2          0        ok 1, unavailable 1" in text
    assert "not fuzzed: provide fragile" in text
    assert "fragile crashed 4 times (SIGABRT), last input first:" in text
    assert "call vehicle.get (generated) -> unavailable" in text
    assert "carnel call vehicle.get '{\"type\":\"signal_query\",\"paths\":[\"\"]}'" in text
    assert "and 1 more like these" in text
    assert text.endswith("4 crashes found")


def test_a_clean_run_says_so():
    assert format_report(Findings(process="sturdy", seed=1)).endswith("no crashes found")
