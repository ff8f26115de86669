"""The kernel's side of the zygote (kernel/zygote.py): start it, and ask it for processes.

Requests are synchronous, like the fork and exec they replace: a zygote fork takes a few
milliseconds, less than subprocess.Popen's, and the supervisor's actions are carried out in
order. If the zygote dies or misbehaves, the spawner falls back to Popen and says so.
"""
from __future__ import annotations

import array
import ctypes
import json
import socket
import subprocess
import sys

import trio

PR_SET_CHILD_SUBREAPER = 36
ANSWER_TIMEOUT_S = 5.0
_libc = ctypes.CDLL(None, use_errno=True)


class ForkServerError(OSError):
    """The zygote could not start a process, or is gone."""


def become_subreaper() -> None:
    """Adopt the zygote's children: they are re-parented to the kernel, not to init."""
    if _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")


class ForkServer:
    def __init__(self) -> None:
        become_subreaper()
        self._sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            # Its own process group: a terminal's Ctrl-C goes to the kernel, which stops the
            # image in order, not to the zygote.
            self.process = subprocess.Popen(
                [sys.executable, "-m", "carnel.kernel.zygote", str(theirs.fileno())],
                pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, process_group=0)
        finally:
            theirs.close()
        self.pid = self.process.pid

    async def ready(self, timeout: float) -> None:
        """Wait (without blocking the kernel) until the zygote has imported what it preloads."""
        with trio.fail_after(timeout):
            await trio.lowlevel.wait_readable(self._sock)
        if self._sock.recv(16) != b"ready":
            raise ForkServerError("the zygote did not start")

    def spawn(self, request: dict, fds: list[int]) -> int:
        """Ask for one process; returns its pid (a child of the kernel by now)."""
        try:
            self._sock.settimeout(ANSWER_TIMEOUT_S)
            self._sock.sendmsg([json.dumps(request).encode()],
                               [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
            answer = self._sock.recv(4096)
        except OSError as exc:
            raise ForkServerError(f"the zygote is not answering: {exc}") from exc
        finally:
            self._sock.setblocking(False)
        if not answer:
            raise ForkServerError("the zygote has exited")
        reply = json.loads(answer)
        if "error" in reply:
            raise ForkServerError(reply["error"])
        return int(reply["pid"])

    def close(self) -> None:
        self._sock.close()  # the zygote sees end of file and exits
        try:
            self.process.wait(timeout=1)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
