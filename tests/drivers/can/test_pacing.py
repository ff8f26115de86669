from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carnel.drivers.can.pacing import ReplayPacer

log_times = st.lists(st.floats(min_value=0, max_value=2e9, allow_nan=False), max_size=60)


def offsets(pacer: ReplayPacer, times: list[float]) -> list[float]:
    return [pacer.due(time) for time in times]


def test_offsets_follow_the_log_from_its_first_frame() -> None:
    assert offsets(ReplayPacer(1.0), [1594172461.5, 1594172461.75, 1594172463.0]) == [0.0, 0.25, 1.5]


def test_rate_divides_the_gaps() -> None:
    assert offsets(ReplayPacer(4.0), [10.0, 11.0, 13.0]) == [0.0, 0.25, 0.75]
    assert offsets(ReplayPacer(0.5), [10.0, 11.0]) == [0.0, 2.0]


def test_rate_zero_sends_everything_at_once() -> None:
    assert offsets(ReplayPacer(0.0), [5.0, 6.0, 3600.0]) == [0.0, 0.0, 0.0]


def test_frame_logged_a_little_out_of_order_is_due_at_once() -> None:
    assert offsets(ReplayPacer(1.0), [1.0, 2.0, 1.5, 1.75, 3.0]) == [0.0, 1.0, 1.0, 1.0, 2.0]


def test_clock_stepping_back_starts_the_log_time_again() -> None:
    assert offsets(ReplayPacer(1.0, max_gap_s=5.0), [100.0, 101.0, 50.0, 50.5, 101.5]) == [0.0, 1.0, 1.0, 1.5, 6.5]


def test_a_long_silence_is_cut_to_the_maximum_gap() -> None:
    assert offsets(ReplayPacer(1.0, max_gap_s=2.0), [0.0, 0.5, 3600.5, 3601.0]) == [0.0, 0.5, 2.5, 3.0]


def test_a_new_pass_continues_from_the_last_offset_without_a_gap() -> None:
    pacer = ReplayPacer(2.0)
    first = offsets(pacer, [100.0, 101.0, 102.0])
    pacer.start_pass()
    assert first + offsets(pacer, [100.0, 101.0, 102.0]) == [0.0, 0.5, 1.0, 1.0, 1.5, 2.0]


@pytest.mark.parametrize("rate", [-1.0, float("nan")])
def test_a_rate_below_zero_is_refused(rate: float) -> None:
    with pytest.raises(ValueError):
        ReplayPacer(rate)


@given(log_times, st.floats(min_value=0.01, max_value=100), st.floats(min_value=0.001, max_value=1e12))
def test_offsets_never_go_back(times: list[float], rate: float, max_gap: float) -> None:
    due = offsets(ReplayPacer(rate, max_gap_s=max_gap), times)
    assert due == sorted(due)


@given(log_times.filter(bool), st.floats(min_value=0.01, max_value=100))
def test_replay_lasts_as_long_as_the_log_reaches_past_its_first_frame(times: list[float], rate: float) -> None:
    due = offsets(ReplayPacer(rate, max_gap_s=1e12), times)
    assert due[-1] == pytest.approx(max(max(times) - times[0], 0.0) / rate, rel=1e-9, abs=1e-6)


@given(st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), min_size=1, max_size=40))
def test_monotonic_log_at_rate_one_keeps_its_timing(raw: list[float]) -> None:
    times = sorted(raw)
    due = offsets(ReplayPacer(1.0, max_gap_s=1e12), times)
    assert due == pytest.approx([time - times[0] for time in times], abs=1e-6)
