"""The replay adapter on a fake clock: real logs played back with their own timing, faster or
slower, once or in a loop, and reported like a receiver.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import trio
import trio.testing
from gps_rig import DATA, RecordingOutput, RecordingService, receiver_output

from carnel.drivers.gps import GpsConfig, NmeaReceiver, pace, read_log
from carnel.drivers.gps.replay_source import ReplayStream, replay_session
from carnel.ipc.device import DeviceLink, DeviceLost

GARMIN = DATA / "garmin-10x.log"


def garmin_steps():
    return pace(read_log(GARMIN.read_bytes()))


async def arrivals(stream: ReplayStream, count: int, max_bytes: int = 4096):
    got = []
    for _ in range(count):
        data = await stream.receive_some(max_bytes)
        got.append((trio.current_time(), data))
    return got


async def test_each_epoch_arrives_at_its_time_in_the_log(autojump_clock) -> None:
    steps = garmin_steps()
    got = await arrivals(ReplayStream(steps), 4)
    assert [round(at, 6) for at, _ in got] == [0.0, 1.0, 2.0, 3.0]
    first_epoch = b"".join(step.sentence for step in steps if step.offset_s == 0.0)
    assert got[0][1] == first_epoch


async def test_a_rate_of_four_plays_four_times_as_fast(autojump_clock) -> None:
    got = await arrivals(ReplayStream(garmin_steps(), rate=4.0), 4)
    assert [round(at, 6) for at, _ in got] == [0.0, 0.25, 0.5, 0.75]


async def test_the_log_ends_with_end_of_file_unless_it_loops(autojump_clock) -> None:
    steps = garmin_steps()
    epochs = len({step.offset_s for step in steps})
    once = ReplayStream(steps)
    await arrivals(once, epochs)
    assert await once.receive_some() == b""

    looping = ReplayStream(steps, loop=True)
    got = await arrivals(looping, epochs + 1)
    last_offset = steps[-1].offset_s
    # The second pass starts one epoch after the last sentence of the first.
    assert round(got[-1][0] - got[0][0], 6) == last_offset + 1.0
    assert got[-1][1] == got[0][1]


async def test_a_read_cancelled_while_waiting_loses_nothing(autojump_clock) -> None:
    stream = ReplayStream(garmin_steps())
    first = await stream.receive_some()
    with trio.move_on_after(0.5):
        await stream.receive_some()
    second = await stream.receive_some()
    assert trio.current_time() == 1.0
    assert second and second != first


async def test_reads_are_bounded_by_max_bytes_and_keep_the_rest(autojump_clock) -> None:
    stream = ReplayStream(garmin_steps())
    pieces = [await stream.receive_some(10) for _ in range(50)]
    assert all(len(piece) <= 10 for piece in pieces)
    assert b"".join(pieces).startswith(b"$GPGGA,165007.000")


def test_an_empty_replay_is_refused() -> None:
    with pytest.raises(ValueError):
        ReplayStream([])


def replay_config(path: Path, **overrides) -> GpsConfig:
    return GpsConfig(**{"source": "replay", "replay_file": str(path), "loop": False, **overrides})


async def test_a_replayed_log_reports_its_fixes_then_its_end(autojump_clock) -> None:
    svc = RecordingService()
    link = DeviceLink(svc, "gps", f"replay:{GARMIN}")
    output = RecordingOutput()
    whole = NmeaReceiver()
    expected = whole.feed(receiver_output("garmin-10x.log"), 0.0).fixes + whole.end_epoch()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(replay_session, link, replay_config(GARMIN), output, lambda: 0.0,
                           str(GARMIN))
        await output.wait_until(lambda: output.ends == 1)
        finished = trio.current_time()
        nursery.cancel_scope.cancel()
    assert output.events == expected
    # 16:50:07 to 16:50:49 in the log; nothing is waited for after its last sentence.
    assert finished == pytest.approx(42.0)
    assert svc.states == [("connected", "")]


async def test_a_log_with_timestamps_replays_on_them_at_the_chosen_rate(
        autojump_clock, tmp_path: Path) -> None:
    # The real log with a Unix timestamp before each line, 0.1 s apart.
    lines = receiver_output("garmin-10x.log").splitlines()
    stamped = tmp_path / "stamped.nmea"
    stamped.write_bytes(b"".join(f"{1279471807 + i / 10:.1f} ".encode() + line + b"\n"
                                 for i, line in enumerate(lines)))
    svc = RecordingService()
    link = DeviceLink(svc, "gps", f"replay:{stamped}")
    output = RecordingOutput()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(replay_session, link, replay_config(stamped, rate=2.0), output,
                           lambda: 0.0, str(stamped))
        await output.wait_until(lambda: output.ends == 1)
        finished = trio.current_time()
        nursery.cancel_scope.cancel()
    assert finished == pytest.approx((len(lines) - 1) / 10 / 2.0)
    assert len(output.fixes_only) == 9


async def test_a_missing_log_is_an_os_error_and_a_log_without_sentences_a_lost_device(
        autojump_clock, tmp_path: Path) -> None:
    link = DeviceLink(RecordingService(), "gps", "replay:x")
    with pytest.raises(FileNotFoundError):
        await replay_session(link, replay_config(tmp_path / "gone.nmea"), RecordingOutput(),
                             lambda: 0.0, str(tmp_path / "gone.nmea"))
    empty = tmp_path / "empty.nmea"
    empty.write_bytes(b"# no sentences here\n")
    with pytest.raises(DeviceLost):
        await replay_session(link, replay_config(empty), RecordingOutput(), lambda: 0.0,
                             str(empty))
