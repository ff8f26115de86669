"""The signal table: what each source last said, which source wins, and what to publish.

Pure: no I/O and no clock. Every method that depends on time takes `now_ns` from the caller's
monotonic clock; a report's own `timestamp_ns` (when the driver read it) is carried through but
never used to judge freshness, so a source with a wrong clock cannot keep its values fresh.

Per signal:
- the winner is the best-ranked fresh source; when none is fresh, the signal is stale and shows
  the newest value any source gave;
- a change is published only when the value moved more than the deadband (any change for
  booleans and strings), or the source, unit or staleness changed;
- publications are at least `min_interval` apart; a change held back by that is published by
  the first `poll` after the interval ends, unless a later report already published it;
- a source's value is fresh until `max_age` passes without a report from it, the source is
  lost (its device unavailable), or it says it no longer knows the value (`mark_stale`).
"""
from __future__ import annotations

import collections
import math
from dataclasses import dataclass

import msgspec

from carnel.ipc.schemas.vehicle import Signal, SignalValues
from carnel.services.vehicle.config import SignalRules, ValueType, VehicleConfig
from carnel.services.vehicle.paths import PathError, check_path

# Why a report was refused; the counts are in SignalTable.rejects.
UNLISTED_SOURCE = "unlisted_source"
WRONG_TYPE = "wrong_type"
NOT_FINITE = "not_finite"
WRONG_UNIT = "wrong_unit"
BAD_PATH = "bad_path"
TOO_MANY_SIGNALS = "too_many_signals"

_TYPES: dict[ValueType, frozenset[type]] = {
    "number": frozenset({int, float}),
    "boolean": frozenset({bool}),
    "string": frozenset({str}),
}
_TYPE_OF: dict[type, ValueType] = {int: "number", float: "number", bool: "boolean", str: "string"}
_UNTYPED: frozenset[type] = frozenset()
_NEVER = math.inf
_INF = math.inf


@dataclass(frozen=True, slots=True)
class Rejection:
    """The latest refused report, for a log line that shows an example of what went wrong."""

    reason: str
    path: str
    source: str


@dataclass(slots=True, eq=False)
class _Entry:
    """What one source last said about one signal."""

    source: str
    rank: int  # lower wins
    signal: Signal
    received_ns: int
    fresh: bool = True


class _SignalState:
    """One signal: its rules, what each source said, the winner, and what was published last."""

    __slots__ = ("path", "sources", "types", "numeric", "unit", "deadband",
                 "min_interval_ns", "max_age_ns", "entries", "winner", "published",
                 "published_ns", "held")

    def __init__(self, path: str, rules: SignalRules) -> None:
        self.path = path
        self.sources = rules.sources
        self.types = _TYPES[rules.type] if rules.type else _UNTYPED
        self.numeric = rules.type == "number"
        self.unit = rules.unit  # "" until the first report that names one
        self.deadband = rules.deadband
        self.min_interval_ns = rules.min_interval_ns
        self.max_age_ns = rules.max_age_ns
        self.entries: dict[str, _Entry] = {}
        self.winner: _Entry | None = None
        self.published: Signal | None = None
        self.published_ns = 0
        self.held = False  # a change waits for the rate limit's interval to end

    def rank_of(self, source: str) -> int | None:
        if self.sources is None:
            return len(self.entries)
        try:
            return self.sources.index(source)
        except ValueError:
            return None

    def current(self) -> Signal:
        """The winner's value as the broker publishes it: its source, this signal's unit."""
        winner = self.winner
        reported = winner.signal
        stale = not winner.fresh
        if (reported.source == winner.source and reported.unit == self.unit
                and reported.stale == stale):
            return reported
        return Signal(path=self.path, value=reported.value, unit=self.unit,
                      timestamp_ns=reported.timestamp_ns, source=winner.source, stale=stale)


class SignalTable:
    """Every signal's sources and the state last published; see the module docstring."""

    def __init__(self, config: VehicleConfig) -> None:
        self._config = config
        self._signals: dict[str, _SignalState] = {}
        self._by_source: dict[str, list[_SignalState]] = {}
        self._held: dict[str, _SignalState] = {}
        # No fresh entry can go stale before this, so `poll` skips the scan until then: a live
        # report only moves its entry's deadline later, and every other deadline is watched.
        self._next_expiry_ns: float = _NEVER
        self.rejects: collections.Counter[str] = collections.Counter()
        self.last_rejection: Rejection | None = None

    # -- input ----------------------------------------------------------------------------------

    def report(self, signal: Signal, source: str, now_ns: int, age_ns: int = 0) -> Signal | None:
        """Take `source`'s value for `signal.path`; returns what to publish now, if anything.

        `source` is the sender the bus authenticated, never the payload's own `source` field.
        `age_ns` is how long ago the value was sent, for one the bus kept and replays to a new
        subscriber: a value older than the signal's max age is taken as stale at once.
        """
        state = self._signals.get(signal.path)
        if state is None:
            state = self._add_signal(signal.path, source)
            if state is None:
                return None
        entry = state.entries.get(source)
        if entry is None and state.rank_of(source) is None:
            return self._reject(UNLISTED_SOURCE, state.path, source)
        value = signal.value
        kind = type(value)
        if kind not in state.types:
            signal = self._conform(state, signal, source)
            if signal is None:
                return None
            value = signal.value
            kind = type(value)
        if kind is float and not -_INF < value < _INF:
            return self._reject(NOT_FINITE, state.path, source)
        if signal.unit != state.unit and not self._adopt_unit(state, signal.unit, source):
            return None
        received_ns = now_ns - age_ns
        if entry is None:
            entry = self._add_entry(state, source, signal, received_ns)
        else:
            entry.signal = signal
            entry.received_ns = received_ns
            if not entry.fresh:
                entry.fresh = True
                self._watch_expiry(received_ns + state.max_age_ns)
        if age_ns:
            if age_ns > state.max_age_ns:
                entry.fresh = False
                self._elect(state)
                return self._offer(state, now_ns)
            # A replayed value can expire before the entry's earlier, live deadline.
            self._watch_expiry(received_ns + state.max_age_ns)
        winner = state.winner
        if winner is not entry:
            if winner is not None and winner.fresh and winner.rank < entry.rank:
                return None
            state.winner = entry
        return self._offer(state, now_ns)

    def mark_stale(self, path: str, source: str, now_ns: int) -> Signal | None:
        """`source` no longer knows `path` (a GPS receiver that lost its fix)."""
        state = self._signals.get(path)
        if state is None:
            return None
        entry = state.entries.get(source)
        if entry is None or not entry.fresh:
            return None
        entry.fresh = False
        if entry is not state.winner:
            return None
        self._elect(state)
        return self._offer(state, now_ns)

    def source_lost(self, source: str, now_ns: int) -> list[Signal]:
        """Every value `source` gave is stale at once (its device became unavailable)."""
        publish = []
        for state in self._by_source.get(source, ()):
            entry = state.entries[source]
            if entry.fresh:
                entry.fresh = False
                if entry is state.winner:
                    self._elect(state)
                    signal = self._offer(state, now_ns)
                    if signal is not None:
                        publish.append(signal)
        return publish

    def poll(self, now_ns: int) -> list[Signal]:
        """What to publish because time passed: signals gone stale, held-back changes now due.

        Call it periodically; it is cheap while nothing can have expired.
        """
        publish: list[Signal] = []
        if now_ns > self._next_expiry_ns:
            self._expire(now_ns, publish)
        if self._held:
            held, self._held = self._held, {}
            for state in held.values():
                if not state.held:
                    continue  # published since by a report
                if now_ns - state.published_ns >= state.min_interval_ns:
                    state.held = False
                    signal = self._offer(state, now_ns)
                    if signal is not None:
                        publish.append(signal)
                else:
                    self._held[state.path] = state
        return publish

    # -- output ---------------------------------------------------------------------------------

    def values(self, paths: list[str]) -> SignalValues:
        """The current value of each path (all known signals when `paths` is empty).

        This is the winner's latest value, which may be newer than the one last published when
        it moved less than the deadband or the rate limit holds it back.
        """
        if not paths:
            return SignalValues(signals=[state.current() for state in self._signals.values()
                                         if state.winner is not None])
        signals, unknown = [], []
        for path in paths:
            state = self._signals.get(path)
            if state is None or state.winner is None:
                unknown.append(path)
            else:
                signals.append(state.current())
        return SignalValues(signals=signals, unknown=unknown)

    # -- the rules ------------------------------------------------------------------------------

    def _offer(self, state: _SignalState, now_ns: int) -> Signal | None:
        """Publish the signal's current state if it changed enough and the rate limit allows."""
        published = state.published
        if published is not None:
            winner = state.winner
            value, last = winner.signal.value, published.value
            moved = abs(value - last) > state.deadband if state.numeric else value != last
            if (not moved and published.source == winner.source
                    and published.stale == (not winner.fresh) and published.unit == state.unit):
                return None
            if now_ns - state.published_ns < state.min_interval_ns:
                if not state.held:
                    state.held = True
                    self._held[state.path] = state
                return None
        signal = state.current()
        state.published = signal
        state.published_ns = now_ns
        state.held = False
        return signal

    def _elect(self, state: _SignalState) -> None:
        """Choose the best-ranked fresh source, else the one that reported last."""
        best = None
        for entry in state.entries.values():
            if best is None:
                best = entry
            elif entry.fresh:
                if not best.fresh or entry.rank < best.rank:
                    best = entry
            elif not best.fresh and (entry.received_ns > best.received_ns or (
                    entry.received_ns == best.received_ns and entry.rank < best.rank)):
                best = entry
        state.winner = best

    def _expire(self, now_ns: int, publish: list[Signal]) -> None:
        next_expiry = _NEVER
        for state in self._signals.values():
            max_age = state.max_age_ns
            winner_expired = False
            for entry in state.entries.values():
                if entry.fresh:
                    expires = entry.received_ns + max_age
                    if now_ns > expires:
                        entry.fresh = False
                        winner_expired = winner_expired or entry is state.winner
                    elif expires < next_expiry:
                        next_expiry = expires
            if winner_expired:
                self._elect(state)
                signal = self._offer(state, now_ns)
                if signal is not None:
                    publish.append(signal)
        self._next_expiry_ns = next_expiry

    def _watch_expiry(self, expires_ns: int) -> None:
        if expires_ns < self._next_expiry_ns:
            self._next_expiry_ns = expires_ns

    # -- first sight of a signal, a source, a type, a unit ---------------------------------------

    def _add_signal(self, path: str, source: str) -> _SignalState | None:
        if len(self._signals) >= self._config.max_signals:
            return self._reject(TOO_MANY_SIGNALS, path, source)
        if path not in self._config.signals:  # the config's own paths were checked already
            try:
                check_path(path)
            except PathError:
                return self._reject(BAD_PATH, path, source)
        state = _SignalState(path, self._config.rules_for(path))
        self._signals[path] = state
        return state

    def _add_entry(self, state: _SignalState, source: str, signal: Signal,
                   received_ns: int) -> _Entry:
        entry = _Entry(source, state.rank_of(source), signal, received_ns)
        state.entries[source] = entry
        self._by_source.setdefault(source, []).append(state)
        self._watch_expiry(received_ns + state.max_age_ns)
        return entry

    def _conform(self, state: _SignalState, signal: Signal, source: str) -> Signal | None:
        """The report with a value of the signal's type, if it has or can take one."""
        value = signal.value
        kind = type(value)
        value_type = _TYPE_OF.get(kind)
        if not state.types and value_type is not None:
            state.types = _TYPES[value_type]
            state.numeric = value_type == "number"
            return signal
        if state.types is _TYPES["boolean"] and kind is int and (value == 0 or value == 1):
            # A DBC has no booleans: a one-bit flag arrives as 0 or 1.
            return msgspec.structs.replace(signal, value=bool(value))
        return self._reject(WRONG_TYPE, state.path, source)

    def _adopt_unit(self, state: _SignalState, unit: str, source: str) -> bool:
        if not unit:
            return True  # the source does not say; the signal's unit stands
        if state.unit:
            self._reject(WRONG_UNIT, state.path, source)
            return False
        state.unit = unit
        return True

    def _reject(self, reason: str, path: str, source: str) -> None:
        self.rejects[reason] += 1
        self.last_rejection = Rejection(reason, path, source)
