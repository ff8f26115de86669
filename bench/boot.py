"""Boot time, restart latency and memory of whole images, as `carnel boot` runs them.

    python bench/boot.py [--quick] [--json]

  boot_dev    `carnel boot` start to READY=1 (every permanent process READY), the dev image
  boot_20     the same for an image of 20 small services
  restart     kill -9 of a service to its READY again, p50/p99 over many kills
  memory_20   RSS and PSS of the kernel and every process of the 20-service image

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
from carnel.ipc.settings import ProcessSettings, bus_endpoint

CARNEL = [sys.executable, "-m", "carnel.kernel.cli"]
PERIOD_S = 0.5


def image_of(n: int) -> str:
    """The simulated vehicle and n-1 trip computers: small services doing real bus work."""
    parts = [f'[image]\nname = "bench"\n\n[supervisor]\nintensity = 1000\nperiod = {PERIOD_S}\n',
             '[process.vehiclesim]\nmodule = "carnel.drivers.sim"\n']
    parts += [f'[process.trip{i:02d}]\nmodule = "carnel.services.trip"\n' for i in range(1, n)]
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


async def restarts_and_memory(booted: Booted, kills: int) -> tuple[list[float], dict]:
    svc = Service("bench")
    endpoint = bus_endpoint(booted.run_dir)
    async with trio.open_nursery() as nursery:
        await nursery.start(svc.serve, ProcessSettings(name="bench", bus=endpoint,
                                                       log_format="json"))
        listing = await svc.call("kernel.ps", Empty(), ProcessList)
        memory = {"kernel": memory_kb(booted.proc.pid)}
        for p in listing.processes:
            memory[p.name] = memory_kb(p.pid)
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
    results = [
        {"case": "boot_dev", "ready_s": round(boot_time("dev", runs), 3)},
        {"case": "boot_20", "ready_s": round(boot_time(image_of(20), runs), 3)},
    ]
    with tempfile.TemporaryDirectory(prefix="carnel-bench-") as tmp:
        booted = Booted(image_of(20), Path(tmp))
        try:
            booted.wait_ready()
            latencies, memory = trio.run(restarts_and_memory, booted, kills)
        finally:
            booted.stop()
    q = statistics.quantiles(latencies, n=100)
    results.append({"case": "restart", "kills": kills, "p50_ms": round(statistics.median(latencies), 1),
                    "p99_ms": round(q[98], 1)})
    pss_total = sum(pss for _, pss in memory.values()) / 1024
    results.append({"case": "memory_20", "pss_mb": round(pss_total, 1),
                    "rss_mb": round(sum(rss for rss, _ in memory.values()) / 1024, 1),
                    "per_process_pss_mb": {k: round(v[1] / 1024, 1) for k, v in memory.items()}})
    for r in results:
        if opts.json:
            print(json.dumps(r))
        elif r["case"].startswith("boot"):
            print(f"{r['case']:<10} READY=1 after {r['ready_s']:.3f} s (median of {runs})")
        elif r["case"] == "restart":
            print(f"restart    kill -9 to READY: p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms "
                  f"over {kills} kills")
        else:
            per = r["per_process_pss_mb"]
            print(f"memory_20  PSS {r['pss_mb']} MB in all (RSS {r['rss_mb']} MB); kernel "
                  f"{per['kernel']} MB, a service ~{statistics.median(per.values()):.1f} MB")


if __name__ == "__main__":
    main()
