"""Who may say what on the bus: the image's publish, subscribe, call and provide lists, enforced.

Default deny: a principal may do only what its lists grant. Subjects in the lists are patterns
(`vehicle.>`, `nav.*`). A subscription is allowed when one granted pattern covers it whole, so
no subscription can reach a subject its holder may not read. `provide` entries are prefixes, as
providers are looked up: a grant of `nav` allows providing `nav` and `nav.route`.

Decisions are cached per principal and subject; the caches are bounded, because a hostile peer
choosing subjects must not grow the kernel's memory.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from carnel.ipc.settings import OPERATOR
from carnel.ipc.subjects import covers, matches
from carnel.kernel.image import Image

CACHE_LIMIT = 4096


class Verb(StrEnum):
    PUBLISH = "publish"
    SUBSCRIBE = "subscribe"
    CALL = "call"
    PROVIDE = "provide"


@dataclass(frozen=True, slots=True)
class Grants:
    publish: tuple[str, ...] = ()
    subscribe: tuple[str, ...] = ()
    call: tuple[str, ...] = ()
    provide: tuple[str, ...] = ()

    def __or__(self, other: Grants) -> Grants:
        return Grants(*(tuple(dict.fromkeys(getattr(self, v) + getattr(other, v))) for v in Verb))


EVERYTHING = Grants(publish=(">",), subscribe=(">",), call=(">",), provide=(">",))


def _provides(grant: str, prefix: str) -> bool:
    if grant == prefix or prefix.startswith(grant + "."):
        return True
    return ("*" in grant or ">" in grant) and matches(grant, prefix)


_DECIDE = {
    Verb.PUBLISH: matches,
    Verb.SUBSCRIBE: covers,
    Verb.CALL: matches,
    Verb.PROVIDE: _provides,
}


class AccessPolicy:
    """One principal's grants, with its decisions cached."""

    __slots__ = ("name", "grants", "_cache")

    def __init__(self, name: str, grants: Grants) -> None:
        self.name = name
        self.grants = grants
        self._cache: dict[tuple[Verb, str], bool] = {}

    def allows(self, verb: Verb, subject: str) -> bool:
        key = (verb, subject)
        decision = self._cache.get(key)
        if decision is None:
            decide = _DECIDE[verb]
            decision = any(decide(grant, subject) for grant in getattr(self.grants, verb))
            if len(self._cache) >= CACHE_LIMIT:
                self._cache.clear()
            self._cache[key] = decision
        return decision


class AccessControl:
    """Every principal's policy: the image's processes by name, and operator sessions.

    An operator session (the `carnel` command, a developer's service run by hand) authenticates
    with the operator credential and gets the `[operator]` grants of the image under a name of
    its choosing; the names of the image's processes and of the kernel stay reserved for them.
    """

    def __init__(self, processes: dict[str, Grants], operator: Grants = Grants(), *,
                 reserved: frozenset[str] = frozenset({"kernel"})) -> None:
        self.processes = {name: AccessPolicy(name, grants) for name, grants in processes.items()}
        self.operator = operator
        self.reserved = reserved | frozenset(processes)

    @classmethod
    def allow_all(cls) -> AccessControl:
        """No access control: every name may do everything (benchmarks' baseline, unit tests)."""
        return _AllowAll()

    def policy(self, principal: str, name: str) -> AccessPolicy | None:
        """The policy for a peer that authenticated as `principal` and calls itself `name`;
        None when that name is not the principal's to use."""
        if principal == OPERATOR:
            return None if name in self.reserved else AccessPolicy(name, self.operator)
        if name != principal:
            return None
        return self.processes.get(principal)


def access_control(image: Image) -> AccessControl:
    """The image's access lists; a process with `role = "operator"` also gets the operator's."""
    operator = Grants(**{verb: getattr(image.operator, verb) for verb in Verb})
    processes = {}
    for spec in image.processes:
        grants = Grants(**{verb: getattr(spec, verb) for verb in Verb})
        processes[spec.name] = grants | operator if spec.role == "operator" else grants
    return AccessControl(processes, operator)


class _AllowAll(AccessControl):
    def __init__(self) -> None:
        super().__init__({}, EVERYTHING, reserved=frozenset())

    def policy(self, principal: str, name: str) -> AccessPolicy | None:
        return AccessPolicy(name, EVERYTHING)
