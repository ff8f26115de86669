"""`carnel top`'s arithmetic: rates and drops per subject and per process, from two successive
kernel.stats snapshots."""
from __future__ import annotations

from dataclasses import dataclass

from carnel.ipc.schemas.bus import BusStats
from carnel.kernel.tools.tables import table


@dataclass(frozen=True, slots=True)
class SubjectRate:
    subject: str
    msgs_per_s: float
    bytes_per_s: float
    drops_per_s: float
    msgs: int
    drops: int
    subscribers: int
    retained: bool


@dataclass(frozen=True, slots=True)
class ProcessRate:
    name: str
    msgs_in_per_s: float  # what it published
    msgs_out_per_s: float  # what the kernel delivered to it
    bytes_in_per_s: float
    bytes_out_per_s: float
    drops_per_s: float
    drops: int
    refused: int


@dataclass(frozen=True, slots=True)
class Rates:
    seconds: float
    implementation: str
    subjects: list[SubjectRate]
    processes: list[ProcessRate]


def _grown(now: int, then: int) -> int:
    """How much a counter grew; a smaller one started again from zero (a process that
    reconnected after a restart gets new counters)."""
    return now - then if now >= then else now


def rates(before: BusStats, after: BusStats, seconds: float) -> Rates:
    """Rates over the `seconds` between two snapshots; busiest subjects and processes first."""
    old_subjects = {s.subject: s for s in before.subjects}
    subjects = []
    for s in after.subjects:
        old = old_subjects.get(s.subject)
        subjects.append(SubjectRate(
            subject=s.subject,
            msgs_per_s=_grown(s.msgs, old.msgs if old else 0) / seconds,
            bytes_per_s=_grown(s.bytes, old.bytes if old else 0) / seconds,
            drops_per_s=_grown(s.drops, old.drops if old else 0) / seconds,
            msgs=s.msgs, drops=s.drops, subscribers=s.subscribers, retained=s.retained))
    old_processes = {p.name: p for p in before.processes}
    processes = []
    for p in after.processes:
        old = old_processes.get(p.name)
        processes.append(ProcessRate(
            name=p.name,
            msgs_in_per_s=_grown(p.msgs_in, old.msgs_in if old else 0) / seconds,
            msgs_out_per_s=_grown(p.msgs_out, old.msgs_out if old else 0) / seconds,
            bytes_in_per_s=_grown(p.bytes_in, old.bytes_in if old else 0) / seconds,
            bytes_out_per_s=_grown(p.bytes_out, old.bytes_out if old else 0) / seconds,
            drops_per_s=_grown(p.drops, old.drops if old else 0) / seconds,
            drops=p.drops, refused=sum(p.rejects.values())))
    subjects.sort(key=lambda s: (-s.msgs_per_s, s.subject))
    processes.sort(key=lambda p: (-(p.msgs_in_per_s + p.msgs_out_per_s), p.name))
    return Rates(seconds=seconds, implementation=after.implementation, subjects=subjects,
                 processes=processes)


def si(value: float) -> str:
    """A rate in 3 significant figures with a k/M/G suffix: 950, 1.23k, 45.6M."""
    for suffix, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= scale:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:.3g}" if value else "0"


def format_rates(r: Rates) -> str:
    subjects = table(
        ["SUBJECT", "MSG/S", "BYTE/S", "DROP/S", "MSGS", "DROPS", "SUBSCRIBERS", "RETAINED"],
        [[s.subject, si(s.msgs_per_s), si(s.bytes_per_s), si(s.drops_per_s), str(s.msgs),
          str(s.drops), str(s.subscribers), "yes" if s.retained else "-"] for s in r.subjects])
    processes = table(
        ["PROCESS", "PUB/S", "DELIVERED/S", "BYTE/S IN", "BYTE/S OUT", "DROP/S", "DROPS",
         "REFUSED"],
        [[p.name, si(p.msgs_in_per_s), si(p.msgs_out_per_s), si(p.bytes_in_per_s),
          si(p.bytes_out_per_s), si(p.drops_per_s), str(p.drops), str(p.refused)]
         for p in r.processes])
    return (f"carnel top: rates over {r.seconds:.1f} s, hot path {r.implementation}\n\n"
            f"{subjects}\n\n{processes}")
