from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carnel.drivers.obd import PIDS, PidPoller, PollRate, UsageError


def test_unsupported_pids_are_never_polled() -> None:
    poller = PidPoller([PollRate(0x0C, 0.1), PollRate(0x5C, 1.0)], supported=frozenset({0x0C, 0x0D}))
    assert poller.unsupported == {0x5C}
    assert [rate.pid for rate in poller.rates] == [0x0C]


def test_never_read_pids_go_first_then_each_waits_its_period() -> None:
    poller = PidPoller([PollRate(0x05, 10.0), PollRate(0x0C, 0.5)], frozenset({0x05, 0x0C}))
    first = poller.choose(0.0)
    assert first.pid == 0x0C  # the faster one breaks the tie
    poller.mark_read(0x0C, 0.0)
    assert poller.choose(0.0).pid == 0x05
    poller.mark_read(0x05, 0.0)
    waiting = poller.choose(0.1)
    assert waiting.pid is None and waiting.wake_at == pytest.approx(0.5)
    assert poller.choose(0.5).pid == 0x0C


def test_nothing_to_poll_says_so() -> None:
    choice = PidPoller([PollRate(0x0C, 1.0)], frozenset()).choose(0.0)
    assert choice.pid is None and choice.wake_at is None


def test_bad_rates_are_refused() -> None:
    with pytest.raises(UsageError):
        PollRate(0x0C, 0.0)
    with pytest.raises(UsageError):
        PollRate(0x02, 1.0)
    with pytest.raises(UsageError):
        PidPoller([PollRate(0x0C, 1.0), PollRate(0x0C, 2.0)], frozenset({0x0C}))


@given(st.dictionaries(st.sampled_from(sorted(PIDS)), st.sampled_from([0.1, 0.25, 1.0, 5.0]), min_size=1),
       st.sampled_from([0.05, 0.2]))
def test_a_saturated_bus_shares_reads_by_rate_and_starves_no_pid(periods: dict[int, float],
                                                                 read_time: float) -> None:
    """Each read takes `read_time`: no PID is read faster than its period, and once it is due
    every other PID goes at most once before it (earliest-due-first)."""
    poller = PidPoller([PollRate(pid, period) for pid, period in periods.items()], frozenset(periods))
    now, reads, horizon = 0.0, Counter[int](), 60.0
    last: dict[int, float] = {}
    slack = len(periods) * read_time + 1e-9
    while now < horizon:
        choice = poller.choose(now)
        if choice.pid is None:
            now = choice.wake_at
            continue
        pid = choice.pid
        if pid in last:
            assert periods[pid] - 1e-9 <= now - last[pid] <= periods[pid] + slack
        last[pid] = now
        poller.mark_read(pid, now)
        reads[pid] += 1
        now += read_time
    assert set(reads) == set(periods)
