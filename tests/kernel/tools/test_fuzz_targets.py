"""What `carnel fuzz` sends a process, from its image grants and the schema registry."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carnel.ipc.schemas.device import DeviceStatus
from carnel.ipc.schemas.gps import GpsFix
from carnel.ipc.schemas.trip import Trip
from carnel.ipc.schemas.vehicle import Signal, SignalBatch, SignalQuery
from carnel.ipc.subjects import matches
from carnel.kernel.tools.fuzzing.targets import Target, Verb, filled, meet, plan


def test_a_concrete_subscription_is_fuzzed_with_its_declared_type():
    assert plan(["vehicle.Speed"], []).targets == (
        Target(Verb.PUBLISH, "vehicle.Speed", Signal),)


def test_a_wildcard_takes_the_subjects_seen_on_the_bus_and_the_declared_ones_it_covers():
    subjects = {t.subject: t.message_type for t in plan(["can.>"], [], ["can.signals.ABS",
                                                                        "nav.route"]).targets}
    assert subjects == {"can.signals.ABS": SignalBatch, "can.signals.fuzz": SignalBatch,
                        "can.status": DeviceStatus}


def test_a_wildcard_grant_meets_wildcard_topics():
    assert {t.subject: t.message_type for t in plan(["gps.*"], []).targets} == {
        "gps.status": DeviceStatus, "gps.fix": GpsFix}


@pytest.mark.parametrize(("a", "b", "subject"), [
    ("gps.*", "*.status", "gps.status"),
    ("vehicle.>", "vehicle.>", "vehicle.fuzz"),
    ("a.>", "a.b.*", "a.b.fuzz"),
    ("a.*", "a.>", "a.fuzz"),
    ("a.b", "a.c", None),
    ("a.>", "a", None),
    ("a.*.c", "a.b", None),
])
def test_two_patterns_meet_at_a_subject_both_match(a, b, subject):
    assert meet(a, b) == subject == meet(b, a)


patterns = st.lists(st.sampled_from(["a", "b", "*"]), min_size=1, max_size=4).flatmap(
    lambda tokens: st.sampled_from([".".join(tokens), ".".join([*tokens, ">"])]))


@given(patterns, patterns)
def test_where_patterns_meet_both_match(a, b):
    subject = meet(a, b)
    assert subject is None or (matches(a, subject) and matches(b, subject))


def test_filled_patterns_are_matched_by_themselves():
    assert filled("*.status") == "fuzz.status" and matches("*.status", filled("*.status"))


def test_provided_prefixes_are_fuzzed_through_their_declared_methods():
    targets = plan([], ["vehicle", "trip.reset"]).targets
    assert Target(Verb.CALL, "vehicle.get", SignalQuery) in targets
    assert {t.subject for t in targets} == {"vehicle.get", "trip.reset"}


def test_what_cannot_be_fuzzed_is_said_with_the_reason():
    result = plan(["weather.now", "kernel.process.*"], ["fragile"])
    assert result.targets == ()
    assert result.not_fuzzed == (
        "subscribe weather.now: no schema declares what is published there",
        "subscribe kernel.process.*: the kernel's own subjects",
        "provide fragile: no schema declares a method under it",
    )


def test_the_kernel_s_subjects_are_never_targets_even_under_everything():
    targets = plan([">"], [">"]).targets
    assert targets and not any(t.subject.startswith("kernel.") for t in targets)
    assert Target(Verb.PUBLISH, "trip.distance", Trip) in targets
