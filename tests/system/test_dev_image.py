"""The bundled dev image and the `carnel` command, the way README.md shows them."""
from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import trio

from carnel.ipc.schemas.bus import Empty
from carnel.ipc.schemas.trip import Trip
from conftest import CARNEL, wait_exit


async def test_dev_image_boots_and_the_trip_computer_works(stack_factory):
    stack = await stack_factory("dev").boot()
    async with stack.service("tester") as client:
        async with client.messages("trip.distance", Trip) as trips:
            with trio.fail_after(10):
                first = await trips.__anext__()  # retained: arrives at once
                reset = await client.call("trip.reset", Empty(), Trip, timeout=5)
                assert reset.metres == 0.0 and reset.since_ns > 0
                async for trip in trips:
                    if trip.since_ns == reset.since_ns:
                        break
        assert first.metres >= 0.0

    ps = stack.carnel("ps")
    assert ps.returncode == 0, ps.stderr
    rows = {line.split()[0]: line.split()[1] for line in ps.stdout.splitlines()[2:]}
    assert rows == {name: "ready" for name in ("gps", "can", "obd", "vehicle", "trip")}

    stats = stack.carnel("stats")
    assert stats.returncode == 0 and "vehicle.Speed" in stats.stdout
    listed = {line.split()[0] for line in stats.stdout.split("\n\n")[1].splitlines()[1:]}
    assert listed == {"gps", "can", "obd", "vehicle", "trip"}  # not the command's own session

    unknown = stack.carnel("restart", "nosuch")
    assert unknown.returncode == 1 and "no process named 'nosuch'" in unknown.stderr

    restart = stack.carnel("restart", "trip")
    assert restart.returncode == 0, restart.stderr

    logs = stack.carnel("logs", "trip")
    assert logs.returncode == 0 and "service_ready" in logs.stdout
    assert "process=vehicle " not in logs.stdout

    assert await stack.stop() == 0
    out = stack.output()
    assert out.index("killing") < out.index("image_stopped")
    # Stopped in reverse start order: the trip computer before the vehicle service it follows.
    assert out.index("signal=SIGTERM target=trip") < out.index("signal=SIGTERM target=vehicle")


def test_version_says_which_hot_path_is_active():
    out = subprocess.run([*CARNEL, "version"], capture_output=True, text=True, check=True).stdout
    assert "hot path: " in out and ("ext" in out or "pure" in out)


def test_help_explains_every_command():
    out = subprocess.run([*CARNEL, "--help"], capture_output=True, text=True, check=True).stdout
    for command in ("boot", "ps", "stats", "start", "stop", "restart", "shutdown", "logs"):
        assert command in out


def test_control_without_a_kernel_says_how_to_start_one(tmp_path):
    result = subprocess.run([*CARNEL, "--run-dir", str(tmp_path), "ps"], capture_output=True,
                            text=True)
    assert result.returncode == 3
    assert f"no kernel is running at {tmp_path}: start one with `carnel boot`" in result.stderr


def boot_refused(tmp_path, manifest: str) -> tuple[subprocess.CompletedProcess, Path]:
    """`carnel boot` of an image with `manifest`, which must start nothing."""
    image = tmp_path / "image.toml"
    image.write_text(manifest)
    result = subprocess.run([*CARNEL, "--run-dir", str(tmp_path / "run"), "boot", str(image)],
                            capture_output=True, text=True, timeout=30)
    assert not (tmp_path / "run" / "bus.sock").exists()
    return result, image


def test_broken_manifest_is_a_clear_error_and_starts_nothing(tmp_path):
    result, image = boot_refused(
        tmp_path, '[image]\nname = "x"\n\n[process.a]\nmodule = "m"\nrestart = "sometimes"\n')
    assert result.returncode == 2
    assert str(image) in result.stderr and "restart" in result.stderr and ":6" in result.stderr


def test_a_router_cpu_the_machine_lacks_is_a_clear_error_and_starts_nothing(tmp_path):
    result, _ = boot_refused(tmp_path, '[image]\nname = "pinned"\n\n[bus]\nrouter_cpu = 4095\n')
    assert result.returncode == 1
    assert "image pinned, [bus]: router_cpu = 4095, but the kernel may run only on CPUs" \
        in result.stderr


async def test_the_kernel_runs_as_many_io_threads_as_its_image_asks(stack_factory):
    stack = await stack_factory(
        '[image]\nname = "bulk"\n\n[bus]\nio_threads = 2\n\n[operator]\ncall = ["kernel.>"]\n'
    ).boot()
    tasks = Path(f"/proc/{stack.proc.pid}/task")
    names = [(task / "comm").read_text() for task in tasks.iterdir()]
    assert sum(name.startswith("ZMQbg/IO/") for name in names) == 2
    ps = stack.carnel("ps")
    assert ps.returncode == 0 and "image bulk (running)" in ps.stdout, ps.stderr
    assert await stack.stop() == 0


async def test_a_stopped_process_is_listed_without_pid_or_uptime_until_started(stack_factory):
    stack = await stack_factory("dev").boot()

    async def trip_when(state: str) -> dict:
        with trio.fail_after(10):
            while True:
                ps = await stack.carnel_async("ps", "--json")
                trip = next(p for p in json.loads(ps.stdout)["processes"] if p["name"] == "trip")
                if trip["state"] == state:
                    return trip
                await trio.sleep(0.05)

    assert stack.carnel("stop", "trip").returncode == 0
    stopped = await trip_when("stopped")
    assert (stopped["pid"], stopped["uptime_s"]) == (None, None)
    row = next(line for line in stack.carnel("ps").stdout.splitlines() if line.startswith("trip"))
    assert row.split()[:4] == ["trip", "stopped", "-", "-"]
    again = stack.carnel("stop", "trip")  # what already holds is no failure, as in systemctl
    assert (again.returncode, again.stdout) == (0, "stop: trip is already stopped\n")
    assert stack.carnel("start", "trip").returncode == 0
    started = await trip_when("ready")
    assert started["pid"] and 0 <= started["uptime_s"] < 10
    again = stack.carnel("start", "trip")
    assert (again.returncode, again.stdout) == (0, "start: trip is already ready\n")
    unknown = stack.carnel("stop", "tirp")
    assert unknown.returncode == 1 and "no process named 'tirp'" in unknown.stderr
    assert await stack.stop() == 0


async def test_commands_after_a_killed_kernel_say_none_runs_at_once(stack_factory):
    stack = await stack_factory("dev").boot()
    stack.proc.kill()
    with trio.fail_after(10):
        await wait_exit(stack.proc.pid)
    ps = stack.carnel("ps", timeout=2)  # no join attempt: the left socket refuses at once
    assert ps.returncode == 3
    assert "no kernel is running at" in ps.stderr and "was killed and left its socket" in ps.stderr


async def test_carnel_shutdown_stops_the_kernel_and_then_commands_say_none_runs(stack_factory):
    stack = await stack_factory("dev").boot()
    shutdown = stack.carnel("shutdown")
    assert shutdown.returncode == 0 and "shutdown: shutting down" in shutdown.stdout
    with trio.fail_after(20):
        await wait_exit(stack.proc.pid)
    assert stack.proc.wait() == 0
    ps = stack.carnel("ps")
    assert ps.returncode == 3
    assert "carnel ps: no kernel is running at" in ps.stderr


async def test_a_command_the_operator_may_not_use_is_refused_in_one_line(stack_factory):
    stack = await stack_factory('[image]\nname = "closed"\n\n[operator]\ncall = ["kernel.ps"]\n'
                                ).boot()
    stats = stack.carnel("stats")
    assert stats.returncode == 1
    assert re.fullmatch(
        r"carnel stats: denied: kernel.stats: stats-\d+ may not call kernel.stats \(the "
        r"image's \[operator\] section lists what the carnel commands may do\)\n", stats.stderr)
    assert await stack.stop() == 0


async def test_carnel_pure_boots_on_the_twin_and_says_so(stack_factory):
    stack = await stack_factory("dev", env={"CARNEL_PURE": "1"}).boot()
    ps = stack.carnel("ps")
    assert ps.returncode == 0, ps.stderr
    assert "hot path: pure" in ps.stdout.splitlines()[0]
    assert "vehicle.Speed" in stack.carnel("stats").stdout
    assert await stack.stop() == 0


async def test_kernel_feeds_the_systemd_watchdog_and_says_when_it_stops(stack_factory):
    stack = await stack_factory("dev", env={"WATCHDOG_USEC": "200000"}).boot()
    # Half the watchdog interval apart: two pings well within a second.
    await stack.wait_for_notification("WATCHDOG=1", timeout=5)
    await stack.wait_for_notification("WATCHDOG=1", timeout=5)
    stack.proc.send_signal(signal.SIGTERM)
    await stack.wait_for_notification("STOPPING=1", timeout=10)
    assert await stack.stop() == 0


async def test_under_systemd_the_kernel_logs_one_json_object_a_line(stack_factory):
    stack = await stack_factory("dev", env={"JOURNAL_STREAM": "8:12345"}).boot()
    assert await stack.stop() == 0
    lines = [line for line in stack.output().splitlines() if line.strip()]
    events = [json.loads(line)["event"] for line in lines]
    assert "image_ready" in events and "image_stopped" in events


def test_unit_file_is_a_notify_service_with_a_watchdog():
    unit = (Path(__file__).resolve().parents[2] / "kernel/systemd/carnel.service").read_text()
    assert "Type=notify" in unit and "WatchdogSec=" in unit
    assert "ExecStart=" in unit and "carnel boot" in unit


def test_dash_dash_version_prints_what_carnel_version_does():
    version = subprocess.run([*CARNEL, "version"], capture_output=True, text=True, check=True)
    dashed = subprocess.run([*CARNEL, "--version"], capture_output=True, text=True, check=True)
    assert dashed.stdout == version.stdout and len(dashed.stdout.splitlines()) == 3


def test_a_run_directory_too_long_for_a_unix_socket_is_refused_before_anything_is_made(tmp_path):
    run = tmp_path / ("r" * 120)
    result = subprocess.run([*CARNEL, "--run-dir", str(run), "boot", "dev"], capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 2
    assert result.stderr.startswith(f"carnel boot: the bus socket would be {run}/bus.sock, ")
    assert "at most 107; choose a shorter run directory" in result.stderr
    assert not run.exists()


async def test_a_service_the_image_does_not_let_provide_says_so_in_one_line(stack_factory):
    stack = await stack_factory('[image]\nname = "misconfigured"\n\n[operator]\ncall = ["kernel.>"]\n'
                                '\n[process.a]\nmodule = "carnel.services.trip"\n'
                                'restart = "temporary"\n').boot()
    with trio.fail_after(10):
        while True:
            ps = await stack.carnel_async("ps", "--json")
            (a,) = json.loads(ps.stdout)["processes"]
            if a["state"] == "failed":
                break
            await trio.sleep(0.05)
    assert a["last_exit"] == "exit 1"
    out = stack.output()
    (line,) = [line for line in out.splitlines() if "process=a" in line and "error" in line]
    assert "join_refused" in line and "may not provide trip.reset" in line
    assert "the image's [process.a] table lists what it may do" in line
    assert "Traceback" not in out
    assert await stack.stop() == 0


def test_boot_reads_an_existing_manifest_whatever_its_name(tmp_path):
    image = tmp_path / "mycar"
    image.write_text('[image]\nname = "x"\n\n[process.a]\nmodule = "m"\nrestart = "sometimes"\n')
    result = subprocess.run([*CARNEL, "--run-dir", str(tmp_path / "run"), "boot", str(image.name)],
                            capture_output=True, text=True, timeout=30, cwd=tmp_path)
    assert result.returncode == 2
    assert "mycar:6" in result.stderr and "restart" in result.stderr


def test_a_limit_the_system_will_not_set_is_refused_at_boot_by_name(tmp_path):
    result, _ = boot_refused(tmp_path, '[image]\nname = "limited"\n\n[process.a]\nmodule = "m"\n'
                                       '\n[process.a.limits]\nopen_files = 2147483647\n')
    assert result.returncode == 1
    assert ("image limited, [process.a.limits]: open_files = 2147483647 is above what this "
            "system allows (") in result.stderr
    assert "Traceback" not in result.stderr


def test_a_misspelled_module_is_refused_at_boot_with_the_likely_name(tmp_path):
    result, _ = boot_refused(tmp_path, '[image]\nname = "typo"\n\n[process.trip]\n'
                                       'module = "carnel.services.trpi"\n')
    assert result.returncode == 1
    assert result.stderr == ("carnel boot: image typo, [process.trip]: module "
                             "'carnel.services.trpi' does not exist (did you mean "
                             "carnel.services.trip?)\n")


async def test_a_kernel_stopped_for_longer_than_the_heartbeat_window_kills_nobody(stack_factory):
    stack = await stack_factory("dev").boot()
    stack.proc.send_signal(signal.SIGSTOP)
    await trio.sleep(4)  # the time passing is the point: beyond 3 missed heartbeats of 1 s
    stack.proc.send_signal(signal.SIGCONT)
    with trio.fail_after(10):
        while "kernel_stalled" not in stack.output():
            await trio.sleep(0.05)
    # Queued heartbeats are read within CATCH_UP_S, before the first deadline is judged.
    await trio.sleep(1.5)
    ps = json.loads((await stack.carnel_async("ps", "--json")).stdout)
    assert {p["name"]: p["restarts"] for p in ps["processes"]} == dict.fromkeys(
        ("gps", "can", "obd", "vehicle", "trip"), 0)
    assert "signal=SIGKILL" not in stack.output()
    assert await stack.stop() == 0


async def test_a_service_run_by_hand_ends_when_the_kernel_goes(stack_factory):
    stack = await stack_factory("dev").boot()
    env = {**stack.env, "CARNEL_RUN_DIR": str(stack.run_dir), "CARNEL_NAME": "mytrip"}
    by_hand = await trio.lowlevel.open_process(
        [sys.executable, "-m", "carnel.services.trip"], env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT)
    try:
        with trio.fail_after(10):
            while "mytrip" not in (await stack.carnel_async("stats")).stdout:
                await trio.sleep(0.05)
        assert await stack.stop() == 0
        with trio.fail_after(10):
            code = await by_hand.wait()
        out = (await by_hand.stdout.receive_some(1 << 20)).decode()
    finally:
        by_hand.kill()
    assert code == 1
    assert "kernel_gone" in out and "the kernel closed the connection" in out
    assert "Traceback" not in out


async def test_a_service_run_by_hand_whose_name_a_second_takes_ends_saying_so(stack_factory):
    stack = await stack_factory("dev").boot()
    env = {**stack.env, "CARNEL_RUN_DIR": str(stack.run_dir), "CARNEL_NAME": "mytrip"}
    command = [sys.executable, "-m", "carnel.services.trip"]
    first = await trio.lowlevel.open_process(command, env=env, stdout=subprocess.PIPE,
                                             stderr=subprocess.STDOUT)
    second = None
    try:
        with trio.fail_after(10):
            while "mytrip" not in (await stack.carnel_async("stats")).stdout:
                await trio.sleep(0.05)
        second = await trio.lowlevel.open_process(command, env=env, stdout=subprocess.DEVNULL)
        with trio.fail_after(10):
            code = await first.wait()
        out = (await first.stdout.receive_some(1 << 20)).decode()
        assert code == 1
        assert "name_taken" in out
        assert f"another process (pid {second.pid}) joined the bus as 'mytrip'" in out
        assert "Traceback" not in out
        assert second.poll() is None  # the newcomer serves on
        assert any("peer_replaced" in line and f"new_pid={second.pid} old_pid={first.pid}" in line
                   for line in stack.output().splitlines())
    finally:
        first.kill()
        if second is not None:
            second.kill()
    assert await stack.stop() == 0


async def test_a_service_run_by_hand_under_an_image_s_name_is_told_how_to_join(stack_factory):
    stack = await stack_factory("dev").boot()
    env = {**stack.env, "CARNEL_RUN_DIR": str(stack.run_dir)}  # no CARNEL_NAME: it is "trip"
    with trio.fail_after(20):
        refused = await trio.run_process([sys.executable, "-m", "carnel.services.trip"], env=env,
                                         capture_stdout=True, capture_stderr=True, check=False)
    out = refused.stdout.decode() + refused.stderr.decode()
    assert refused.returncode == 1
    assert "join_refused" in out and "may not join as 'trip'" in out
    assert ("run by hand, it joins as the operator: the image's [operator] table lists what it "
            "may do, and 'trip' must be a name no process of the image has (set CARNEL_NAME)"
            in out)
    assert await stack.stop() == 0
