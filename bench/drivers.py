"""Driver decoding speed, every case against its baseline in the same run.

    python bench/drivers.py [--quick] [--json] [--cases nmea,can_decode]

  nmea        NMEA 0183 sentences parsed, checksum verified, into typed sentences by the gps
              driver's parse_sentence, against pynmea2.parse(line, check=True), on the real
              sentences of the GPS tests (tests/drivers/gps/data/gpsd) that both accept
  can_decode  CAN frames decoded into the mapped signal values by the can driver's
              SignalDecoder (every signal mapped), against a bare cantools
              db.decode_message(frame_id, data) loop, on the battery-bus capture the CAN tests
              decode with msxii_system_can.dbc (cantools' own test data, fetched as they do)
  e2e         a booted kernel with the can driver replaying a candump log of the simulated
              car's speed frame at a fixed rate, the vehicle service (no deadband, no rate
              limit: every frame is a publication) and a subscriber of vehicle.Speed here:
              each frame's speed is its index, so a missing one is a lost frame. For a ladder of
              rates, the frames delivered and lost and the latency from the driver reading the
              frame to the subscriber holding the decoded signal; max_frames_per_s is the highest
              rate held (at least 95% of it achieved) with nothing lost, p50/p99 are at 4,000/s
              (a fully loaded 500 kbit/s bus)

Both sides of a case get the same input, already in memory, and run in turns in one process;
each side's time is its best pass. `ratio` is baseline time / ours: above 1, ours is faster.

A case is a function that takes the options and returns one result dict with at least "case"
and "ratio"; adding one (an end-to-end bus case, say) is a function and an entry in CASES.
"""
from __future__ import annotations

import argparse
import gc
import logging
import importlib.util
import json
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GPS_DATA = ROOT / "tests" / "drivers" / "gps" / "data" / "gpsd"
# Long enough for every sentence in the logs (an MT3339 sends 84-character GGA).
NMEA_MAX_LENGTH = 120


def best_per_item(run: Callable[[], object], items: int, passes: int) -> float:
    """The fastest of `passes` runs, in microseconds per item."""
    best = float("inf")
    for _ in range(passes):
        gc.collect()
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best / items * 1e6


def compare(ours: Callable[[], object], baseline: Callable[[], object], items: int,
            rounds: int, passes: int) -> tuple[float, float]:
    """Best times per item of both, measured in alternating rounds so both see the same noise."""
    ours_us = baseline_us = float("inf")
    for _ in range(rounds):
        ours_us = min(ours_us, best_per_item(ours, items, passes))
        baseline_us = min(baseline_us, best_per_item(baseline, items, passes))
    return ours_us, baseline_us


# -- nmea ------------------------------------------------------------------------------------------


def nmea_sentences(pynmea2) -> tuple[list[bytes], list[str]]:
    """Every sentence of the test logs that both parsers accept (ours alone without pynmea2)."""
    from carnel.drivers.gps import NmeaError, parse_sentence

    lines, texts = [], []
    for log in sorted(GPS_DATA.glob("*.log")):
        for line in log.read_bytes().splitlines():
            line = line.strip()
            if not line.startswith(b"$"):
                continue
            text = line.decode("ascii", "replace")
            try:
                parse_sentence(line, NMEA_MAX_LENGTH)
                if pynmea2 is not None:
                    pynmea2.parse(text, check=True)
            except NmeaError:
                continue
            except ValueError:  # pynmea2's ParseError, ChecksumError, SentenceTypeError
                continue
            lines.append(line)
            texts.append(text)
    return lines, texts


def check_nmea_agreement(pynmea2, lines: Sequence[bytes], texts: Sequence[str]) -> int:
    """Both parsers read the same positions, so both did the same work; returns how many."""
    from carnel.drivers.gps import GGA, RMC, parse_sentence

    checked = 0
    for line, text in zip(lines, texts):
        ours = parse_sentence(line, NMEA_MAX_LENGTH)
        if type(ours) not in (GGA, RMC) or ours.lat is None:
            continue
        theirs = pynmea2.parse(text, check=True)
        if abs(ours.lat - theirs.latitude) > 1e-9 or abs(ours.lon - theirs.longitude) > 1e-9:
            raise SystemExit(f"the parsers disagree on {text}")
        checked += 1
    return checked


def nmea_case(opts: argparse.Namespace) -> dict:
    from carnel.drivers.gps import parse_sentence

    try:
        import pynmea2
    except ImportError:
        pynmea2 = None
        print("nmea: pynmea2 is not installed, so this case has no baseline and no ratio "
              "(.venv/bin/pip install pynmea2, or install carnel's test extra)", file=sys.stderr)
    lines, texts = nmea_sentences(pynmea2)

    def ours() -> None:
        for line in lines:
            parse_sentence(line, NMEA_MAX_LENGTH)

    rounds, passes = (3, 10) if opts.quick else (10, 30)
    result = {"case": "nmea", "sentences": len(lines)}
    if pynmea2 is None:
        ours_us = best_per_item(ours, len(lines), rounds * passes)
        return {**result, "ours_us": round(ours_us, 3), "ours_per_s": round(1e6 / ours_us),
                "baseline": None, "ratio": None}
    agreed = check_nmea_agreement(pynmea2, lines, texts)
    parse = pynmea2.parse

    def baseline() -> None:
        for text in texts:
            parse(text, check=True)

    ours_us, baseline_us = compare(ours, baseline, len(lines), rounds, passes)
    return {
        **result,
        "positions_agreed": agreed,
        "ours_us": round(ours_us, 3),
        "baseline": "pynmea2.parse(check=True)",
        "baseline_us": round(baseline_us, 3),
        "ours_per_s": round(1e6 / ours_us),
        "baseline_per_s": round(1e6 / baseline_us),
        "ratio": round(baseline_us / ours_us, 2),
    }


# -- can_decode ------------------------------------------------------------------------------------


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def cantools_sdist() -> Path:
    """cantools' source, pinned and fetched the way the CAN tests fetch it (same cache)."""
    # The CAN tests' conftest imports public_data by that name; loading it first provides it.
    public_data = _load("public_data", ROOT / "tests" / "public_data.py")
    can_fixtures = _load("can_fixtures", ROOT / "tests" / "drivers" / "can" / "conftest.py")
    xdg = os.environ.get("XDG_CACHE_HOME")
    root = (Path(xdg) / "carnel" / "public-data" if xdg
            else ROOT / ".pytest_cache" / "d" / "carnel-public-data")
    root.mkdir(parents=True, exist_ok=True)
    return public_data.fetch_sdist(can_fixtures.CANTOOLS, root)


def battery_frames(sdist: Path) -> list[bytes]:
    """The solar car's battery-bus capture quoted in cantools' command-line test (id 0x401)."""
    source = (sdist / "tests" / "test_command_line.py").read_text(encoding="utf-8")
    pattern = re.compile(r"^\s+vcan0\s+401\s+\[6\]((?:\s+[0-9A-F]{2}){6})\s*$", re.MULTILINE)
    return [bytes.fromhex(match.group(1)) for match in pattern.finditer(source)]


def can_decode_case(opts: argparse.Namespace) -> dict:
    import cantools

    from carnel.drivers.can import CanFrame, DecoderConfig, SignalDecoder, SignalMapping

    sdist = cantools_sdist()
    dbc = sdist / "tests" / "files" / "dbc" / "msxii_system_can.dbc"
    database = cantools.database.load_file(dbc)
    message = database.get_message_by_frame_id(0x401)
    payloads = battery_frames(sdist)
    frames = [CanFrame(timestamp=1.0, arbitration_id=0x401, data=data) for data in payloads]
    decoder = SignalDecoder(database, DecoderConfig(signals=tuple(
        SignalMapping(message=message.name, signal=signal.name,
                      output=f"{message.name}.{signal.name}")
        for signal in message.signals)))
    decode = decoder.decode
    decode_message = database.decode_message
    ids_and_data = [(0x401, data) for data in payloads]
    ours_signals = sum(len(decode(frame)) for frame in frames)
    baseline_signals = sum(len(decode_message(i, d)) for i, d in ids_and_data)
    if ours_signals != baseline_signals:
        raise SystemExit(f"can_decode: {ours_signals} signals decoded, cantools {baseline_signals}")

    def ours() -> None:
        for frame in frames:
            decode(frame)

    def baseline() -> None:
        for frame_id, data in ids_and_data:
            decode_message(frame_id, data)

    rounds, passes = (3, 20) if opts.quick else (10, 60)
    ours_us, baseline_us = compare(ours, baseline, len(frames), rounds, passes)
    return {
        "case": "can_decode",
        "frames": len(frames),
        "signals": ours_signals,
        "message": message.name,
        "ours_us": round(ours_us, 3),
        "baseline": "cantools db.decode_message",
        "baseline_us": round(baseline_us, 3),
        "ours_per_s": round(1e6 / ours_us),
        "baseline_per_s": round(1e6 / baseline_us),
        "ratio": round(baseline_us / ours_us, 2),
    }


# -- e2e -------------------------------------------------------------------------------------------

E2E_SPEED_FRAME = 0x120  # VEHICLE_DYNAMICS: VehicleSpeed is bits 0-15, 0.01 km/h
E2E_INDICES = 1 << 16  # distinct speeds the frame can carry; indices wrap after that
E2E_LOADED_BUS = 4000
E2E_IMAGE = """
[image]
name = "bench-e2e"

[operator]
subscribe = ["vehicle.>"]
call = ["kernel.>"]

[process.can]
module = "carnel.drivers.can"
publish = ["can.>"]

[process.can.config]
source = "candump"
file = "{log}"
dbc = "{dbc}"

[process.can.config.signals]
"Vehicle.Speed" = "VEHICLE_DYNAMICS.VehicleSpeed"

[process.vehicle]
module = "carnel.services.vehicle"
subscribe = ["can.signals.>", "obd.signals.>", "gps.fix", "can.status", "obd.status",
             "gps.status"]
publish = ["vehicle.>"]
provide = ["vehicle"]

[process.vehicle.config.signals."Vehicle.Speed"]
sources = ["can"]
unit = "km/h"
max_age_s = 60.0
"""


def write_speed_log(path: Path, rate: int, seconds: float) -> None:
    """A candump -L log of the speed frame at `rate` per second, frame i carrying speed i."""
    start = 1_700_000_000.0
    with path.open("w") as log:
        for i in range(int(rate * seconds)):
            data = (i % E2E_INDICES).to_bytes(2, "little").hex().upper() + "0" * 12
            log.write(f"({start + i / rate:.6f}) can0 {E2E_SPEED_FRAME:03X}#{data}\n")


def unwrap(indices: list[int]) -> list[int]:
    """Frame numbers from speeds that wrap at 2**16, in arrival order."""
    out, base, last = [], 0, None
    for index in indices:
        if last is not None and index < last - E2E_INDICES // 2:
            base += E2E_INDICES
        out.append(base + index)
        last = index
    return out


def e2e_step(rate: int, window: float, folder: Path) -> dict:
    """Boot, receive vehicle.Speed for `window` seconds once it flows, and shut down."""
    import signal
    import socket
    import subprocess
    import tempfile

    import trio

    from carnel.ipc import Service
    from carnel.ipc.schemas.vehicle import Signal
    from carnel.ipc.settings import ProcessSettings, bus_endpoint, operator_credential
    from carnel.kernel.image import bundled_image

    sim = Path(bundled_image("dev").directory) / "sim"
    log = folder / f"speed-{rate}.log"
    write_speed_log(log, rate, window + 8.0)  # boot and joining come first
    image = folder / f"e2e-{rate}.toml"
    image.write_text(E2E_IMAGE.format(log=log, dbc=sim / "carnel_sim.dbc"))
    run_dir = Path(tempfile.mkdtemp(prefix="carnel-e2e-"))
    notify_path = run_dir.parent / f"{run_dir.name}.notify"
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(notify_path))
    notify.settimeout(60)
    kernel = subprocess.Popen(
        [sys.executable, "-m", "carnel.kernel.cli", "--run-dir", str(run_dir), "boot", str(image)],
        env={**os.environ, "NOTIFY_SOCKET": str(notify_path)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    arrivals: list[tuple[int, int, int]] = []  # (index, sent ns, received ns)

    async def receive() -> None:
        svc = Service("bench-e2e")

        @svc.subscribe("vehicle.Speed", type=Signal)
        async def on_speed(speed) -> None:
            arrivals.append((round(float(speed.value) * 100), speed.timestamp_ns, time.time_ns()))

        settings = ProcessSettings(name=svc.name, bus=bus_endpoint(run_dir), log_format="json",
                                   credential=operator_credential(run_dir))
        async with trio.open_nursery() as nursery:
            await nursery.start(svc.serve, settings)
            with trio.fail_after(30):
                while not arrivals:
                    await trio.sleep(0.01)
            await trio.sleep(0.5)  # past start-up
            arrivals.clear()
            await trio.sleep(window)
            nursery.cancel_scope.cancel()

    try:
        while b"READY=1" not in notify.recv(4096):
            pass
        trio.run(receive)
    finally:
        kernel.send_signal(signal.SIGTERM)
        kernel.wait(30)
        notify.close()
        notify_path.unlink(missing_ok=True)
    frames = unwrap([index for index, _, _ in arrivals])
    spanned = frames[-1] - frames[0] + 1
    seconds = (arrivals[-1][2] - arrivals[0][2]) / 1e9
    latencies = sorted((received - sent) / 1e6 for _, sent, received in arrivals)
    return {
        "rate": rate,
        "delivered": len(set(frames)),
        "lost": spanned - len(set(frames)),
        "achieved_per_s": round(spanned / seconds) if seconds else 0,
        "p50_ms": round(latencies[len(latencies) // 2], 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99)], 2),
    }


def e2e_case(opts: argparse.Namespace) -> dict:
    import tempfile

    rates = [1000, E2E_LOADED_BUS, 10_000, 20_000, 30_000]
    if not opts.quick:
        rates += [40_000, 60_000]
    window = 2.0 if opts.quick else 5.0
    with tempfile.TemporaryDirectory(prefix="carnel-bench-") as tmp:
        steps = [e2e_step(rate, window, Path(tmp)) for rate in rates]
    held = [s["rate"] for s in steps if s["lost"] == 0 and s["achieved_per_s"] >= 0.95 * s["rate"]]
    loaded = next(s for s in steps if s["rate"] == E2E_LOADED_BUS)
    return {
        "case": "e2e",
        "max_frames_per_s": max(held, default=0),
        "p50_ms": loaded["p50_ms"],
        "p99_ms": loaded["p99_ms"],
        "steps": steps,
    }


CASES: dict[str, Callable[[argparse.Namespace], dict]] = {
    "nmea": nmea_case,
    "can_decode": can_decode_case,
    "e2e": e2e_case,
}


def print_table(results: list[dict]) -> None:
    print(f"{'case':<11} {'items':>6} {'ours us':>8} {'baseline us':>11} {'ours/s':>9} "
          f"{'ratio':>6}   baseline")
    for r in results:
        if r["case"] == "e2e":
            continue
        items = r.get("sentences", r.get("frames", ""))
        baseline_us = r.get("baseline_us")
        ratio = r.get("ratio")
        print(f"{r['case']:<11} {items:>6} {r['ours_us']:>8.2f} "
              f"{f'{baseline_us:.2f}' if baseline_us is not None else '-':>11} "
              f"{round(1e6 / r['ours_us']):>9} "
              f"{f'{ratio:.2f}x' if ratio is not None else '-':>6}   {r.get('baseline') or '-'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer passes: a few seconds")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated subset")
    opts = parser.parse_args()
    from carnel.ipc import logs

    logs.configure("json", stream=sys.stderr, level=logging.WARNING)  # stdout is the report
    unknown = [case for case in opts.cases.split(",") if case not in CASES]
    if unknown:
        parser.error(f"unknown case {', '.join(unknown)}; cases: {', '.join(CASES)}")
    results = []
    for case in opts.cases.split(","):
        if not opts.json:
            print(f"  {case} ...", file=sys.stderr, flush=True)
        result = CASES[case](opts)
        results.append(result)
        if opts.json:
            print(json.dumps(result), flush=True)
    if not opts.json:
        print_table(results)
        for r in results:
            if r["case"] == "e2e":
                print_e2e(r)


def print_e2e(result: dict) -> None:
    print("\ne2e: CAN frame into the driver -> kernel -> vehicle -> kernel -> subscriber")
    print(f"{'frames/s':>9} {'achieved':>9} {'delivered':>9} {'lost':>6} {'p50 ms':>7} {'p99 ms':>7}")
    for s in result["steps"]:
        print(f"{s['rate']:>9} {s['achieved_per_s']:>9} {s['delivered']:>9} {s['lost']:>6} "
              f"{s['p50_ms']:>7} {s['p99_ms']:>7}")
    print(f"held without loss up to {result['max_frames_per_s']} frames/s; at "
          f"{E2E_LOADED_BUS}/s p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms")


if __name__ == "__main__":
    main()
