"""Replay's schedule: pure delays from recorded times, and the publishing loop on a fake clock."""
from __future__ import annotations

import math

import pytest
import trio
from hypothesis import given
from hypothesis import strategies as st

from carnel.kernel.tools.recording import BusMessage, Pace
from carnel.kernel.tools.replay import play

S = 1_000_000_000


def test_at_rate_one_each_message_waits_for_its_offset_in_the_recording():
    pace = Pace(1.0)
    assert pace.delay(first_ns=10 * S, log_ns=10 * S, elapsed_s=0.0) == 0.0
    assert pace.delay(first_ns=10 * S, log_ns=13 * S, elapsed_s=1.0) == 2.0


def test_the_rate_scales_the_offsets():
    assert Pace(2.0).delay(0, 3 * S, 0.0) == 1.5
    assert Pace(0.5).delay(0, 3 * S, 0.0) == 6.0


def test_rate_zero_never_waits():
    assert Pace(0).delay(0, 10**6 * S, 0.0) == 0.0


def test_a_message_already_due_goes_at_once():
    assert Pace(1.0).delay(0, 1 * S, elapsed_s=5.0) == 0.0
    assert Pace(1.0).delay(5 * S, 1 * S, elapsed_s=0.0) == 0.0  # logged out of order


@pytest.mark.parametrize("rate", [-1.0, math.inf, math.nan])
def test_a_rate_that_is_not_a_speed_is_refused(rate):
    with pytest.raises(ValueError, match="rate"):
        Pace(rate)


@given(st.floats(0.01, 100), st.integers(0, 10**12), st.integers(0, 10**12),
       st.floats(0, 10**4))
def test_delays_are_never_negative_and_end_when_the_scaled_offset_is_reached(rate, first, offset,
                                                                             elapsed):
    pace = Pace(rate)
    delay = pace.delay(first, first + offset, elapsed)
    assert delay >= 0.0
    assert delay == 0.0 or math.isclose(elapsed + delay, offset / 1e9 / rate, rel_tol=1e-9)


async def test_play_publishes_on_the_recorded_schedule(autojump_clock):
    recorded = [BusMessage("demo.a", b"", log_ns=t) for t in (100 * S, 101 * S, 101 * S + S // 2,
                                                              104 * S)]
    sent: list[float] = []
    start = trio.current_time()

    async def publish(_msg: BusMessage) -> None:
        sent.append(trio.current_time() - start)

    await play(recorded, Pace(2.0), publish)
    assert sent == pytest.approx([0.0, 0.5, 0.75, 2.0])


async def test_a_slow_publisher_catches_up_instead_of_drifting(autojump_clock):
    recorded = [BusMessage("demo.a", b"", log_ns=t * S) for t in range(5)]
    sent: list[float] = []
    start = trio.current_time()

    async def publish(_msg: BusMessage) -> None:
        sent.append(trio.current_time() - start)
        await trio.sleep(1.5 if len(sent) == 1 else 0)

    await play(recorded, Pace(1.0), publish)
    assert sent == pytest.approx([0.0, 1.5, 2.0, 3.0, 4.0])
