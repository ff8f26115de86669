"""The developer's kit on a booted kernel: tap, top, schema, pub and call, as a user runs them."""
from __future__ import annotations

import json
import subprocess
from contextlib import asynccontextmanager

import trio

from carnel.ipc import Service
from carnel.ipc.schemas.bus import Empty
from carnel.ipc.schemas.trip import Trip
from carnel.ipc.schemas.vehicle import Signal
from conftest import CARNEL, program

# The operator may not publish trip.> nor call nav.>, so that both can be refused.
IMAGE = f"""[image]
name = "devkit-tools"

[operator]
publish = ["vehicle.>", "can.>"]
subscribe = [">"]
call = ["kernel.>", "vehicle.>", "trip.>"]
provide = [">"]

[process.sturdy]
{program("sturdy.py")}
provide = ["vehicle"]
"""
TIMEOUT = 30


async def read_until(stream: trio.abc.ReceiveStream, marker: bytes) -> bytes:
    seen = b""
    while marker not in seen:
        chunk = await stream.receive_some()
        if not chunk:
            raise AssertionError(f"the stream ended before {marker!r}: {seen!r}")
        seen += chunk
    return seen


async def read_all(stream: trio.abc.ReceiveStream) -> str:
    chunks = []
    while chunk := await stream.receive_some():
        chunks.append(chunk)
    return b"".join(chunks).decode()


@asynccontextmanager
async def tapping(stack, *args: str):
    """`carnel tap ARGS` running, once it says it is watching (its subscriptions are in)."""
    proc = await trio.lowlevel.open_process(
        [*CARNEL, "--run-dir", str(stack.run_dir), "tap", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=stack.env)
    try:
        with trio.fail_after(TIMEOUT):
            await read_until(proc.stderr, b"watching")
        yield proc
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


SPEED = '{"path": "Vehicle.Speed", "value": %s, "unit": "km/h"}'


async def test_tap_shows_the_retained_value_first_then_live_publications(stack_factory):
    stack = await stack_factory(IMAGE).boot()
    published = await stack.carnel_async("pub", "vehicle.Speed", SPEED % 50.0, "--retain")
    assert published.returncode == 0, published.stderr
    assert "published Signal on vehicle.Speed (retained)" in published.stderr

    async with tapping(stack, "vehicle.>", "-n", "2") as tap:
        live = await stack.carnel_async("pub", "vehicle.Speed", SPEED % 61.5)
        assert live.returncode == 0, live.stderr
        with trio.fail_after(TIMEOUT):
            lines = (await read_all(tap.stdout)).splitlines()
            assert await tap.wait() == 0
    retained, fresh = lines
    assert " vehicle.Speed retained Signal " in retained and "value=50.0" in retained
    assert " pub-" in retained and 'unit="km/h"' in retained
    assert "retained" not in fresh and "value=61.5" in fresh

    # A publication without --retain leaves the kept value as it was.
    as_json = await stack.carnel_async("tap", "--json", "-n", "1", "vehicle.Speed")
    assert as_json.returncode == 0, as_json.stderr
    item = json.loads(as_json.stdout)
    assert item["retained"] and item["type"] == "Signal" and item["message"]["value"] == 50.0
    assert await stack.stop() == 0


async def test_pub_refuses_a_wrong_field_by_name_and_says_when_the_kernel_refuses(stack_factory):
    stack = await stack_factory(IMAGE).boot()
    denied = await stack.carnel_async("pub", "trip.distance", '{"metres": 1}')
    assert denied.returncode == 1
    assert "denied: the kernel refused to route it (denied.publish)" in denied.stderr
    wrong = await stack.carnel_async("pub", "vehicle.Speed",
                                     '{"path": "Vehicle.Speed", "value": [1]}')
    assert wrong.returncode == 2
    assert "vehicle.Speed takes a Signal: Expected" in wrong.stderr
    assert "got `array` - at `$.value`" in wrong.stderr
    undeclared = await stack.carnel_async("pub", "weather.now", "{}")
    assert undeclared.returncode == 2 and "pass --type" in undeclared.stderr
    misspelt = await stack.carnel_async(
        "pub", "vehicle.Speed", '{"path": "Vehicle.Speed", "value": 1, "unitt": "km/h"}')
    assert misspelt.returncode == 2
    assert misspelt.stderr == ("carnel pub: vehicle.Speed takes a Signal, which has no field "
                               "`unitt`: its fields are path, value, unit, timestamp_ns, source, "
                               "stale\n")
    retyped = await stack.carnel_async("pub", "vehicle.Speed", '{"metres": 1}', "--type", "Trip")
    assert retyped.returncode == 2
    assert retyped.stderr.startswith("carnel pub: vehicle.Speed carries a Signal, not a Trip: ")
    stats = json.loads((await stack.carnel_async("stats", "--json")).stdout)
    assert "vehicle.Speed" not in {s["subject"] for s in stats["subjects"]}
    assert await stack.stop() == 0


async def test_call_prints_the_reply_and_each_typed_error_exits_non_zero(stack_factory):
    stack = await stack_factory(IMAGE).boot()
    trip = Service("trip")

    @trip.provide("trip.reset")
    async def reset(_: Empty) -> Trip:
        raise RuntimeError("odometer stuck")

    @trip.provide("trip.slow")
    async def slow(_: Empty) -> Trip:
        await trio.sleep_forever()

    @trip.provide("trip.late")
    async def late(_: Empty) -> Trip:
        # Longer than the kernel lets a session stay silent: 3 heartbeats of 1 s, checked
        # once a second.
        await trio.sleep(4.2)
        return Trip(metres=7.0)

    async with stack.service("trip", trip):
        reply = await stack.carnel_async("call", "vehicle.get", '{"paths": ["Vehicle.Speed"]}')
        assert reply.returncode == 0, reply.stderr
        assert json.loads(reply.stdout) == {"type": "signal_values", "signals": [],
                                            "unknown": ["Vehicle.Speed"]}
        errors = {
            "bad_request": ("call", "vehicle.get", '{"paths": [""]}'),
            "internal": ("call", "trip.reset"),
            "timeout": ("call", "trip.slow", "--type", "Empty", "--timeout", "0.5"),
            "denied": ("call", "nav.route", "--type", "Empty"),
        }
        for code, args in errors.items():
            failed = await stack.carnel_async(*args)
            assert failed.returncode == 1, (code, failed.stderr)
            assert failed.stderr.startswith(f"carnel call: {code}: "), failed.stderr
            assert failed.stdout == ""
        answered = await stack.carnel_async("call", "trip.late", "--type", "Empty",
                                            "--timeout", "10")
        assert answered.returncode == 0, answered.stderr
        assert json.loads(answered.stdout)["metres"] == 7.0
        wrong = await stack.carnel_async("call", "vehicle.get", '{"paths": [1]}')
        assert wrong.returncode == 2
        assert "Expected `str`, got `int` - at `$.paths[0]`" in wrong.stderr
        # Dropped, the misspelt field would leave an empty query, which asks for every signal.
        misspelt = await stack.carnel_async("call", "vehicle.get", '{"pathz": ["Vehicle.Speed"]}')
        assert misspelt.returncode == 2 and misspelt.stdout == ""
        assert misspelt.stderr == ("carnel call: vehicle.get takes a SignalQuery, which has no "
                                   "field `pathz`: its fields are paths\n")
        retyped = await stack.carnel_async("call", "vehicle.get", "--type", "Empty")
        assert retyped.returncode == 2 and retyped.stdout == ""
        assert "vehicle.get takes a SignalQuery, not an Empty" in retyped.stderr
    gone = await stack.carnel_async("call", "trip.reset")
    assert gone.returncode == 1 and gone.stderr.startswith("carnel call: unavailable: ")
    assert await stack.stop() == 0


async def test_top_once_shows_rates_per_subject_and_per_process(stack_factory):
    stack = await stack_factory(IMAGE).boot()
    async with stack.service("speedo") as speedo:
        async with trio.open_nursery() as nursery:
            async def publish_until_cancelled() -> None:
                while True:
                    await speedo.publish("vehicle.Speed", Signal(path="Vehicle.Speed", value=1))
                    await trio.sleep(0.01)

            nursery.start_soon(publish_until_cancelled)
            top = await stack.carnel_async("top", "--once", "--interval", "0.5", "--json")
            text = await stack.carnel_async("top", "-n", "1", "--interval", "0.2")
            nursery.cancel_scope.cancel()
    assert top.returncode == 0, top.stderr
    view = json.loads(top.stdout)
    subjects = {s["subject"]: s for s in view["subjects"]}
    processes = {p["name"]: p for p in view["processes"]}
    assert subjects["vehicle.Speed"]["msgs_per_s"] > 0
    assert processes["speedo"]["msgs_in_per_s"] > 0 and "sturdy" in processes
    assert not [name for name in processes if name.startswith("top-")]
    assert text.returncode == 0, text.stderr
    assert "SUBJECT" in text.stdout and "vehicle.Speed" in text.stdout
    assert await stack.stop() == 0


def test_schema_describes_subjects_and_lists_them_without_a_kernel(tmp_path):
    def schema(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*CARNEL, "--run-dir", str(tmp_path), "schema", *args],
                              capture_output=True, text=True, timeout=TIMEOUT)

    listing = schema()
    assert listing.returncode == 0
    assert "vehicle.get      SignalQuery  SignalValues" in listing.stdout
    assert "vehicle.>         Signal" in listing.stdout
    speed = schema("vehicle.Speed")
    assert speed.returncode == 0
    assert "value         float | int | bool | str  required" in speed.stdout
    as_json = json.loads(schema("vehicle.get", "--json").stdout)
    assert set(as_json) == {"subject", "request", "reply"}
    unknown = schema("nowhere.at.all")
    assert unknown.returncode == 2 and "carnel schema lists them" in unknown.stderr
    wildcard = schema("vehicle.*")
    assert wildcard.returncode == 2
    assert wildcard.stderr == ("carnel schema: 'vehicle.*': wildcards are allowed only in SUB and "
                               "UNSUB\n")


def test_each_command_s_help_explains_it_with_an_example():
    for command in ("tap", "top", "schema", "pub", "call", "fuzz"):
        help_text = subprocess.run([*CARNEL, command, "--help"], capture_output=True, text=True,
                                   check=True, timeout=TIMEOUT).stdout
        assert f"example: carnel {command}" in help_text


async def test_tap_ends_with_a_clear_error_when_the_kernel_stops(stack_factory):
    stack = await stack_factory(IMAGE).boot()
    async with tapping(stack, "vehicle.>") as tap:
        assert await stack.stop() == 0
        with trio.fail_after(TIMEOUT):
            said = (await read_all(tap.stderr)).strip()
            assert await tap.wait() == 3
    assert said.endswith(f"carnel tap: the kernel at {stack.run_dir} closed the connection: "
                         "it stopped, or it disconnected this session"), said
