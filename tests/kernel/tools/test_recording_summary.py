"""`carnel info`'s summary of a recording: per-subject counts, rates, types, the file's state."""
from __future__ import annotations

from carnel.ipc.wire import Flag
from carnel.kernel.tools.recording import BusMessage, Tally, format_summary, human_bytes, plural

S = 1_000_000_000
RETAIN = int(Flag.RETAIN)


def tally(*messages: BusMessage) -> Tally:
    counted = Tally()
    for msg in messages:
        counted.add(msg)
    return counted


def test_counts_rates_types_sources_and_attachments_per_subject():
    summary = tally(
        BusMessage("vehicle.Speed", b"ab", source="vehicle", flags=RETAIN, log_ns=10 * S),
        BusMessage("demo.frames", b"x", (b"1234", b"56"), source="cam", log_ns=11 * S),
        BusMessage("vehicle.Speed", b"cd", source="vehicle", flags=RETAIN, log_ns=12 * S),
        BusMessage("vehicle.Speed", b"ef", source="replay-3", log_ns=14 * S),
    ).summary("drive.mcap", 999, True, {"vehicle.Speed": "carnel.ipc.schemas.vehicle.Signal",
                                        "demo.frames": ""})
    assert (summary.messages, summary.bytes, summary.duration_s) == (4, 7, 4.0)
    assert (summary.attachments, summary.attachment_bytes, summary.start_ns) == (2, 6, 10 * S)
    frames, speed = summary.subjects
    assert (speed.subject, speed.messages, speed.rate_hz) == ("vehicle.Speed", 3, 0.75)
    assert speed.type == "carnel.ipc.schemas.vehicle.Signal" and speed.retained
    assert speed.sources == ["replay-3", "vehicle"]
    assert (frames.attachments, frames.attachment_bytes, frames.type) == (2, 6, "")
    assert not frames.retained


def test_the_text_says_whether_the_file_was_cut_short():
    counted = tally(BusMessage("demo.a", b"", source="tester", log_ns=S),
                    BusMessage("demo.a", b"", source="tester", log_ns=3 * S))
    whole = format_summary(counted.summary("a.mcap", 2_500, True, {}))
    cut = format_summary(counted.summary("a.mcap", 2_500, False, {}))
    assert "state        complete" in whole and "cut short" not in whole
    assert "state        cut short" in cut
    assert "a.mcap (2.5 kB)" in whole and "duration     2.000 s" in whole
    assert "start        1970-01-01 00:00:01.000 UTC" in whole
    row = next(line for line in whole.splitlines() if line.startswith("demo.a"))
    assert row.split() == ["demo.a", "2", "1.00/s", "-", "tester", "-", "-"]


def test_an_empty_recording_has_no_start_and_no_rates():
    summary = Tally().summary("empty.mcap", 100, True, {})
    assert summary.start_ns is None and summary.duration_s == 0.0 and summary.subjects == []
    assert "start        -" in format_summary(summary)


def test_a_single_message_has_no_rate():
    summary = tally(BusMessage("demo.once", b"", log_ns=S)).summary("x.mcap", 1, True, {})
    assert summary.subjects[0].rate_hz is None


def test_sizes_and_counts_read_as_words():
    assert [human_bytes(n) for n in (0, 999, 1_000, 2_500_000, 7 * 10**9, 10**13)] == \
        ["0 B", "999 B", "1.0 kB", "2.5 MB", "7.0 GB", "10000.0 GB"]
    assert (plural(1, "message"), plural(0, "message"), plural(3, "subject")) == \
        ("1 message", "0 messages", "3 subjects")
