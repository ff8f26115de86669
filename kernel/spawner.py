"""Starting and stopping the image's processes: the supervisor's I/O.

Each child gets its own process group, dies with the kernel (PR_SET_PDEATHSIG, even after a
kill -9 of the kernel), its resource limits, its uid/gid when the kernel is root and the image
says so (never root's groups: see run_as), and its bus endpoint and name through the
environment (never argv). Its stdout and stderr are collected into the kernel's log under its
name. Exits are noticed through a pidfd, without polling.

PR_SET_PDEATHSIG fires when the *thread* that forked the child exits, so children are forked
from the kernel's main thread (trio.run_process forks in a worker thread, which is why it is not
used here).

`module` processes are forked by the zygote (kernel/zygote.py) when the kernel has one: they
start with trio, pyzmq and the SDK already imported and share that memory. `command`
processes, and every process if the zygote is gone, are started with fork and exec.
"""
from __future__ import annotations

import ctypes
import json
import os
import pwd
import resource
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import msgspec
import structlog
import trio

from carnel.ipc.settings import (
    ENV_BUS, ENV_CONFIG, ENV_CREDENTIAL_FD, ENV_IMAGE_DIR, ENV_LOG_FORMAT, ENV_NAME)
from carnel.kernel.credentials import CredentialStore
from carnel.kernel.forkserver import ForkServer, ForkServerError
from carnel.kernel.image import ProcessSpec
from carnel.kernel.zygote import CREDENTIAL_FD

PR_SET_PDEATHSIG = 1
ORPHAN_REAP_INTERVAL_S = 1.0
_libc = ctypes.CDLL(None, use_errno=True)


@dataclass(slots=True)
class Child:
    name: str
    pid: int
    # Kept for what Popen started, so that its finaliser does not reap the child behind our back.
    popen: subprocess.Popen | None = None
    returncode: int | None = None


def command_for(spec: ProcessSpec) -> list[str]:
    if spec.module is not None:
        return [sys.executable, "-m", spec.module, *spec.args]
    return [*spec.command, *spec.args]


def run_as(spec: ProcessSpec, as_root: bool) -> tuple[int | None, int | None]:
    """The uid and gid `spec` runs under (None: the kernel's), and only if the kernel is root.

    A process given a uid never keeps the kernel's groups (root's): without a gid of its own it
    takes its user's primary group, or, for a uid no user has, the group of the same number.
    Its supplementary groups are dropped by whoever starts it."""
    if not as_root:
        return None, None
    gid = spec.gid
    if gid is None and spec.uid is not None:
        try:
            gid = pwd.getpwuid(spec.uid).pw_gid
        except KeyError:
            gid = spec.uid
    return spec.uid, gid


def unreachable_limits(spec: ProcessSpec) -> list[str]:
    """The process's limits this system will not set: each would fail the process's every start,
    in the child, where nothing is left to say why. Checked at boot instead."""
    limits = spec.limits
    # Each as the child sets it (RLIMIT_CPU's hard limit is a second above the soft one).
    wanted = {"memory_mb": (limits.memory_mb, 2**20, 0, resource.RLIMIT_AS),
              "open_files": (limits.open_files, 1, 0, resource.RLIMIT_NOFILE),
              "cpu_seconds": (limits.cpu_seconds, 1, 1, resource.RLIMIT_CPU)}
    problems = []
    for name, (value, unit, extra, resource_id) in wanted.items():
        if value is None:  # most processes set no limits: nothing to look up at boot
            continue
        ceiling = _ceiling(resource_id)
        if ceiling is not None and value * unit + extra > ceiling:
            problems.append(f"{name} = {value} is above what this system allows "
                            f"({(ceiling - extra) // unit})")
    return problems


def _ceiling(resource_id: int) -> int | None:
    """The highest limit the kernel's children may be given, None for no ceiling."""
    hard = resource.getrlimit(resource_id)[1]
    ceiling = None if hard == resource.RLIM_INFINITY or os.geteuid() == 0 else hard
    if resource_id == resource.RLIMIT_NOFILE:  # not even root passes fs.nr_open
        try:
            nr_open = int(Path("/proc/sys/fs/nr_open").read_text())
        except (OSError, ValueError):
            return ceiling
        ceiling = nr_open if ceiling is None else min(ceiling, nr_open)
    return ceiling


def _child_setup(parent: int, spec: ProcessSpec) -> Callable[[], None]:
    limits = spec.limits

    def setup() -> None:
        # Runs in the child between fork and exec: only async-signal-safe work belongs here.
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the kernel died before prctl took effect
            os._exit(1)
        if limits.memory_mb is not None:
            size = limits.memory_mb * 2**20
            resource.setrlimit(resource.RLIMIT_AS, (size, size))
        if limits.open_files is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))
        if limits.cpu_seconds is not None:
            resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))

    return setup


class Spawner:
    """Forks children and reports their exits; one instance per kernel."""

    def __init__(self, bus: str, nursery: trio.Nursery, on_exit: Callable[[str, int, int], None],
                 extra_env: dict[str, str] | None = None, image_dir: str = "",
                 credentials: CredentialStore | None = None,
                 forkserver: ForkServer | None = None) -> None:
        self.bus = bus
        self.credentials = credentials
        self.forkserver = forkserver
        self.image_dir = image_dir
        self.nursery = nursery
        self.on_exit = on_exit
        self.extra_env = extra_env or {}
        self.log = structlog.get_logger().bind(process="kernel")
        self.children: dict[int, Child] = {}

    def spawn(self, spec: ProcessSpec) -> int:
        """Start `spec` now; returns its pid. Raises OSError if it cannot be started."""
        env = {**os.environ, **self.extra_env, **spec.env,
               ENV_BUS: self.bus, ENV_NAME: spec.name, ENV_LOG_FORMAT: "json",
               ENV_CONFIG: msgspec.json.encode(spec.config).decode(), ENV_IMAGE_DIR: self.image_dir}
        as_root = os.geteuid() == 0
        credential = (self._credential_pipe(spec.name) if self.credentials is not None
                      else os.open(os.devnull, os.O_RDONLY))
        try:
            started = None
            if self.forkserver is not None and spec.module is not None:
                started = self._fork(spec, env, credential, as_root)
            if started is None:
                started = self._exec(spec, env, credential, as_root)
        finally:
            os.close(credential)
        child, stdout, stderr = started
        self.children[child.pid] = child
        self.nursery.start_soon(self._watch, child)
        self.nursery.start_soon(self._collect, child, stdout, "stdout")
        self.nursery.start_soon(self._collect, child, stderr, "stderr")
        return child.pid

    def _fork(self, spec: ProcessSpec, env: dict[str, str], credential: int,
              as_root: bool) -> tuple[Child, int, int] | None:
        """Start `spec` from the zygote; None if the zygote failed (it is then given up)."""
        stdout_r, stdout_w = os.pipe()
        stderr_r, stderr_w = os.pipe()
        uid, gid = run_as(spec, as_root)
        request = {
            "module": spec.module, "args": list(spec.args),
            "env": {**env, ENV_CREDENTIAL_FD: str(CREDENTIAL_FD)},
            "limits": msgspec.to_builtins(spec.limits), "uid": uid, "gid": gid,
        }
        try:
            pid = self.forkserver.spawn(request, [stdout_w, stderr_w, credential])
        except ForkServerError as exc:
            os.close(stdout_r)
            os.close(stderr_r)
            self.log.error("zygote_failed", error=str(exc), using="fork and exec from now on")
            self.forkserver = None
            return None
        finally:
            os.close(stdout_w)
            os.close(stderr_w)
        return Child(spec.name, pid), stdout_r, stderr_r

    def _exec(self, spec: ProcessSpec, env: dict[str, str], credential: int,
              as_root: bool) -> tuple[Child, int, int]:
        env = {**env, ENV_CREDENTIAL_FD: str(credential)}
        popen = self._popen(spec, env, (credential,), as_root)
        # The collectors own these duplicates; the Popen's own file objects are closed now.
        stdout, stderr = os.dup(popen.stdout.fileno()), os.dup(popen.stderr.fileno())
        popen.stdout.close()
        popen.stderr.close()
        return Child(spec.name, popen.pid, popen), stdout, stderr

    def _credential_pipe(self, name: str) -> int:
        """A pipe holding a fresh secret for `name`; the child inherits its read end."""
        secret = self.credentials.issue(name)
        read_end, write_end = os.pipe()
        try:
            os.write(write_end, secret)  # 64 bytes: far below a pipe's buffer, never blocks
        finally:
            os.close(write_end)
        return read_end

    def _popen(self, spec: ProcessSpec, env: dict[str, str], pass_fds: tuple[int, ...],
               as_root: bool) -> subprocess.Popen:
        uid, gid = run_as(spec, as_root)
        return subprocess.Popen(
            command_for(spec),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            process_group=0,
            close_fds=True,
            pass_fds=pass_fds,
            preexec_fn=_child_setup(os.getpid(), spec),
            user=uid,
            group=gid,
            extra_groups=[] if gid is not None else None,
        )

    async def reap_orphans(self, interval: float = ORPHAN_REAP_INTERVAL_S) -> None:
        """Reap processes that outlived the service that started them.

        The kernel is a child subreaper (for the zygote's children), so a service's own
        subprocess that it left behind is re-parented to the kernel; when it exits, only the
        kernel can collect it, and a head unit that runs for months must not pile up zombies.
        """
        while True:
            await trio.sleep(interval)
            known = set(self.children)
            if self.forkserver is not None:
                known.add(self.forkserver.pid)  # its Popen collects it
            for pid in orphan_zombies(os.getpid(), known):
                try:
                    _, status = os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    continue
                self.log.info("orphan_reaped", pid=pid, how=os.waitstatus_to_exitcode(status))

    def kill(self, pid: int, sig: int) -> None:
        """Signal the child's whole process group (what it forked dies with it)."""
        if pid not in self.children:
            return
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            pass  # already gone; its exit is on its way through the pidfd

    async def _watch(self, child: Child) -> None:
        fd = os.pidfd_open(child.pid)
        try:
            await trio.lowlevel.wait_readable(fd)
        finally:
            os.close(fd)
        _, status = os.waitpid(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.popen is not None:
            child.popen.returncode = child.returncode
        del self.children[child.pid]
        self.on_exit(child.name, child.pid, child.returncode)

    async def _collect(self, child: Child, fd: int, stream: str) -> None:
        """Re-log each line a child writes, bound to its name; its JSON lines keep their fields."""
        log = self.log.bind(process=child.name, pid=child.pid)
        async with trio.lowlevel.FdStream(fd) as source:
            pending = b""
            async for chunk in source:
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    _relog(log, line, stream)
            if pending:
                _relog(log, pending, stream)


def orphan_zombies(parent: int, known: set[int]) -> list[int]:
    """Exited children of `parent` that nobody waits for: those not among the `known` ones."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in known:
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if fields[0] == "Z" and int(fields[1]) == parent:
            found.append(int(entry))
    return found


def _relog(log, line: bytes, stream: str) -> None:
    text = line.decode("utf-8", "replace").rstrip("\r")
    if not text:
        return
    try:
        fields = json.loads(text)
    except ValueError:
        fields = None
    if isinstance(fields, dict) and "event" in fields:
        event = str(fields.pop("event"))
        level = str(fields.pop("level", "info"))
        for key in ("process", "timestamp"):
            fields.pop(key, None)
        method = getattr(log, level, log.info) if level in _LEVELS else log.info
        method(event, **fields)
    else:
        log.info("output", stream=stream, line=text)


_LEVELS = frozenset(("debug", "info", "warning", "error", "critical", "exception"))
