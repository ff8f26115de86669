"""`carnel fuzz` on a booted kernel: a fragile service's crashes found, none in a sturdy one."""
from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import trio

from conftest import CARNEL, OPERATOR, program

TIMEOUT = 60


def image(name: str, script: str, subscribe: str = "") -> str:
    # Room for many restarts in a short run: the supervisor must not give up on the image.
    return (f'[image]\nname = "devkit-fuzz"\n\n[supervisor]\nintensity = 1000\nperiod = 1\n'
            f'restart_delay = 0.05\nrestart_delay_max = 0.2\n\n{OPERATOR}\n'
            f'[process.{name}]\n{program(script)}\nprovide = ["vehicle"]\n'
            + (f'subscribe = ["{subscribe}"]\n' if subscribe else ""))


def carnel(stack, *args: str):
    return stack.carnel_async(*args, timeout=TIMEOUT)  # a fuzz run takes seconds of its own


async def test_fuzz_finds_a_fragile_service_s_crashes_and_exits_non_zero(stack_factory):
    stack = await stack_factory(image("fragile", "fragile.py", "can.signals.>")).boot()
    found = await carnel(stack, "fuzz", "fragile", "--seconds", "3", "--seed", "1",
                         "--image", stack.image_arg)
    assert found.returncode == 1, found.stdout + found.stderr
    report = found.stdout
    assert "carnel fuzz: fragile for 3 s, seed 1, on can.signals.fuzz, vehicle.get" in found.stderr
    assert "fragile crashed" in report and "(SIGABRT)" in report
    # The request it died answering, as a command that sends it again.
    assert "call vehicle.get (generated) -> unavailable" in report
    assert "carnel call vehicle.get '{\"type\":\"signal_query\",\"paths\":[" in report
    assert "restarts during the run: fragile +" in report
    assert report.rstrip().endswith("found") and "no crashes" not in report

    listing = json.loads((await carnel(stack, "ps", "--json")).stdout)
    fragile = next(p for p in listing["processes"] if p["name"] == "fragile")
    assert fragile["restarts"] >= 1 and fragile["last_exit"] in ("SIGABRT", "exit 1")
    assert await stack.stop() == 0


async def test_fuzz_reports_no_crash_of_a_sturdy_service_and_its_replies_by_code(stack_factory):
    stack = await stack_factory(image("sturdy", "sturdy.py")).boot()
    clean = await carnel(stack, "fuzz", "sturdy", "--seconds", "2", "--seed", "1",
                         "--image", stack.image_arg)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    row = next(line for line in clean.stdout.splitlines() if line.startswith("  vehicle.get"))
    assert "call" in row and "bad_request" in row and "ok" in row
    assert clean.stdout.rstrip().endswith("no crashes found")
    assert "restarts during the run" not in clean.stdout
    assert await stack.stop() == 0


async def test_fuzz_reads_the_image_the_kernel_booted_and_needs_a_process_of_it(stack_factory):
    stack = await stack_factory(image("sturdy", "sturdy.py")).boot()
    clean = await carnel(stack, "fuzz", "sturdy", "--seconds", "1", "--seed", "1")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert clean.stdout.rstrip().endswith("no crashes found")
    unknown = await carnel(stack, "fuzz", "nosuch")
    assert unknown.returncode == 2 and "no process named 'nosuch'" in unknown.stderr
    booted = Path(stack.image_arg)
    booted.rename(booted.with_suffix(".moved"))
    moved = await carnel(stack, "fuzz", "sturdy", "--seconds", "1")
    assert moved.returncode == 2
    assert "cannot read the running image's file" in moved.stderr
    assert "pass the image with --image" in moved.stderr
    assert await stack.stop() == 0


async def test_fuzz_stopped_with_ctrl_c_reports_what_it_did_so_far(stack_factory):
    stack = await stack_factory(image("sturdy", "sturdy.py")).boot()
    fuzz = await trio.lowlevel.open_process(
        [*CARNEL, "--run-dir", str(stack.run_dir), "fuzz", "sturdy", "--seconds", "60",
         "--seed", "1", "--image", stack.image_arg],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=stack.env)
    try:
        with trio.fail_after(TIMEOUT):
            said = b""
            while b"carnel fuzz: sturdy for 60 s" not in said:
                chunk = await fuzz.stderr.receive_some()
                assert chunk, said.decode()
                said += chunk
        fuzz.send_signal(signal.SIGINT)
        with trio.fail_after(10):  # far from the 60 s asked for
            report = b""
            while chunk := await fuzz.stdout.receive_some():
                report += chunk
            code = await fuzz.wait()
    finally:
        if fuzz.returncode is None:
            fuzz.kill()
        with trio.CancelScope(shield=True):
            await fuzz.wait()
    text = report.decode()
    assert code == 0, text
    assert text.startswith("carnel fuzz: sturdy for ") and ", seed 1: " in text
    assert "stopped early: interrupted by SIGINT" in text
    assert text.rstrip().endswith("no crashes found")
    assert await stack.stop() == 0
