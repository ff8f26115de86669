from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from obd_fakes import SHORT_DRIVE

from carnel.drivers.obd import PIDS
from carnel.drivers.obd.drive_file import parse_drive


def lines(*samples: object) -> bytes:
    return b"".join(json.dumps(sample).encode() + b"\n" for sample in samples)


def test_the_fixture_drive_is_ten_samples_at_10_hz_looping_each_second() -> None:
    load = parse_drive(SHORT_DRIVE.read_bytes())
    assert load.errors == ()
    drive = load.drive
    assert len(drive.samples) == 10 and drive.length == pytest.approx(1.0)
    assert drive.pids == {0x04, 0x05, 0x0C, 0x0D, 0x11}
    assert drive.values_at(0.25)[0x0D] == 10.0
    assert drive.values_at(0.99)[0x0D] == 45.0
    assert drive.values_at(1.05)[0x0D] == 0.0  # looped
    assert drive.values_at(7.35)[0x0C] == 1250.0


def test_a_pid_missing_from_a_line_keeps_its_last_value_and_its_first_before_it_appears() -> None:
    drive = parse_drive(lines({"t": 0, "values": {"0D": 10}},
                              {"t": 1, "values": {"0D": 20, "0c": 900}},
                              {"t": 2, "values": {"0C": 1000}})).drive
    assert [dict(sample.values) for sample in drive.samples] == [
        {0x0D: 10, 0x0C: 900}, {0x0D: 20, 0x0C: 900}, {0x0D: 20, 0x0C: 1000}]


def test_a_single_sample_is_a_drive_that_never_changes() -> None:
    drive = parse_drive(lines({"t": 0, "values": {"0D": 33}})).drive
    assert drive.values_at(0) == drive.values_at(1e6) == {0x0D: 33}


def test_bad_lines_are_refused_one_by_one_and_the_rest_is_kept() -> None:
    data = (lines({"t": 0, "values": {"0D": 1}})
            + b"not json\n\n"
            + lines({"t": "soon", "values": {}},
                    {"t": 1, "values": {"0D": 2}, "extra": True},
                    {"t": -1, "values": {}},
                    {"t": 0.5, "values": {"0D": 3, "01": 4, "speed": 5}},
                    {"t": 0.2, "values": {"0D": 6}}))
    load = parse_drive(data)
    assert [error.reason for error in load.errors] == [
        "bad_line", "bad_line", "bad_line", "bad_time", "unknown_pid", "unknown_pid", "time_goes_back"]
    assert "line 2" in load.errors[0].detail
    assert [(s.t, dict(s.values)) for s in load.drive.samples] == [(0, {0x0D: 1}), (0.5, {0x0D: 3})]


def test_a_file_without_a_usable_line_has_no_drive() -> None:
    load = parse_drive(b"\n{}\n")
    assert load.drive is None
    assert [error.reason for error in load.errors] == ["bad_line", "no_samples"]


@given(st.binary(max_size=300))
def test_any_bytes_give_a_drive_or_reasons_never_an_exception(data: bytes) -> None:
    load = parse_drive(data)
    assert load.drive is not None or load.errors


pids = st.sampled_from(sorted(PIDS))
samples = st.lists(st.dictionaries(pids, st.floats(-1e6, 1e6), max_size=5), min_size=1, max_size=30)


@given(samples, st.floats(0.01, 1.0), st.floats(0, 1e5))
def test_written_samples_read_back_filled_and_any_moment_is_some_sample(
        values: list[dict[int, float]], step: float, moment: float) -> None:
    data = lines(*({"t": i * step, "values": {f"{pid:02X}": v for pid, v in sample.items()}}
                   for i, sample in enumerate(values)))
    drive = parse_drive(data).drive
    assert len(drive.samples) == len(values)
    every = set().union(*values)
    for sample, written in zip(drive.samples, values):
        assert set(sample.values) == every
        assert all(sample.values[pid] == v for pid, v in written.items())
    assert drive.values_at(moment) in [sample.values for sample in drive.samples]
    assert math.isinf(drive.length) or drive.length == pytest.approx(len(values) * step)
