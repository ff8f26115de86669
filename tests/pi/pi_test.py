"""`make pi-test`: carnel installed and booted by systemd on an emulated Raspberry Pi.

    sudo python3 tests/pi/pi_test.py [--keep]

Builds (once, then cached) a Debian bookworm arm64 root filesystem with mmdebstrap, the same
Python 3.11 and systemd 252 as Raspberry Pi OS bookworm; runs `make install`'s installer inside
it under qemu-user emulation with QEMU_CPU=cortex-a72 (a Pi 4's core, so an instruction it lacks
fails here); boots it with systemd-nspawn and checks what a head unit needs:

- the unit becomes active (Type=notify: READY=1) and every permanent process is ready;
- the extension really is the compiled one, built for aarch64;
- `systemd-analyze verify` says nothing about the unit;
- the watchdog is fed;
- a kill -9 of a service is restarted;
- `systemctl stop` stops the processes in reverse order and the kernel exits 0;
- a power cut (the machine killed) leaves nothing that stops the next boot reaching READY;
- installing again on the running machine keeps the edited image and comes back up; uninstalling
  removes the unit, the venv, the configuration, the state and the users.

Known limits of emulation, handled rather than hidden: everything runs 6-18x slower (deadlines
here are long); qemu-user cannot do systemd's credentials or seccomp, so a few stock units fail
(243/CREDENTIALS) and the machine boots "degraded": only carnel's unit is judged. Without root,
binfmt_misc or the tools, this says why and exits 0 (skipped).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("CARNEL_PI_CACHE", "/var/cache/carnel-pi"))
ROOTFS = CACHE / "bookworm-arm64.tar"
PACKAGES = ("systemd", "systemd-sysv", "dbus", "python3", "python3-venv", "python3-dev", "gcc",
            "libc6-dev", "ca-certificates", "procps")
TOOLS = {"mmdebstrap": "mmdebstrap", "systemd-nspawn": "systemd-container",
         "qemu-aarch64-static": "qemu-user-static", "update-binfmts": "binfmt-support"}
CPU = "cortex-a72"
SLOW = 600.0  # seconds: an emulated boot, install or restart
# What commands in the emulated machine see: not this machine's own settings (pip's, say).
EMULATED_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root", "LANG": "C.UTF-8",
                "QEMU_CPU": CPU, "PIP_CERT": "/etc/ssl/certs/ca-certificates.crt"}


class Skip(Exception):
    """Emulation is not possible on this machine; the reason says why."""


class Failed(Exception):
    pass


def step(text: str) -> None:
    print(f"pi-test: {text}", flush=True)


def sh(*command: str, check: bool = True, **options) -> subprocess.CompletedProcess:
    result = subprocess.run(command, text=True, capture_output=True, **options)
    if check and result.returncode != 0:
        raise Failed(f"{' '.join(command)} exited {result.returncode}:\n{result.stdout}"
                     f"{result.stderr}")
    return result


def prepare_emulation() -> None:
    if os.geteuid() != 0:
        raise Skip("needs root (sudo make pi-test): mmdebstrap, binfmt_misc and nspawn")
    missing = [package for tool, package in TOOLS.items() if shutil.which(tool) is None]
    if missing and shutil.which("apt-get"):
        step(f"installing {', '.join(missing)}")
        sh("apt-get", "install", "-y", "-q", "--no-install-recommends", *missing, check=False)
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        raise Skip(f"missing {', '.join(missing)} and apt-get could not install them")
    binfmt = Path("/proc/sys/fs/binfmt_misc")
    if not (binfmt / "register").exists():
        if sh("mount", "-t", "binfmt_misc", "binfmt_misc", str(binfmt), check=False).returncode:
            raise Skip("binfmt_misc cannot be mounted here, so arm64 programs cannot run")
    if not (binfmt / "qemu-aarch64").exists():
        sh("update-binfmts", "--enable", "qemu-aarch64", check=False)
    if not (binfmt / "qemu-aarch64").exists():
        raise Skip("qemu-aarch64 is not registered with binfmt_misc")


def rootfs() -> Path:
    """The cached root filesystem, built the first time (a partial one is never kept)."""
    if ROOTFS.exists() and ROOTFS.stat().st_size > 0:
        step(f"using the cached root filesystem {ROOTFS}")
        return ROOTFS
    CACHE.mkdir(parents=True, exist_ok=True)
    step("building a Debian bookworm arm64 root filesystem (a few minutes, cached afterwards)")
    partial = ROOTFS.with_suffix(".partial.tar")
    sh("mmdebstrap", "--arch=arm64", "--variant=apt", f"--include={','.join(PACKAGES)}",
       "bookworm", str(partial), "http://deb.debian.org/debian", timeout=3600)
    partial.replace(ROOTFS)
    return ROOTFS


def unpack(tar: Path, into: Path) -> Path:
    root = into / "root"
    root.mkdir()
    sh("tar", "-xf", str(tar), "-C", str(root))
    # Every unit, carnel's included, runs as a Pi 4 core would.
    conf = root / "etc/systemd/system.conf.d"
    conf.mkdir(parents=True, exist_ok=True)
    (conf / "qemu-cpu.conf").write_text(f"[Manager]\nDefaultEnvironment=QEMU_CPU={CPU}\n")
    shutil.copy2("/etc/resolv.conf", root / "etc/resolv.conf")
    # The emulated machine reaches the package registries through this machine's network, so it
    # must trust what this machine trusts (an egress proxy's own CA, say).
    local_cas = Path("/usr/local/share/ca-certificates")
    if local_cas.is_dir() and any(local_cas.iterdir()):
        shutil.copytree(local_cas, root / "usr/local/share/ca-certificates", dirs_exist_ok=True)
        sh("chroot", str(root), "update-ca-certificates", env=EMULATED_ENV)
    return root


def copy_source(root: Path) -> Path:
    target = root / "root/carnel-src"
    files = sh("git", "-C", str(REPO), "ls-files", "-z").stdout.split("\0")
    for name in filter(None, files):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def install(root: Path) -> None:
    step("installing carnel in the emulated machine (compiles the extension: slow)")
    sh("chroot", str(root), "python3", "/root/carnel-src/kernel/install.py", "install",
       env=EMULATED_ENV, timeout=3 * SLOW)


class Machine:
    """The root filesystem booted by systemd-nspawn; commands run inside through nsenter."""

    def __init__(self, root: Path, log: Path) -> None:
        self.root = root
        self.log = log.open("a")
        self.proc = subprocess.Popen(
            ["systemd-nspawn", "-q", "-D", str(root), "-b", "--register=no", "--keep-unit",
             "--machine=carnel-pi", f"--setenv=QEMU_CPU={CPU}"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
            env={**os.environ, "QEMU_CPU": CPU})
        self.leader = self._leader()

    def _leader(self) -> int:
        deadline = time.monotonic() + SLOW
        while time.monotonic() < deadline:
            children = sh("ps", "-o", "pid=", "--ppid", str(self.proc.pid), check=False).stdout
            for pid in children.split():
                # The container's init, not one of nspawn's short-lived helpers.
                try:
                    if b"/systemd/systemd" in Path(f"/proc/{pid}/cmdline").read_bytes():
                        return int(pid)
                except FileNotFoundError:
                    continue
            if self.proc.poll() is not None:
                raise Failed(f"systemd-nspawn exited {self.proc.returncode}: see {self.log.name}")
            time.sleep(0.2)
        raise Failed("the container's init never started")

    def run(self, *command: str, check: bool = True, timeout: float = SLOW):
        return sh("nsenter", "-t", str(self.leader), "-m", "-u", "-i", "-n", "-p",
                  "/usr/bin/env", f"QEMU_CPU={CPU}", *command, check=check, timeout=timeout)

    def until(self, what: str, check, timeout: float = SLOW):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = check()
            if value:
                return value
            time.sleep(1)
        raise Failed(f"timed out waiting for {what}")

    def carnel(self, *args: str) -> subprocess.CompletedProcess:
        return self.run("/opt/carnel/venv/bin/carnel", "--run-dir", "/run/carnel", *args,
                        check=False)

    def processes(self) -> dict[str, dict]:
        ps = self.carnel("ps", "--json")
        if ps.returncode != 0:
            return {}
        return {p["name"]: p for p in json.loads(ps.stdout)["processes"]}

    def power_cut(self) -> None:
        """Everything in the machine dies at once. Killing nspawn alone would leave the
        machine's init running with its services: its PID namespace dies with its init."""
        for pid in (self.leader, self.proc.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.proc.wait()

    def shutdown(self) -> None:
        if self.proc.poll() is None:
            self.run("systemctl", "poweroff", check=False, timeout=60)
            try:
                self.proc.wait(SLOW)
            except subprocess.TimeoutExpired:
                self.power_cut()
        self.log.close()


def unit_active(machine: Machine) -> bool:
    state = machine.run("systemctl", "is-active", "carnel", check=False).stdout.strip()
    if state == "failed":
        raise Failed("carnel.service failed:\n" + machine.run(
            "journalctl", "-u", "carnel", "-o", "cat", "--no-pager", check=False).stdout[-4000:])
    return state == "active"


def all_ready(machine: Machine) -> dict[str, dict] | None:
    processes = machine.processes()
    return processes if processes and all(p["state"] == "ready"
                                          for p in processes.values()) else None


def check_booted(machine: Machine) -> dict[str, dict]:
    step("waiting for carnel.service to become active (READY=1)")
    machine.until("carnel.service active", lambda: unit_active(machine))
    processes = all_ready(machine)
    if processes is None:
        raise Failed(f"active before every process was ready: {machine.processes()}")
    step(f"active, every process ready: {', '.join(sorted(processes))}")
    return processes


def check_extension(machine: Machine) -> None:
    version = machine.carnel("version").stdout
    where = machine.run("/opt/carnel/venv/bin/python", "-c",
                        "import carnel.ext.routeloop as r; print(r.__file__)").stdout.strip()
    if "hot path: ext" not in version or "aarch64" not in where:
        raise Failed(f"not the compiled extension for aarch64: {version!r} {where!r}")
    step(f"the compiled extension is active: {Path(where).name}")


def check_unit_verifies(machine: Machine) -> None:
    verify = machine.run("systemd-analyze", "verify", "/etc/systemd/system/carnel.service",
                         check=False)
    if verify.stderr.strip():
        raise Failed(f"systemd-analyze verify complained:\n{verify.stderr}")
    step("systemd-analyze verify: nothing to say about the unit")


def check_watchdog(machine: Machine) -> None:
    def stamp() -> int:
        out = machine.run("systemctl", "show", "carnel", "-p", "WatchdogTimestampMonotonic")
        return int(out.stdout.strip().split("=", 1)[1] or 0)

    first = stamp()
    machine.until("a newer watchdog ping", lambda: stamp() > first, timeout=60)
    step("the watchdog is fed")


def check_restart(machine: Machine, processes: dict[str, dict]) -> None:
    victim = processes["trip"]["pid"]
    machine.run("kill", "-9", str(victim))
    machine.until("trip restarted and ready", lambda: (
        (p := machine.processes().get("trip")) and p["state"] == "ready" and p["pid"] != victim))
    step(f"kill -9 of trip (pid {victim}): restarted and ready again")


def check_stop(machine: Machine, order: list[str]) -> None:
    machine.run("systemctl", "stop", "carnel")
    result = machine.run("systemctl", "show", "carnel", "-p", "Result",
                         "-p", "ExecMainStatus").stdout
    if "Result=success" not in result or "ExecMainStatus=0" not in result:
        raise Failed(f"systemctl stop did not end cleanly: {result}")
    journal = machine.run("journalctl", "-u", "carnel", "-o", "cat", "--no-pager").stdout
    stopped = []
    for line in journal.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("event") == "killing" and entry.get("signal") == "SIGTERM":
            stopped.append(entry["target"])
    if stopped[-len(order):] != order[::-1]:
        raise Failed(f"stopped in the order {stopped}, not the reverse of {order}")
    step(f"systemctl stop: exit 0, stopped in reverse order ({', '.join(order[::-1])})")


def check_reinstall_and_uninstall(machine: Machine) -> None:
    image = "/etc/carnel/car.toml"
    machine.run("sh", "-c", f"echo '# edited on the car' >> {image}")
    machine.run("python3", "/root/carnel-src/kernel/install.py", "install", timeout=3 * SLOW)
    if "# edited on the car" not in machine.run("cat", image).stdout:
        raise Failed("installing again overwrote the edited image")
    machine.until("carnel.service active after reinstalling", lambda: unit_active(machine))
    machine.until("every process ready after reinstalling", lambda: all_ready(machine))
    users = machine.run("getent", "passwd", *(f"carnel-{name}" for name in
                                              ("gps", "can", "obd", "vehicle", "trip"))).stdout
    ids = sorted(int(line.split(":")[2]) for line in users.splitlines())
    if ids != [901, 902, 903, 904, 905]:
        raise Failed(f"the image's users are not all there with their uids:\n{users}")
    step("installing again: the edited image kept, a user per process, every process ready")
    machine.run("python3", "/root/carnel-src/kernel/install.py", "uninstall")
    left = machine.run("sh", "-c", "ls -d /opt/carnel /etc/carnel /var/lib/carnel "
                       "/etc/systemd/system/carnel.service 2>/dev/null; "
                       "getent passwd | grep '^carnel-'", check=False).stdout.strip()
    if left:
        raise Failed(f"uninstall left behind:\n{left}")
    step("uninstall: unit, venv, configuration, state and users removed")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the machine's folder")
    opts = parser.parse_args()
    try:
        prepare_emulation()
    except Skip as exc:
        step(f"SKIPPED: {exc}")
        return 0
    folder = Path(tempfile.mkdtemp(prefix="carnel-pi-"))
    log = folder / "console.log"
    started = time.monotonic()
    try:
        root = unpack(rootfs(), folder)
        copy_source(root)
        install(root)
        machine = Machine(root, log)
        try:
            processes = check_booted(machine)
            check_extension(machine)
            check_unit_verifies(machine)
            check_watchdog(machine)
            check_restart(machine, processes)
            order = sorted(processes, key=lambda name: processes[name]["pid"] or 0)
            check_stop(machine, order)
            machine.run("systemctl", "start", "carnel", check=False)
            machine.until("carnel.service active again", lambda: unit_active(machine))
            step("cutting the power mid-run")
            machine.power_cut()
        finally:
            machine.shutdown()
        machine = Machine(root, log)
        try:
            check_booted(machine)
            step("after the power cut the next boot reaches READY")
            check_reinstall_and_uninstall(machine)
        finally:
            machine.shutdown()
    except Failed as exc:
        step(f"FAILED: {exc}\n(the console log is {log})")
        return 1
    finally:
        if not opts.keep:
            shutil.rmtree(folder, ignore_errors=True)
    step(f"passed in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
