"""What a fuzzing run found: messages sent and replies by code per target, crashes with the inputs
sent just before them, restarts; and the report that says so."""
from __future__ import annotations

import collections
import shlex
from dataclasses import dataclass, field

import msgspec

from carnel.ipc.schemas.kernel import ProcessInfo, ProcessList
from carnel.kernel.tools.fuzzing.inputs import GENERATED, FuzzInput
from carnel.kernel.tools.fuzzing.targets import Target, Verb
from carnel.kernel.tools.messages import UNDECODABLE
from carnel.kernel.tools.tables import table

OK = "ok"
HEX_SHOWN = 80  # bytes of a payload shown in a report
SUSPECTS_SHOWN = 3  # inputs shown with each crash
CRASHES_SHOWN = 3  # crashes shown in full for each process and exit reason


@dataclass(frozen=True, slots=True)
class Sent:
    """An input as sent; `reply` is OK or an error code for a request, None for a publication."""

    input: FuzzInput
    reply: str | None = None


@dataclass(frozen=True, slots=True)
class Crash:
    """A process that exited abnormally during the run, and the inputs sent just before."""

    process: str
    how: str  # kernel.ps's last exit: "SIGABRT", "exit 1", "hung"...
    restarts_before: int
    restarts_after: int
    state: str
    suspects: tuple[Sent, ...]  # oldest first: the last one is the likeliest


@dataclass(slots=True)
class Tally:
    sent: int = 0
    generated: int = 0
    replies: collections.Counter[str] = field(default_factory=collections.Counter)


@dataclass(slots=True)
class Findings:
    process: str
    seed: int
    not_fuzzed: tuple[str, ...] = ()
    tallies: dict[Target, Tally] = field(default_factory=dict)
    crashes: list[Crash] = field(default_factory=list)
    restarts: dict[str, int] = field(default_factory=dict)
    refused: dict[str, int] = field(default_factory=dict)
    stopped: str = ""  # why the run ended before its time, if it did
    seconds: float = 0.0  # spent sending, not counting the wait for late crashes after it

    def count(self, sent: Sent) -> None:
        tally = self.tallies.setdefault(sent.input.target, Tally())
        tally.sent += 1
        tally.generated += sent.input.how == GENERATED
        if sent.reply is not None:
            tally.replies[sent.reply] += 1


def _failed(before: ProcessInfo | None, after: ProcessInfo) -> bool:
    if before is None:
        return False
    newly_failed = after.state == "failed" and before.state != "failed"
    return after.restarts > before.restarts or newly_failed


def crashes_between(before: ProcessList, after: ProcessList,
                    suspects: tuple[Sent, ...]) -> list[Crash]:
    """Processes that were restarted or failed between two kernel.ps listings."""
    earlier = {p.name: p for p in before.processes}
    return [Crash(process=p.name, how=p.last_exit or "?", state=p.state,
                  restarts_before=earlier[p.name].restarts, restarts_after=p.restarts,
                  suspects=suspects)
            for p in after.processes if _failed(earlier.get(p.name), p)]


def restarts_between(before: ProcessList, after: ProcessList) -> dict[str, int]:
    earlier = {p.name: p.restarts for p in before.processes}
    return {p.name: p.restarts - earlier[p.name] for p in after.processes
            if p.name in earlier and p.restarts > earlier[p.name]}


def reproduction(item: FuzzInput) -> str:
    """A `carnel pub`/`carnel call` line that sends exactly this payload again, or its bytes
    when JSON cannot carry them (a mutated payload, a NaN)."""
    message_type = item.target.message_type
    try:
        text = msgspec.json.encode(msgspec.msgpack.decode(item.payload, type=message_type))
        exact = msgspec.msgpack.encode(msgspec.json.decode(text, type=message_type)) == item.payload
    except UNDECODABLE:
        exact = False
    if exact:
        verb = "pub" if item.target.verb is Verb.PUBLISH else "call"
        return f"carnel {verb} {item.target.subject} {shlex.quote(text.decode())}"
    shown = item.payload[:HEX_SHOWN].hex()
    more = f"... ({len(item.payload)} bytes)" if len(item.payload) > HEX_SHOWN else ""
    return f"msgpack {shown or '(empty)'}{more}"


def _replies(tally: Tally) -> str:
    return ", ".join(f"{code} {count}" for code, count in sorted(tally.replies.items())) or "-"


def _crash_lines(crash: Crash) -> list[str]:
    lines = [f"  {crash.process} {crash.how}, then {crash.state} (restarts {crash.restarts_before}"
             f" -> {crash.restarts_after}), after:"]
    shown = crash.suspects[-SUSPECTS_SHOWN:]
    for sent in reversed(shown):
        reply = f" -> {sent.reply}" if sent.reply else ""
        lines.append(f"    {sent.input.target.verb} {sent.input.target.subject} "
                     f"({sent.input.how}){reply}")
        lines.append(f"      {reproduction(sent.input)}")
    if len(crash.suspects) > len(shown):
        lines.append(f"    and {len(crash.suspects) - len(shown)} sent before those")
    if not crash.suspects:
        lines.append("    nothing since the previous crash: it failed on its way back up")
    return lines


def format_report(f: Findings) -> str:
    sent = sum(t.sent for t in f.tallies.values())
    lines = [f"carnel fuzz: {f.process} for {f.seconds:.1f} s, seed {f.seed}: {sent} messages"]
    rows = [[target.subject, str(target.verb), str(t.sent), str(t.generated),
             str(t.sent - t.generated), _replies(t)] for target, t in f.tallies.items()]
    lines.append(table(["SUBJECT", "VERB", "SENT", "GENERATED", "MUTATED", "REPLIES"], rows,
                       indent="  "))
    lines += [f"not fuzzed: {reason}" for reason in f.not_fuzzed]
    if f.refused:
        lines.append("the kernel refused some of what was sent, so it did not reach "
                     f"{f.process}: {', '.join(f'{k} {v}' for k, v in sorted(f.refused.items()))}")
    groups: dict[tuple[str, str], list[Crash]] = {}
    for crash in f.crashes:
        groups.setdefault((crash.process, crash.how), []).append(crash)
    for (process, how), crashes in groups.items():
        lines.append(f"\n{process} crashed {len(crashes)} time{'s' if len(crashes) > 1 else ''}"
                     f" ({how}), last input first:")
        for crash in crashes[:CRASHES_SHOWN]:
            lines += _crash_lines(crash)
        if len(crashes) > CRASHES_SHOWN:
            lines.append(f"  and {len(crashes) - CRASHES_SHOWN} more like these")
    if f.restarts:
        lines.append("\nrestarts during the run: "
                     + ", ".join(f"{name} +{count}" for name, count in sorted(f.restarts.items())))
    if f.stopped:
        lines.append(f"stopped early: {f.stopped}")
    found = len(f.crashes)
    lines.append(f"\n{found} crash{'es' if found != 1 else ''} found" if found else
                 "\nno crashes found")
    return "\n".join(lines)
