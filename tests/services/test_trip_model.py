from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from carnel.services.trip.model import MAX_STEP_NS, TripMeter

S = 1_000_000_000


def test_constant_speed_integrates_to_distance():
    meter = TripMeter()
    for second in range(11):
        meter.add(36.0, second * S)  # 36 km/h = 10 m/s
    assert abs(meter.metres - 100.0) < 1e-9


def test_a_gap_in_the_feed_adds_nothing():
    meter = TripMeter()
    meter.add(100.0, 0)
    meter.add(100.0, MAX_STEP_NS + 1)
    assert meter.metres == 0.0


def test_reset_starts_from_zero():
    meter = TripMeter()
    meter.add(50.0, 0)
    meter.add(50.0, S)
    meter.reset(at_ns=5 * S)
    assert meter.metres == 0.0 and meter.since_ns == 5 * S


@given(st.lists(st.tuples(st.floats(0, 300), st.integers(0, 10**12)), max_size=50))
def test_distance_never_decreases_and_ignores_samples_out_of_order(samples):
    meter = TripMeter()
    previous = 0.0
    for kmh, at in samples:
        metres = meter.add(kmh, at)
        assert metres >= previous
        previous = metres
