"""`carnel record`, `replay` and `info` for real: booted kernels, the commands run as a user runs
them, and a recorder killed with SIGKILL."""
from __future__ import annotations

import os
import pty
import signal
import subprocess
from collections import defaultdict
from contextlib import asynccontextmanager
from pathlib import Path

import msgspec
import trio

from carnel.ipc.client import BusClient
from carnel.ipc.schemas.bus import BusStats, Empty
from carnel.ipc.schemas.trip import Trip
from carnel.ipc.schemas.vehicle import Signal
from carnel.ipc.settings import operator_credential
from carnel.ipc.wire import Flag
from carnel.kernel.tools.recording import BusMessage, RecordingReader, RecordingWriter
from conftest import CARNEL, OPERATOR

IMAGE = '[image]\nname = "devkit"\n\n' + OPERATOR


class Background:
    """A carnel command running beside the test, its stderr read as it comes."""

    def __init__(self, proc: trio.Process) -> None:
        self.proc = proc
        self.err = b""

    async def said(self, text: str, timeout: float = 10) -> None:
        with trio.fail_after(timeout):
            while text.encode() not in self.err:
                chunk = await self.proc.stderr.receive_some()
                if not chunk:
                    raise AssertionError(f"exited with {await self.proc.wait()} before saying "
                                         f"{text!r}:\n{self.err.decode()}")
                self.err += chunk

    async def finished(self, timeout: float = 20) -> tuple[int, str]:
        with trio.fail_after(timeout):
            while chunk := await self.proc.stderr.receive_some():
                self.err += chunk
            return await self.proc.wait(), self.err.decode()


@asynccontextmanager
async def background(stack, *args: str, **options):
    """`options` for the process (stdout, cwd) as trio.lowlevel.open_process takes them."""
    proc = await trio.lowlevel.open_process(
        [*CARNEL, "--run-dir", str(stack.run_dir), *args], stderr=subprocess.PIPE, env=stack.env,
        **options)
    try:
        yield Background(proc)
    finally:
        if proc.returncode is None:
            proc.kill()
        with trio.CancelScope(shield=True):
            await proc.wait()


async def carnel(stack, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    """Run a carnel command to its end without blocking the test's own bus session; `stdin`
    reaches it through a pipe."""
    done = await trio.run_process([*CARNEL, "--run-dir", str(stack.run_dir), *args],
                                  capture_stdout=True, capture_stderr=True, check=False,
                                  env=stack.env, stdin=stdin)
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout.decode(),
                                       done.stderr.decode())


def recorded(path: Path) -> list[BusMessage]:
    with RecordingReader(path) as reader:
        return list(reader)


def per_subject(messages: list[BusMessage]) -> dict[str, list[tuple[bytes, tuple, bool]]]:
    found = defaultdict(list)
    for msg in messages:
        found[msg.subject].append((msg.payload, msg.attachments, bool(msg.flags & Flag.RETAIN)))
    return dict(found)


async def publish_traffic(client) -> int:
    """Three subjects: one retained, one with attachments, one rare; returns how many."""
    count = 0
    for i in range(40):
        await client.publish("demo.speed", Signal(path="Vehicle.Speed", value=float(i)),
                             retain=True)
        count += 1
        if i % 3 == 0:
            await client.publish("demo.camera.front", Trip(metres=i),
                                 attachments=[bytes([i]) * 2000, b"", b"meta"])
            count += 1
        if i % 10 == 0:
            await client.publish("demo.log", Trip(metres=-i))
            count += 1
        await trio.sleep(0.01)  # traffic spread over time, for replay to keep
    return count


async def test_record_replay_and_record_again_gives_the_same_messages(stack_factory):
    first = await stack_factory(IMAGE).boot()
    one = first.directory / "one.mcap"
    async with background(first, "record", "-o", str(one), "demo.>", "--count", "58") as rec:
        await rec.said("recording demo.> to")
        async with first.service("tester") as client:
            assert await publish_traffic(client) == 58
            # Leaving the session drops what it has not sent yet: stay until all is recorded.
            code, err = await rec.finished()
    assert code == 0, err
    assert "recorded 58 messages on 3 subjects" in err

    info = await carnel(first, "info", "--json", str(one))
    assert info.returncode == 0, info.stderr
    summary = msgspec.json.decode(info.stdout)
    assert summary["complete"] and summary["messages"] == 58 and summary["attachments"] == 42
    types = {s["subject"]: (s["messages"], s["type"], s["retained"]) for s in summary["subjects"]}
    assert types == {"demo.camera.front": (14, "", False), "demo.log": (4, "", False),
                     "demo.speed": (40, "", True)}

    second = await stack_factory(IMAGE).boot()
    two = second.directory / "two.mcap"
    async with background(second, "record", "-o", str(two), "demo.>", "--count", "58") as rec:
        await rec.said("recording demo.> to")
        replay = await carnel(second, "replay", str(one), "--rate", "4")
        assert replay.returncode == 0, replay.stderr
        assert "replayed 58 messages on 3 subjects" in replay.stderr
        code, err = await rec.finished()
    assert code == 0, err

    original, again = recorded(one), recorded(two)
    assert per_subject(again) == per_subject(original)
    assert [m.subject for m in again] == [m.subject for m in original]
    assert {m.source for m in original} == {"tester"}
    assert len({m.source for m in again}) == 1 and again[0].source.startswith("replay-")
    # Sleeping cannot make a message early: at rate 4 the replay lasts at least a quarter as long.
    span = (original[-1].log_ns - original[0].log_ns) / 1e9
    assert (again[-1].log_ns - again[0].log_ns) / 1e9 >= span / 4 - 0.05

    async with second.service("late") as client:
        async with client.messages("demo.speed", Signal) as speeds:
            with trio.fail_after(5):
                kept = await speeds.__anext__()
    assert kept.value == 39.0  # the replayed retained value, kept by the kernel
    assert await first.stop() == 0 and await second.stop() == 0


async def test_a_recording_streams_to_stdout_and_reads_back_whole(stack_factory):
    stack = await stack_factory(IMAGE).boot()
    path = stack.directory / "streamed.mcap"
    with path.open("wb") as out:
        async with background(stack, "record", "-o", "-", "demo.>", "--count", "58", stdout=out,
                              cwd=stack.directory) as rec:
            await rec.said("recording demo.> to stdout: Ctrl-C stops")
            async with stack.service("tester") as client:
                assert await publish_traffic(client) == 58
                code, err = await rec.finished()
    assert code == 0, err
    assert "recorded 58 messages on 3 subjects" in err and ": stdout, " in err
    assert len(recorded(path)) == 58
    info = await carnel(stack, "info", str(path))
    assert info.returncode == 0 and "state        complete" in info.stdout, info
    assert not (stack.directory / "-").exists()
    # The far end of the pipe: info and replay read a recording from stdin.
    streamed = path.read_bytes()
    piped = await carnel(stack, "info", "-", stdin=streamed)
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout == info.stdout.replace(f"{path} ", "stdin ", 1)
    replay = await carnel(stack, "replay", "-", "--rate", "0", stdin=streamed)
    assert replay.returncode == 0, replay.stderr
    assert "replayed 58 messages on 3 subjects" in replay.stderr
    looped = await carnel(stack, "replay", "-", "--loop", stdin=streamed)
    assert looped.returncode == 2 and "stdin can be read only once" in looped.stderr
    assert await stack.stop() == 0


async def test_a_recording_to_stdout_whose_reader_leaves_fails_in_one_line(stack_factory):
    stack = await stack_factory(IMAGE).boot()
    async with background(stack, "record", "-o", "-", "demo.>", stdout=subprocess.PIPE) as rec:
        await rec.said("recording demo.> to stdout")
        await rec.proc.stdout.aclose()
        async with stack.service("tester") as client:
            await publish_traffic(client)  # the next flush, within a second, finds no reader
            code, err = await rec.finished()
    assert code == 1, err
    assert err.rstrip().endswith("carnel record: cannot write to stdout: Broken pipe"), err
    assert "Traceback" not in err and "Exception ignored" not in err
    assert await stack.stop() == 0


async def test_a_recording_to_a_full_disk_fails_in_one_line(stack_factory):
    stack = await stack_factory(IMAGE).boot()
    full = await stack.carnel_async("record", "-o", "/dev/full", "--overwrite", "demo.>")
    assert full.returncode == 1, full.stderr
    assert full.stderr == "carnel record: cannot write /dev/full: No space left on device\n"
    assert await stack.stop() == 0


async def until_recorded(path: Path, count: int, timeout: float = 10) -> None:
    """Until the file holds `count` messages: the recorder flushes every second."""
    with trio.fail_after(timeout):
        while not path.exists() or len(recorded(path)) < count:
            await trio.sleep(0.1)


async def test_a_recorder_killed_with_sigkill_leaves_a_readable_file(stack_factory):
    stack = await stack_factory(IMAGE).boot()
    path = stack.directory / "killed.mcap"
    sent = []
    async with background(stack, "record", "-o", str(path)) as rec:
        await rec.said("recording > to")
        async with stack.service("tester") as client:
            for i in range(50):
                attachments = [b"x" * i] if i % 5 == 0 else []
                await client.publish("demo.speed", Signal(path="Vehicle.Speed", value=float(i)),
                                     attachments=attachments)
                sent.append(i)
            await until_recorded(path, 50)
            for i in range(50, 80):  # still arriving when the recorder dies
                await client.publish("demo.speed", Signal(path="Vehicle.Speed", value=float(i)))
                sent.append(i)
            rec.proc.send_signal(signal.SIGKILL)
            assert await rec.proc.wait() == -signal.SIGKILL

    values = [msgspec.msgpack.decode(m.payload, type=Signal).value for m in recorded(path)]
    assert 50 <= len(values) <= 80 and values == sent[:len(values)]
    assert recorded(path)[5].attachments == (b"x" * 5,)

    info = await carnel(stack, "info", str(path))
    assert info.returncode == 0, info.stderr
    assert "state        cut short" in info.stdout
    assert f"messages     {len(values)} " in info.stdout

    replay = await carnel(stack, "replay", str(path), "--rate", "0")
    assert replay.returncode == 0, replay.stderr
    assert f"replayed {len(values)} messages on 1 subject" in replay.stderr
    assert "was cut short" in replay.stderr
    assert await stack.stop() == 0


async def test_a_recording_the_kernel_ends_is_complete_and_summed_up(stack_factory):
    stack = await stack_factory(IMAGE).boot()
    path = stack.directory / "ended.mcap"
    async with background(stack, "record", "-o", str(path), "demo.>") as rec:
        await rec.said("recording demo.> to")
        async with stack.service("tester") as client:
            for i in range(20):
                await client.publish("demo.speed", Signal(path="Vehicle.Speed", value=float(i)))
            await until_recorded(path, 20)
        assert await stack.stop() == 0
        code, err = await rec.finished()
    assert code == 3  # no kernel
    assert "recorded 20 messages on 1 subject in " in err and str(path) in err
    assert err.rstrip().endswith("closed the connection: it stopped, or it disconnected "
                                 "this session")
    info = await carnel(stack, "info", str(path))
    assert "state        complete" in info.stdout


async def test_a_quiet_recorder_stays_joined_past_the_kernel_s_silence_limit(stack_factory):
    stack = await stack_factory(IMAGE).boot()
    path = stack.directory / "quiet.mcap"
    async with background(stack, "record", "-o", str(path), "--count", "1", "demo.>") as rec:
        await rec.said("recording demo.> to")
        # A session that says nothing after joining is dropped by the kernel: once this one is,
        # the recorder, which joined earlier, has been quiet long enough to be dropped too.
        silent = BusClient(stack.endpoint, "silent", credential=operator_credential(stack.run_dir))
        async with trio.open_nursery() as nursery:
            await nursery.start(silent.run)
            async with stack.service("tester") as client:
                with trio.fail_after(15):
                    while "silent" in {p.name for p in (
                            await client.call("kernel.stats", Empty(), BusStats)).processes}:
                        await trio.sleep(0.2)
                await client.publish("demo.late", Trip(metres=1.0))
                code, err = await rec.finished()
            nursery.cancel_scope.cancel()
    assert code == 0 and "recorded 1 message on 1 subject" in err, err
    assert await stack.stop() == 0


def write_recording(path: Path) -> None:
    with path.open("wb") as file:
        writer = RecordingWriter(file)
        for seq, (subject, source) in enumerate([
                ("demo.a", "x"), ("demo.b", "x"), ("kernel.process.x", "kernel"), ("demo.a", "x"),
                ("demo.b", "x"), ("demo.a", "x")], start=1):
            writer.write(BusMessage(subject, msgspec.msgpack.encode(seq), source=source, seq=seq,
                                    log_ns=seq * 1_000_000))
        writer.close()


async def test_replay_loops_over_the_chosen_subjects_until_stopped(stack_factory):
    stack = await stack_factory(IMAGE).boot()
    source, copy = stack.directory / "made.mcap", stack.directory / "copy.mcap"
    write_recording(source)
    async with background(stack, "record", "-o", str(copy), "--count", "9", ">") as rec:
        await rec.said("recording > to")
        async with background(stack, "replay", str(source), "--loop", "--subjects", "demo.a",
                              "--rate", "0") as replay:
            code, err = await rec.finished()
            assert code == 0, err
            replay.proc.send_signal(signal.SIGINT)
            code, err = await replay.finished()
    assert code == 0, err
    assert "passes" in err and "kernel announcement" in err
    assert [(m.subject, msgspec.msgpack.decode(m.payload)) for m in recorded(copy)] == \
        [("demo.a", 1), ("demo.a", 4), ("demo.a", 6)] * 3
    assert await stack.stop() == 0


def write_damaged_recording(path: Path) -> None:
    """Three messages in a good chunk, then three in a chunk zeroed in the middle of its data."""
    with path.open("wb") as file:
        writer = RecordingWriter(file)
        for seq in range(1, 7):
            if seq == 4:
                writer.flush()
                damaged_from = writer.bytes_written + 80  # past the chunk's record header
            writer.write(BusMessage("demo.a", msgspec.msgpack.encode([seq, "x" * 100]),
                                    source="x", seq=seq, log_ns=seq * 1_000_000))
        writer.close()
    data = bytearray(path.read_bytes())
    data[damaged_from:damaged_from + 40] = bytes(40)
    path.write_bytes(data)


async def test_replay_of_a_damaged_recording_sends_what_precedes_the_damage_and_fails(
        stack_factory):
    stack = await stack_factory(IMAGE).boot()
    source, copy = stack.directory / "damaged.mcap", stack.directory / "copy.mcap"
    write_damaged_recording(source)
    async with background(stack, "record", "-o", str(copy), "--count", "3", "demo.a") as rec:
        await rec.said("recording demo.a to")
        replay = await carnel(stack, "replay", str(source), "--rate", "0")
        assert replay.returncode == 1, replay.stderr  # failed, not a usage error
        assert f"carnel replay: {source} is damaged near byte " in replay.stderr
        assert replay.stderr.rstrip().endswith("replay stopped there, after 3 messages")
        code, err = await rec.finished()
    assert code == 0, err
    assert [msgspec.msgpack.decode(m.payload)[0] for m in recorded(copy)] == [1, 2, 3]
    assert await stack.stop() == 0


async def test_what_the_operator_may_not_do_is_refused_and_said(stack_factory):
    stack = await stack_factory('[image]\nname = "narrow"\n\n'
                                '[operator]\npublish = ["demo.a"]\ncall = ["kernel.>"]\n').boot()
    source = stack.directory / "made.mcap"
    write_recording(source)
    replay = await carnel(stack, "replay", str(source), "--rate", "0")
    assert replay.returncode == 1
    assert "replayed 5 messages on 2 subjects" in replay.stderr
    assert "refused to route some of them (denied.publish: 2)" in replay.stderr

    record = await carnel(stack, "record", "-o", str(stack.directory / "none.mcap"))
    assert record.returncode == 1
    assert "carnel record: cannot subscribe to >: " in record.stderr and "may not" in record.stderr
    assert not (stack.directory / "none.mcap").exists()
    assert await stack.stop() == 0


def test_bad_input_gets_a_clear_error_and_a_usage_exit_code(tmp_path):
    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*CARNEL, "--run-dir", str(tmp_path / "run"), *args],
                              capture_output=True, text=True, timeout=30)

    text = tmp_path / "notes.txt"
    text.write_text("not a recording\n")
    taken = tmp_path / "taken.mcap"
    taken.write_bytes(b"")
    cases = [
        (run("info", str(text)), 2, f"carnel info: {text} is not an MCAP file"),
        (run("info", str(tmp_path / "gone.mcap")), 2, "carnel info: cannot read"),
        (run("replay", str(text)), 2, f"carnel replay: {text} is not an MCAP file"),
        (run("replay", str(taken), "--rate", "fast"), 2, "expected a number >= 0, not 'fast'"),
        (run("record", "-o", str(taken)), 3, "no kernel is running"),
        (run("record", "-o", str(taken), "a..b"), 2, "carnel record: not a subject pattern"),
    ]
    for result, code, says in cases:
        assert result.returncode == code and says in result.stderr, result


def test_a_recording_is_not_streamed_to_a_terminal(tmp_path):
    controller, terminal = pty.openpty()
    try:
        refused = subprocess.run([*CARNEL, "--run-dir", str(tmp_path / "run"), "record", "-o", "-"],
                                 stdout=terminal, stderr=subprocess.PIPE, text=True, timeout=30)
    finally:
        os.close(terminal)
        os.close(controller)
    assert refused.returncode == 2  # before it looks for a kernel: there is none
    assert refused.stderr == ("carnel record: -o - writes the recording to stdout, which is a "
                              "terminal: redirect it to a file or pipe it to a program\n")


def test_a_recording_is_not_read_from_a_terminal(tmp_path):
    controller, terminal = pty.openpty()
    try:
        refused = [subprocess.run([*CARNEL, "--run-dir", str(tmp_path / "run"), command, "-"],
                                  stdin=terminal, capture_output=True, text=True, timeout=30)
                   for command in ("info", "replay")]
    finally:
        os.close(terminal)
        os.close(controller)
    for command, result in zip(("info", "replay"), refused, strict=True):
        assert result.returncode == 2  # before it looks for a kernel: there is none
        assert result.stderr == (f"carnel {command}: - reads a recording from stdin, which is a "
                                 "terminal: pipe one in (carnel record -o - ... | carnel info -)\n")


async def test_record_refuses_to_overwrite_a_recording(stack_factory):
    stack = await stack_factory(IMAGE).boot()
    taken = stack.directory / "taken.mcap"
    taken.write_bytes(b"precious")
    refused = await carnel(stack, "record", "-o", str(taken))
    assert refused.returncode == 2
    assert "exists: choose another name, or pass --overwrite" in refused.stderr
    assert taken.read_bytes() == b"precious"
    assert await stack.stop() == 0
