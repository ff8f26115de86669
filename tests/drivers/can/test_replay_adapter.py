"""Replaying logs in their own timing: virtual time for the timing, real files for the reading."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import trio
import trio.testing

from carnel.drivers.can import AscReader, CandumpReader, CanFrame, format_candump_line
from carnel.drivers.can.pacing import ReplayPacer
from carnel.drivers.can.replay_adapter import MAX_BATCH, FramePlayer, LogReplay
from carnel.ipc.device import DeviceLost


class MemoryLog:
    """An in-memory log with the async file methods a replay uses; short reads and failures on demand."""

    def __init__(self, data: bytes, *, chunk: int = 1 << 30, fail_after_reads: int | None = None) -> None:
        self._file = io.BytesIO(data)
        self._chunk = chunk
        self._reads_left = fail_after_reads

    async def read(self, size: int = -1) -> bytes:
        await trio.lowlevel.checkpoint()
        if self._reads_left is not None:
            if self._reads_left == 0:
                raise OSError(5, "Input/output error")
            self._reads_left -= 1
        return self._file.read(min(size, self._chunk))

    async def seek(self, offset: int, whence: int = 0) -> int:
        await trio.lowlevel.checkpoint()
        return self._file.seek(offset, whence)


class Recorder:
    """A deliver callback that notes when each batch arrived, in trio time."""

    def __init__(self) -> None:
        self.batches: list[tuple[float, list[CanFrame]]] = []

    async def __call__(self, frames: list[CanFrame]) -> None:
        self.batches.append((trio.current_time(), list(frames)))

    @property
    def frames(self) -> list[CanFrame]:
        return [frame for _, batch in self.batches for frame in batch]

    def times(self) -> list[float]:
        return [at for at, batch in self.batches for _ in batch]


def read_asc(path: Path) -> list[CanFrame]:
    reader = AscReader()
    return reader.feed(path.read_bytes()) + reader.close()


@pytest.fixture
def captured(python_can_sdist: Path) -> list[CanFrame]:
    """1457 frames a CANoe user captured from a real bus (python-can issue 1256), 10 ms cycles."""
    frames = read_asc(python_can_sdist / "test" / "data" / "issue_1256.asc")
    assert len(frames) == 1457
    return frames


@pytest.mark.parametrize("rate", [1.0, 2.0, 0.5])
async def test_real_capture_replays_in_its_own_timing(
    captured: list[CanFrame], rate: float, autojump_clock: trio.testing.MockClock
) -> None:
    recorder = Recorder()
    start = trio.current_time()
    await FramePlayer(ReplayPacer(rate), recorder).play(captured)
    assert recorder.frames == captured
    first = captured[0].timestamp
    expected = [(frame.timestamp - first) / rate for frame in captured]
    assert [at - start for at in recorder.times()] == pytest.approx(expected, abs=1e-9)


async def test_frames_due_together_go_out_as_one_batch(autojump_clock: trio.testing.MockClock) -> None:
    frames = [CanFrame(timestamp=t, arbitration_id=0x100, channel="can0") for t in (1.0, 1.0, 1.0, 1.5, 1.5)]
    recorder = Recorder()
    await FramePlayer(ReplayPacer(1.0), recorder).play(frames)
    assert [len(batch) for _, batch in recorder.batches] == [3, 2]


async def test_max_rate_delivers_bounded_batches_without_waiting(
    captured: list[CanFrame], autojump_clock: trio.testing.MockClock
) -> None:
    recorder = Recorder()
    start = trio.current_time()
    await FramePlayer(ReplayPacer(0.0), recorder).play(captured)
    assert recorder.frames == captured
    assert all(len(batch) <= MAX_BATCH for _, batch in recorder.batches)
    assert len(recorder.batches) == -(-len(captured) // MAX_BATCH)
    assert trio.current_time() == start


async def test_a_replay_that_fell_behind_catches_up_in_one_batch(autojump_clock: trio.testing.MockClock) -> None:
    frames = [CanFrame(timestamp=t / 10, arbitration_id=0x100) for t in range(12)]
    batches: list[tuple[float, int]] = []

    async def slow_first_delivery(batch: list[CanFrame]) -> None:
        batches.append((trio.current_time(), len(batch)))
        if len(batches) == 1:
            await trio.sleep(0.55)

    start = trio.current_time()
    await FramePlayer(ReplayPacer(1.0), slow_first_delivery).play(frames)
    # Frames due at 0.1 .. 0.5 s waited behind the slow delivery and go out together at 0.55 s.
    assert [(round(at - start, 6), size) for at, size in batches] == [
        (0.0, 1),
        (0.55, 5),
        (0.6, 1),
        (0.7, 1),
        (0.8, 1),
        (0.9, 1),
        (1.0, 1),
        (1.1, 1),
    ]


def candump_log(frames: list[CanFrame]) -> bytes:
    return "".join(format_candump_line(frame) + "\n" for frame in frames).encode()


async def test_looped_log_plays_again_right_after_its_last_frame(
    captured: list[CanFrame], autojump_clock: trio.testing.MockClock
) -> None:
    frames = [
        CanFrame(timestamp=f.timestamp, arbitration_id=f.arbitration_id, data=f.data, channel="can0")
        for f in captured[:40]
    ]
    replay = LogReplay(MemoryLog(candump_log(frames)), CandumpReader(), ReplayPacer(1.0), loop=True)
    recorder = Recorder()
    span = frames[-1].timestamp - frames[0].timestamp
    start = trio.current_time()
    with trio.move_on_after(span * 2.5):
        await replay.run(recorder)
    assert replay.passes == 2
    assert recorder.frames[:80] == frames + frames
    times = [at - start for at in recorder.times()]
    assert times[40] == pytest.approx(times[39])
    assert times[79] == pytest.approx(2 * span)


async def test_log_without_frames_is_a_lost_device_and_its_lines_are_counted() -> None:
    reader = CandumpReader()
    replay = LogReplay(
        MemoryLog(b"this is not a candump log\n\n(1.0) can0 XYZ#00\n"), reader, ReplayPacer(1.0), loop=True
    )
    with pytest.raises(DeviceLost):
        await replay.run(Recorder())
    assert reader.rejections.snapshot() == {"bad_id": 1, "malformed": 1}


async def test_read_failure_leaves_no_partial_line_for_the_next_session() -> None:
    frames = [CanFrame(timestamp=float(n), arbitration_id=n, channel="can0") for n in range(1, 4)]
    data = candump_log(frames)
    reader = CandumpReader()
    first_line = data.index(b"\n") + 1
    # The first read ends inside the second line; the next read fails.
    failing = LogReplay(MemoryLog(data, chunk=first_line + 5, fail_after_reads=1), reader, ReplayPacer(0.0), loop=False)
    failing_recorder = Recorder()
    with pytest.raises(OSError):
        await failing.run(failing_recorder)
    assert failing_recorder.frames == frames[:1]
    recorder = Recorder()
    await LogReplay(MemoryLog(data), reader, ReplayPacer(0.0), loop=False).run(recorder)
    assert recorder.frames == frames
    assert reader.rejections.total == 0


async def test_log_file_is_read_to_its_last_unterminated_line(tmp_path: Path) -> None:
    frames = [
        CanFrame(timestamp=(1_500_000 + n * 1000) / 1e6, arbitration_id=0x7E8, data=bytes([n % 256]), channel="can0")
        for n in range(5000)
    ]
    path = tmp_path / "drive.log"
    path.write_bytes(candump_log(frames).rstrip(b"\n"))
    recorder = Recorder()
    with trio.fail_after(10):
        async with await trio.open_file(path, "rb") as log:
            await LogReplay(log, CandumpReader(), ReplayPacer(0.0), loop=False).run(recorder)
    assert recorder.frames == frames


@pytest.mark.parametrize("log_name", ["issue_1256.asc", "issue_1299.asc", "logfile.asc", "test_CanFdMessage.asc"])
async def test_real_asc_file_replays_every_frame_it_holds(python_can_sdist: Path, log_name: str) -> None:
    path = python_can_sdist / "test" / "data" / log_name
    recorder = Recorder()
    reader = AscReader()
    with trio.fail_after(10):
        async with await trio.open_file(path, "rb") as log:
            await LogReplay(log, reader, ReplayPacer(0.0), loop=False).run(recorder)
    assert recorder.frames == read_asc(path)
