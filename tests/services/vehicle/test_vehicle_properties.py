"""Deadband and rate limit as properties: the last value is never lost, the limit never broken."""
from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st
from vehicle_tables import MS, speed, table

from carnel.ipc.schemas.vehicle import Value


@dataclass(frozen=True)
class Report:
    after_ns: int
    value: Value


@dataclass(frozen=True)
class Poll:
    after_ns: int


def steps(values: st.SearchStrategy[Value]) -> st.SearchStrategy[list[Report | Poll]]:
    gaps = st.integers(0, 300 * MS)
    return st.lists(st.one_of(st.builds(Report, gaps, values), st.builds(Poll, gaps)),
                    min_size=1, max_size=60)


numbers = st.one_of(st.integers(-1000, 1000),
                    st.floats(-1000, 1000, allow_nan=False, allow_infinity=False))
deadbands = st.one_of(st.just(0.0), st.floats(0, 50, allow_nan=False))
intervals_ns = st.one_of(st.just(0), st.integers(1, 500 * MS))


@dataclass(frozen=True)
class Published:
    at_ns: int
    value: Value
    latest: Value  # the value last reported when this was published


def replay(signals, script: list[Report | Poll], interval_ns: int) -> tuple[list[Published], Value]:
    """Run the script, then poll once the rate limit can no longer hold anything back."""
    published: list[Published] = []
    now, latest = 0, None
    for step in script:
        now += step.after_ns
        if isinstance(step, Report):
            latest = step.value
            out = [signals.report(speed(step.value, unit=""), "can", now)]
        else:
            out = signals.poll(now)
        published += [Published(now, s.value, latest) for s in out if s is not None]
    now += interval_ns
    published += [Published(now, s.value, latest) for s in signals.poll(now)]
    return published, latest


def table_for(deadband: float, interval_ns: int, type: str):
    return table(signals={"Vehicle.Speed": {
        "type": type, "deadband": deadband, "min_interval_s": interval_ns / 1e9,
        "max_age_s": 1e6}})


def assert_rate_limited(published: list[Published], interval_ns: int) -> None:
    for before, after in pairwise(published):
        assert after.at_ns - before.at_ns >= interval_ns


@given(steps(numbers), deadbands, intervals_ns)
def test_numbers_end_within_the_deadband_of_the_last_value_and_respect_the_rate_limit(
        script, deadband, interval_ns):
    published, latest = replay(table_for(deadband, interval_ns, "number"), script, interval_ns)
    assert_rate_limited(published, interval_ns)
    for item in published:
        assert item.value == item.latest  # what goes out is always the newest value
    for before, after in pairwise(published):
        assert abs(after.value - before.value) > deadband
    if latest is not None:
        assert abs(published[-1].value - latest) <= deadband


@given(steps(st.booleans()), deadbands, intervals_ns)
def test_booleans_end_on_the_last_value_and_respect_the_rate_limit(script, deadband, interval_ns):
    published, latest = replay(table_for(deadband, interval_ns, "boolean"), script, interval_ns)
    assert_rate_limited(published, interval_ns)
    for before, after in pairwise(published):
        assert after.value != before.value
    if latest is not None:
        assert published[-1].value == latest


@given(steps(st.sampled_from(["P", "R", "N", "D"])), intervals_ns)
def test_strings_end_on_the_last_value_and_respect_the_rate_limit(script, interval_ns):
    published, latest = replay(table_for(1.0, interval_ns, "string"), script, interval_ns)
    assert_rate_limited(published, interval_ns)
    if latest is not None:
        assert published[-1].value == latest


@given(steps(st.integers(0, 3)))
def test_without_deadband_or_rate_limit_every_change_goes_out_at_once(script):
    published, _ = replay(table_for(0.0, 0, "number"), script, 0)
    reported = [step.value for step in script if isinstance(step, Report)]
    changes = [value for index, value in enumerate(reported)
               if index == 0 or value != reported[index - 1]]
    assert [item.value for item in published] == changes
