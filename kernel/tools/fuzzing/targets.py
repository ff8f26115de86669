"""What `carnel fuzz` sends a process, from what the image lets it receive.

A process's `subscribe` list says which publications can reach it and its `provide` list which
requests; the schema registry says what type each subject carries. A wildcard grant
(`vehicle.>`) is made concrete with the subjects seen on the bus (kernel.stats) and with the
declared topics it covers, a wildcard topic filled in with a made-up token. Subjects no schema
declares cannot be generated for, and are listed as not fuzzed, with the reason.

`kernel.*` is the kernel's own: publishing there would overwrite the process states every tool
reads, so it is never a target.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from carnel.ipc.schemas import registry
from carnel.ipc.subjects import matches

FILLER = "fuzz"  # stands for a wildcard's tokens in a made-up subject
KERNEL = "kernel"


class Verb(StrEnum):
    PUBLISH = "publish"  # to a subject the process subscribes to
    CALL = "call"  # a subject the process provides


@dataclass(frozen=True, slots=True)
class Target:
    verb: Verb
    subject: str
    message_type: type


@dataclass(frozen=True, slots=True)
class Plan:
    targets: tuple[Target, ...]
    not_fuzzed: tuple[str, ...] = field(default=())  # each: what, and why not


def filled(pattern: str) -> str:
    """A concrete subject that `pattern` matches: each wildcard becomes FILLER."""
    return ".".join(FILLER if token in ("*", ">") else token for token in pattern.split("."))


def meet(a: str, b: str) -> str | None:
    """A concrete subject both patterns match (wildcards filled with FILLER), or None if none
    does: `gps.*` and `*.status` meet at `gps.status`."""
    left, right = a.split("."), b.split(".")
    tokens = []
    for index in range(max(len(left), len(right))):
        x = left[index] if index < len(left) else None
        y = right[index] if index < len(right) else None
        if x == ">" or y == ">":
            rest = right[index:] if x == ">" else left[index:]
            if not rest:
                return None  # `>` stands for one token at least
            return ".".join([*tokens, filled(".".join(rest))])
        if x is None or y is None:
            return None
        if x == "*" or y == "*":
            tokens.append(FILLER if x == y else y if x == "*" else x)
        elif x == y:
            tokens.append(x)
        else:
            return None
    return ".".join(tokens)


def _is_kernel(subject: str) -> bool:
    return subject == KERNEL or subject.startswith(KERNEL + ".")


def _subscribed(grant: str, seen: Sequence[str]) -> list[str]:
    """Concrete subjects `grant` lets the process receive that we know something about."""
    if "*" not in grant and ">" not in grant:
        return [grant]
    found = [subject for subject in seen if matches(grant, subject)]
    found += [m for t in registry.topics() if (m := meet(grant, t.pattern)) is not None]
    found.append(filled(grant))
    return list(dict.fromkeys(found))


def _provided(grant: str, subject: str) -> bool:
    """Whether a `provide` grant (a prefix, or a pattern) covers requests to `subject`."""
    if subject == grant or subject.startswith(grant + "."):
        return True
    return ("*" in grant or ">" in grant) and matches(grant, subject)


def plan(subscribe: Iterable[str], provide: Iterable[str], seen: Iterable[str] = ()) -> Plan:
    """Targets for a process granted `subscribe` and `provide`; `seen`: subjects on the bus."""
    seen = sorted(seen)
    targets: dict[tuple[Verb, str], Target] = {}
    not_fuzzed: list[str] = []
    for grant in subscribe:
        typed = 0
        for subject in _subscribed(grant, seen):
            message_type = registry.topic_type(subject)
            if message_type is not None and not _is_kernel(subject):
                targets.setdefault((Verb.PUBLISH, subject),
                                   Target(Verb.PUBLISH, subject, message_type))
                typed += 1
        if not typed:
            not_fuzzed.append(f"subscribe {grant}: no schema declares what is published there"
                              if not _is_kernel(grant) else
                              f"subscribe {grant}: the kernel's own subjects")
    for prefix in provide:
        methods = [m for m in registry.methods()
                   if _provided(prefix, m.subject) and not _is_kernel(m.subject)]
        for m in methods:
            targets.setdefault((Verb.CALL, m.subject), Target(Verb.CALL, m.subject, m.request))
        if not methods:
            not_fuzzed.append(f"provide {prefix}: no schema declares a method under it")
    return Plan(tuple(targets.values()), tuple(not_fuzzed))
