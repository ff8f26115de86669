"""Source priority and staleness against a reference model that recomputes everything from scratch.

The reference keeps, per signal and source, the last value, when it came and whether the source
withdrew it; after each poll the winner must be the best-ranked fresh source, or with none fresh
the newest value, stale. The table gets there incrementally; the reference never does.
"""
from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from vehicle_tables import MS, S, speed, table

RANKED = "Vehicle.Speed"  # sources a, b in that order; c is not listed
ANY = "Vehicle.Powertrain.CombustionEngine.Speed"  # not named: any source, first heard first
PATHS = (RANKED, ANY)
MAX_AGE_NS = {RANKED: 1 * S, ANY: 2 * S}
SOURCES = ("a", "b", "c")


@dataclass
class Heard:
    value: int
    at_ns: int
    rank: int
    withdrawn: bool = False


class Reference:
    def __init__(self) -> None:
        self.heard: dict[str, dict[str, Heard]] = {path: {} for path in PATHS}

    def rank(self, path: str, source: str) -> int | None:
        if path == RANKED:
            return {"a": 0, "b": 1}.get(source)
        known = self.heard[path]
        return known[source].rank if source in known else len(known)

    def report(self, path: str, source: str, value: int, now_ns: int) -> bool:
        rank = self.rank(path, source)
        if rank is None:
            return False
        self.heard[path][source] = Heard(value, now_ns, rank)
        return True

    def fresh(self, path: str, heard: Heard, now_ns: int) -> bool:
        return not heard.withdrawn and now_ns - heard.at_ns <= MAX_AGE_NS[path]

    def shown(self, path: str, now_ns: int) -> tuple[int, str, bool] | None:
        """(value, source, stale) as of `now_ns`, or None when nothing was ever heard."""
        heard = self.heard[path]
        fresh = [s for s, h in heard.items() if self.fresh(path, h, now_ns)]
        if fresh:
            best = min(fresh, key=lambda s: heard[s].rank)
            return heard[best].value, best, False
        if not heard:
            return None
        newest = max(heard, key=lambda s: (heard[s].at_ns, -heard[s].rank))
        return heard[newest].value, newest, True


class SignalTableMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.table = table(signals={RANKED: {"sources": ["a", "b"], "max_age_s": 1.0}},
                           defaults={"max_age_s": 2.0})
        self.reference = Reference()
        self.now_ns = 0
        self.retained: dict[str, tuple[int, str, bool]] = {}
        self.refused = 0

    def publish(self, signals) -> None:
        for signal in signals:
            if signal is not None:
                self.retained[signal.path] = (signal.value, signal.source, signal.stale)

    @rule(path=st.sampled_from(PATHS), source=st.sampled_from(SOURCES), value=st.integers(0, 3))
    def report(self, path, source, value):
        published = self.table.report(speed(value, path=path, unit=""), source, self.now_ns)
        if self.reference.report(path, source, value, self.now_ns):
            self.publish([published])
        else:
            self.refused += 1
            assert published is None

    @rule(path=st.sampled_from(PATHS), source=st.sampled_from(SOURCES), value=st.integers(0, 3),
          age_ms=st.integers(0, 2500))
    def replay_kept_value(self, path, source, value, age_ms):
        age_ns = age_ms * MS
        published = self.table.report(speed(value, path=path, unit=""), source, self.now_ns,
                                      age_ns)
        if self.reference.report(path, source, value, self.now_ns - age_ns):
            self.publish([published])
        else:
            self.refused += 1
            assert published is None

    @rule(ms=st.integers(0, 1500))
    def wait(self, ms):
        self.now_ns += ms * MS

    @rule(source=st.sampled_from(SOURCES))
    def lose_source(self, source):
        self.publish(self.table.source_lost(source, self.now_ns))
        for heard in self.reference.heard.values():
            if source in heard:
                heard[source].withdrawn = True

    @rule(path=st.sampled_from(PATHS), source=st.sampled_from(SOURCES))
    def withdraw(self, path, source):
        self.publish([self.table.mark_stale(path, source, self.now_ns)])
        if source in self.reference.heard[path]:
            self.reference.heard[path][source].withdrawn = True

    @rule()
    def poll(self):
        self.publish(self.table.poll(self.now_ns))
        for path in PATHS:
            answer = self.table.values([path])
            expected = self.reference.shown(path, self.now_ns)
            if expected is None:
                assert answer.unknown == [path]
            else:
                (signal,) = answer.signals
                assert (signal.value, signal.source, signal.stale) == expected

    @invariant()
    def retained_value_is_the_current_one(self):
        # Without deadband or rate limit, every change is published the moment it happens.
        for signal in self.table.values([]).signals:
            assert self.retained[signal.path] == (signal.value, signal.source, signal.stale)

    @invariant()
    def refusals_are_counted(self):
        assert self.table.rejects.total() == self.refused


TestSignalTable = SignalTableMachine.TestCase
