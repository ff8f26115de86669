from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carnel.drivers.obd import PIDS, PollRate, ReadPid, UsageError
from carnel.drivers.obd.schedule import DIAGNOSTICS, Due, ReadSchedule


def test_diagnostics_go_first_then_the_supported_pids_and_again_after_their_period() -> None:
    schedule = ReadSchedule([PollRate(0x0D, 0.1), PollRate(0x5C, 1.0)], frozenset({0x0D}), 60.0)
    assert schedule.polled == {0x0D} and schedule.unsupported == {0x5C}
    assert schedule.take(0.0) == Due(DIAGNOSTICS)
    assert schedule.take(0.0) == Due((ReadPid(0x0D),))
    assert schedule.take(0.05) == Due((), wake_at=pytest.approx(0.1))
    assert schedule.take(0.1).requests == (ReadPid(0x0D),)
    assert schedule.take(60.0) == Due(DIAGNOSTICS)


def test_with_nothing_to_poll_it_wakes_for_the_diagnostics() -> None:
    schedule = ReadSchedule([PollRate(0x5C, 1.0)], frozenset(), 30.0)
    schedule.take(5.0)
    assert schedule.take(6.0) == Due((), wake_at=35.0)


def test_a_bad_diagnostics_period_is_refused() -> None:
    with pytest.raises(UsageError):
        ReadSchedule([], frozenset(), 0.0)


@given(st.dictionaries(st.sampled_from(sorted(PIDS)), st.sampled_from([0.1, 0.5, 2.0]), min_size=1),
       st.sets(st.sampled_from(sorted(PIDS))), st.sampled_from([0.0, 0.03, 0.3]),
       st.sampled_from([5.0, 20.0]))
def test_only_supported_pids_are_read_never_faster_than_their_rate_and_diagnostics_keep_theirs(
        periods: dict[int, float], supported: set[int], read_time: float, period: float) -> None:
    schedule = ReadSchedule([PollRate(pid, p) for pid, p in periods.items()], frozenset(supported),
                            period)
    now, last_read, diagnostics = 0.0, {}, []
    while now < 60.0:
        due = schedule.take(now)
        if not due.requests:
            assert due.wake_at > now
            now = due.wake_at
            continue
        if due.requests == DIAGNOSTICS:
            diagnostics.append(now)
        else:
            (request,) = due.requests
            assert request.pid in supported
            if request.pid in last_read:
                assert now - last_read[request.pid] >= periods[request.pid] - 1e-9
            last_read[request.pid] = now
        now += read_time * len(due.requests)
    slack = len(periods) * read_time + 1e-9
    gaps = [b - a for a, b in zip(diagnostics, diagnostics[1:])]
    assert diagnostics[0] == 0.0 and all(period - 1e-9 <= gap <= period + slack for gap in gaps)
    assert set(last_read) == set(periods) & supported
