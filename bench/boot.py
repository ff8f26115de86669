"""Boot time, restart latency and memory of whole images, as `carnel boot` runs them.

    python bench/boot.py [--quick] [--json]

  boot_dev    `carnel boot` start to READY=1 (every permanent process READY), the dev image
  boot_20     the same for an image of 20 small services
  restart     kill -9 of a service to its READY again, p50/p99 over many kills
  memory_20   RSS and PSS of the kernel, its zygote and every process of the 20-service image

The last three run twice in one go: with the zygote (the default: `module` processes forked
from a pre-warmed fork server) and without it (each process a fresh interpreter), so that the
zygote's effect is a ratio measured on the same machine at the same time.

READY=1 is what systemd waits for: the kernel sends it over $NOTIFY_SOCKET once the
supervisor has seen every permanent process say READY, so it is the figure a car would see.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import trio

from carnel.ipc import Service, logs
from carnel.ipc.schemas.bus import Empty
from carnel.ipc.schemas.kernel import ProcessList, ProcessStateChanged
from carnel.ipc.settings import ProcessSettings, bus_endpoint, operator_credential
from carnel.kernel.image import bundled_image

CARNEL = [sys.executable, "-m", "carnel.kernel.cli"]
PERIOD_S = 0.5


def image_of(n: int, zygote: bool = True) -> str:
    """n small processes doing real bus work: the CAN driver replaying the dev image's drive,
    the vehicle service, and n-2 trip computers following vehicle.Speed."""
    images = Path(bundled_image("dev").directory)
    parts = [f'[image]\nname = "bench"\n\n[supervisor]\nintensity = 1000\nperiod = {PERIOD_S}\n'
             f'[kernel]\nzygote = {str(zygote).lower()}\n'
             '[operator]\ncall = ["kernel.>"]\nsubscribe = ["kernel.>"]\n',
             '[process.can]\nmodule = "carnel.drivers.can"\npublish = ["can.>"]\n'
             '[process.can.config]\nsource = "candump"\nloop = true\n'
             f'file = "{images / "sim/drive.log"}"\ndbc = "{images / "sim/carnel_sim.dbc"}"\n'
             '[process.can.config.signals]\n"Vehicle.Speed" = "VEHICLE_DYNAMICS.VehicleSpeed"\n',
             '[process.vehicle]\nmodule = "carnel.services.vehicle"\n'
             'subscribe = ["can.signals.>", "obd.signals.>", "gps.fix", "can.status", '
             '"obd.status", "gps.status"]\npublish = ["vehicle.>"]\nprovide = ["vehicle"]\n']
    parts += [f'[process.trip{i:02d}]\nmodule = "carnel.services.trip"\n'
              'subscribe = ["vehicle.Speed"]\npublish = ["trip.>"]\nprovide = ["trip"]\n'
              for i in range(1, n - 1)]
    return "\n".join(parts)


class Booted:
    """A kernel started with a notify socket, so READY=1 is observed, not guessed."""

    def __init__(self, image: str, directory: Path) -> None:
        self.directory = directory
        self.run_dir = directory / "run"
        notify = directory / "notify.sock"
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(str(notify))
        if "\n" in image:
            (directory / "image.toml").write_text(image)
            image = str(directory / "image.toml")
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [*CARNEL, "--run-dir", str(self.run_dir), "boot", image],
            env={**os.environ, "NOTIFY_SOCKET": str(notify)},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )

    def wait_ready(self, timeout: float = 60) -> float:
        self.notify.settimeout(timeout)
        while True:
            data = self.notify.recv(4096).decode()
            if "READY=1" in data:
                return time.perf_counter() - self.started

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.notify.close()


def boot_time(image: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="carnel-bench-") as tmp:
            booted = Booted(image, Path(tmp))
            try:
                times.append(booted.wait_ready())
            finally:
                booted.stop()
    return statistics.median(times)


def memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) in kB; PSS shares each page among the processes that map it."""
    rss = pss = 0
    with open(f"/proc/{pid}/smaps_rollup") as rollup:
        for line in rollup:
            if line.startswith("Rss:"):
                rss = int(line.split()[1])
            elif line.startswith("Pss:"):
                pss = int(line.split()[1])
    return rss, pss


def zygote_of(kernel: int, services: set[int]) -> int | None:
    """The kernel's child that runs the zygote (its services share its command line)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in services:
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                command = cmdline.read()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if parent == kernel and b"carnel.kernel.zygote" in command:
            return int(entry)
    return None


async def restarts_and_memory(booted: Booted, kills: int) -> tuple[list[float], dict]:
    svc = Service("bench")
    endpoint = bus_endpoint(booted.run_dir)
    async with trio.open_nursery() as nursery:
        await nursery.start(svc.serve, ProcessSettings(
            name="bench", bus=endpoint, log_format="json",
            credential=operator_credential(booted.run_dir)))
        listing = await svc.call("kernel.ps", Empty(), ProcessList)
        memory = {"kernel": memory_kb(booted.proc.pid)}
        for p in listing.processes:
            memory[p.name] = memory_kb(p.pid)
        zygote = zygote_of(booted.proc.pid, {p.pid for p in listing.processes})
        if zygote is not None:
            memory["zygote"] = memory_kb(zygote)
        latencies = []
        victim = "trip01"
        async with svc.messages(f"kernel.process.{victim}", ProcessStateChanged) as changes:
            current = None
            async for change in changes:  # the retained state first
                current = change
                if change.new == "ready":
                    break
            for _ in range(kills):
                # Past the supervisor's period its restart backoff is reset, so each kill
                # measures one crash's restart, not a storm's capped delay.
                await trio.sleep(PERIOD_S + 0.1)
                start = time.perf_counter()
                os.kill(current.pid, signal.SIGKILL)
                async for change in changes:
                    if change.new == "ready":
                        current = change
                        break
                latencies.append((time.perf_counter() - start) * 1000)
        nursery.cancel_scope.cancel()
    return latencies, memory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs: under 60 s")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    opts = parser.parse_args()
    logs.configure("json", stream=sys.stderr, level=logging.WARNING)  # stdout is the report
    runs, kills = (3, 20) if opts.quick else (10, 100)
    results = [{"case": "boot_dev", "zygote": True, "ready_s": round(boot_time("dev", runs), 3)}]
    for zygote in (True, False):
        results.append({"case": "boot_20", "zygote": zygote,
                        "ready_s": round(boot_time(image_of(20, zygote), runs), 3)})
        with tempfile.TemporaryDirectory(prefix="carnel-bench-") as tmp:
            booted = Booted(image_of(20, zygote), Path(tmp))
            try:
                booted.wait_ready()
                latencies, memory = trio.run(restarts_and_memory, booted, kills)
            finally:
                booted.stop()
        q = statistics.quantiles(latencies, n=100)
        results.append({"case": "restart", "zygote": zygote, "kills": kills,
                        "p50_ms": round(statistics.median(latencies), 1), "p99_ms": round(q[98], 1)})
        results.append({"case": "memory_20", "zygote": zygote,
                        "pss_mb": round(sum(pss for _, pss in memory.values()) / 1024, 1),
                        "rss_mb": round(sum(rss for rss, _ in memory.values()) / 1024, 1),
                        "per_process_pss_mb": {k: round(v[1] / 1024, 1)
                                               for k, v in memory.items()}})
    for r in results:
        if opts.json:
            print(json.dumps(r))
            continue
        how = "with zygote   " if r["zygote"] else "without zygote"
        if r["case"].startswith("boot"):
            print(f"{r['case']:<10} {how}  READY=1 after {r['ready_s']:.3f} s (median of {runs})")
        elif r["case"] == "restart":
            print(f"restart    {how}  kill -9 to READY: p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms "
                  f"over {kills} kills")
        else:
            per = r["per_process_pss_mb"]
            services = [v for k, v in per.items() if k not in ("kernel", "zygote")]
            print(f"memory_20  {how}  PSS {r['pss_mb']} MB in all (RSS {r['rss_mb']} MB); kernel "
                  f"{per['kernel']} MB, zygote {per.get('zygote', '-')} MB, a service "
                  f"~{statistics.median(services):.1f} MB")
    if not opts.json:
        by = {(r["case"], r["zygote"]): r for r in results}
        print(f"\nzygote on / off: boot_20 {by['boot_20', True]['ready_s'] / by['boot_20', False]['ready_s']:.2f}x time, "
              f"restart p50 {by['restart', True]['p50_ms'] / by['restart', False]['p50_ms']:.2f}x, "
              f"memory_20 PSS {by['memory_20', True]['pss_mb'] / by['memory_20', False]['pss_mb']:.2f}x "
              "(lower is better)")


if __name__ == "__main__":
    main()
