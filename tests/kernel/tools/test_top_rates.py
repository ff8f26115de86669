"""`carnel top`'s rates from two kernel.stats snapshots."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from carnel.ipc.schemas.bus import BusStats, ProcessStats, SubjectStats
from carnel.kernel.tools.rates import format_rates, rates, si


def subject(name: str, msgs: int, size: int = 0, drops: int = 0) -> SubjectStats:
    return SubjectStats(subject=name, subscribers=1, seq=msgs, msgs=msgs, bytes=size, drops=drops,
                        retained=False)


def process(name: str, out: int, drops: int = 0, rejects=None) -> ProcessStats:
    return ProcessStats(name=name, pid=1, msgs_in=0, bytes_in=0, msgs_out=out, bytes_out=out * 10,
                        drops=drops, rejects=rejects or {})


def stats(subjects=(), processes=()) -> BusStats:
    return BusStats(implementation="pure", subjects=list(subjects), processes=list(processes))


def test_rates_are_growth_over_the_interval_busiest_first():
    before = stats([subject("a", 10, 100), subject("b", 0)], [process("p", 5)])
    after = stats([subject("a", 30, 300, drops=2), subject("b", 50)],
                  [process("p", 25, drops=1, rejects={"denied.publish": 3})])
    view = rates(before, after, 2.0)
    assert [s.subject for s in view.subjects] == ["b", "a"]
    a = view.subjects[1]
    assert (a.msgs_per_s, a.bytes_per_s, a.drops_per_s, a.msgs) == (10.0, 100.0, 1.0, 30)
    p = view.processes[0]
    assert (p.msgs_out_per_s, p.bytes_out_per_s, p.drops, p.refused) == (10.0, 100.0, 1, 3)


def test_a_new_subject_counts_from_zero_and_a_restarted_process_from_its_new_counters():
    before = stats([], [process("p", 1000)])
    after = stats([subject("new", 8)], [process("p", 4)])
    view = rates(before, after, 1.0)
    assert view.subjects[0].msgs_per_s == 8.0
    assert view.processes[0].msgs_out_per_s == 4.0


@given(st.lists(st.integers(0, 2**40), min_size=2, max_size=5), st.floats(0.1, 60))
def test_rates_are_never_negative_whatever_the_counters_do(counts, seconds):
    for then, now in zip(counts, counts[1:], strict=False):
        view = rates(stats([subject("s", then)]), stats([subject("s", now)]), seconds)
        assert view.subjects[0].msgs_per_s >= 0


def test_numbers_are_short():
    assert [si(0), si(950), si(1234), si(45_600_000), si(0.5)] == ["0", "950", "1.23k", "45.6M",
                                                                  "0.5"]


def test_the_view_has_both_tables():
    text = format_rates(rates(stats(), stats([subject("a", 1)], [process("p", 1)]), 1.0))
    assert "SUBJECT" in text and "PROCESS" in text and "hot path pure" in text
