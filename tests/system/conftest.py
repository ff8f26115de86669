"""Boot real kernels with real processes; synchronise on systemd's READY=1, never on sleeps."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import trio

from carnel.ipc import Service
from carnel.ipc.settings import ProcessSettings, bus_endpoint, operator_credential

PROGRAMS = Path(__file__).parent / "programs"
CARNEL = [sys.executable, "-m", "carnel.kernel.cli"]
BOOT_TIMEOUT = 20


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/system" in str(item.fspath):
            item.add_marker(pytest.mark.system)


class Stack:
    """A kernel booted from an image, run as `carnel boot` in its own process."""

    def __init__(self, directory: Path, image: str, env: dict[str, str] | None = None) -> None:
        """`image` is a manifest's text, or the name of a bundled image."""
        self.directory = directory
        self.run_dir = directory / "run"
        if "\n" in image:
            self.image_arg = str(directory / "image.toml")
            Path(self.image_arg).write_text(image)
        else:
            self.image_arg = image
        self.endpoint = bus_endpoint(self.run_dir)
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen | None = None
        self.notify_path = directory / "notify.sock"
        self.notifications: list[str] = []
        self._notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._notify.bind(str(self.notify_path))

    def start(self) -> None:
        env = {**self.env, "NOTIFY_SOCKET": str(self.notify_path)}
        self.log = open(self.directory / "kernel.out", "wb")
        self.proc = subprocess.Popen(
            [*CARNEL, "--run-dir", str(self.run_dir), "boot", self.image_arg],
            env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )

    async def wait_for_notification(self, prefix: str, timeout: float = BOOT_TIMEOUT) -> str:
        """Wait until the kernel sends an sd_notify line starting with `prefix`."""
        sock = trio.socket.from_stdlib_socket(self._notify.dup())
        try:
            with trio.fail_after(timeout):
                while True:
                    for line in self.notifications:
                        if line.startswith(prefix):
                            self.notifications.remove(line)
                            return line
                    exited = self.proc.poll() is not None
                    with trio.move_on_after(0.5 if not exited else 0.05) as idle:
                        data = await sock.recv(65536)
                        self.notifications += data.decode().splitlines()
                    if exited and idle.cancelled_caught:
                        raise AssertionError(f"the kernel exited with {self.proc.returncode} "
                                             f"before saying {prefix}:\n" + self.output())
        finally:
            sock.close()

    async def boot(self) -> Stack:
        self.start()
        await self.wait_for_notification("READY=1")
        return self

    def output(self) -> str:
        self.log.flush()
        return (self.directory / "kernel.out").read_text(errors="replace")

    async def stop(self, timeout: float = 20) -> int:
        """SIGTERM the kernel and wait for it to exit; returns its exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        with trio.move_on_after(timeout):
            await wait_exit(self.proc.pid)
            return self.proc.wait()
        self.proc.send_signal(signal.SIGUSR1)  # the kernel dumps every thread's stack
        with trio.move_on_after(2):
            await wait_exit(self.proc.pid)
        raise AssertionError(f"the kernel did not stop within {timeout} s:\n{self.output()}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._notify.close()
        self.log.close()

    def carnel(self, *args: str, timeout: float = 30) -> subprocess.CompletedProcess:
        """Run the `carnel` command against this stack, as a user would."""
        return subprocess.run([*CARNEL, "--run-dir", str(self.run_dir), *args],
                              capture_output=True, text=True, timeout=timeout, env=self.env)

    async def carnel_async(self, *args: str, timeout: float = 30) -> subprocess.CompletedProcess:
        """`carnel(...)`, while the test's own services in this task go on running."""
        with trio.fail_after(timeout):
            result = await trio.run_process([*CARNEL, "--run-dir", str(self.run_dir), *args],
                                            capture_stdout=True, capture_stderr=True,
                                            check=False, env=self.env)
        return subprocess.CompletedProcess(result.args, result.returncode,
                                           result.stdout.decode(), result.stderr.decode())

    @asynccontextmanager
    async def service(self, name: str, svc: Service | None = None):
        """Join the running bus as `name` from inside the test."""
        svc = svc or Service(name)
        async with trio.open_nursery() as nursery:
            await nursery.start(svc.serve, ProcessSettings(
                name=name, bus=self.endpoint, log_format="json",
                credential=operator_credential(self.run_dir)))
            yield svc
            nursery.cancel_scope.cancel()


async def wait_exit(pid: int) -> None:
    """Return once process `pid` (a child of ours) has exited, without reaping it."""
    fd = os.pidfd_open(pid)
    try:
        await trio.lowlevel.wait_readable(fd)
    finally:
        os.close(fd)


@pytest.fixture
def stack_factory():
    stacks: list[Stack] = []
    # ipc:// paths are limited to 107 bytes: pytest's tmp_path can be longer than that.
    directories: list[str] = []

    def make(image: str, env: dict[str, str] | None = None) -> Stack:
        directory = tempfile.mkdtemp(prefix="carnel-")
        directories.append(directory)
        stack = Stack(Path(directory), image, env)
        stacks.append(stack)
        return stack

    yield make
    for stack in stacks:
        stack.kill()
    for directory in directories:
        shutil.rmtree(directory, ignore_errors=True)


# Test images let the test itself (an operator session) do everything, as the dev image does.
OPERATOR = ('[operator]\npublish = [">"]\nsubscribe = [">"]\ncall = [">"]\n'
            'provide = [">"]\n')


def program(name: str) -> str:
    """A TOML `command` array running a test program with this interpreter."""
    return f'command = ["{sys.executable}", "{PROGRAMS / name}"]'
