"""The zygote: a pre-warmed fork server that starts the image's Python processes.

Android's zygote, for carnel: one process imports what every service imports (trio, pyzmq,
msgspec, structlog, the Service SDK), freezes those objects out of the garbage collector's
reach, and then forks a child for each `module` process the kernel asks for. A child starts
without paying for those imports again, and shares their memory with its siblings copy-on-write
instead of holding its own copy, which is most of a small service's footprint.

Each child is forked twice: the zygote forks an intermediate that forks the service and exits
at once, so the service is re-parented to the kernel (a child subreaper). The kernel is then its
parent, exactly as for a process it started itself: it waits for it through a pidfd, and the
service's PR_SET_PDEATHSIG fires when the kernel dies.

Nothing here may start an event loop or a ZeroMQ context: neither survives a fork.

The kernel's side is kernel/forkserver.py. Protocol on the SOCK_SEQPACKET socket the kernel passes as argv[1]: the zygote sends b"ready"
once warm; then each request is one JSON packet (module, args, env, limits, uid, gid) carrying
three fds (stdout's and stderr's write ends, and the credential pipe's read end), and each
answer is one JSON packet, {"pid": N} or {"error": "..."}.
"""
from __future__ import annotations

import array
import contextlib
import ctypes
import gc
import json
import os
import resource
import signal
import socket
import sys
import time
import traceback

PR_SET_NAME = 15
PR_SET_PDEATHSIG = 1
CREDENTIAL_FD = 3  # where a child finds its credential pipe
MAX_REQUEST = 1 << 20
_FDS_PER_REQUEST = 3
_REPARENT_WAIT_S = 1.0

_libc = ctypes.CDLL(None, use_errno=True)


def _receive(sock: socket.socket) -> tuple[bytes, list[int]]:
    fds = array.array("i")
    data, ancillary, _flags, _addr = sock.recvmsg(
        MAX_REQUEST, socket.CMSG_LEN(_FDS_PER_REQUEST * fds.itemsize))
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
    return data, list(fds)


def _warm() -> None:
    # What nearly every carnel process imports before it does anything of its own.
    import msgspec  # noqa: F401
    import structlog  # noqa: F401
    import trio  # noqa: F401
    import zmq  # noqa: F401

    import carnel.ipc.client  # noqa: F401
    import carnel.ipc.device  # noqa: F401
    import carnel.ipc.service  # noqa: F401
    # Objects that live as long as the process stay out of the collector's passes, so that a
    # collection in a child does not write to (and so copy) the pages it shares with the zygote.
    gc.collect()
    gc.freeze()


def _spawn(request: dict, fds: list[int], kernel: int) -> int:
    """Fork the service (through an intermediate that exits) and return its pid."""
    report_r, report_w = os.pipe()
    intermediate = os.fork()
    if intermediate == 0:
        try:
            os.close(report_r)
            service = os.fork()
            if service == 0:
                os.close(report_w)
                _become(request, fds, kernel)  # never returns
            os.write(report_w, str(service).encode())
        finally:
            os._exit(0)
    os.close(report_w)
    try:
        os.waitpid(intermediate, 0)  # once reaped, the service's parent is the kernel
        answer = os.read(report_r, 32)
    finally:
        os.close(report_r)
    if not answer:
        raise OSError("the zygote's intermediate process died before forking the service")
    return int(answer)


def _become(request: dict, fds: list[int], kernel: int) -> None:
    """In the forked service: take its place in the system, then run its module as __main__."""
    try:
        deadline = time.monotonic() + _REPARENT_WAIT_S
        while os.getppid() != kernel:  # the intermediate is exiting; adoption is immediate
            if time.monotonic() > deadline:
                os._exit(70)
            time.sleep(0.0002)
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != kernel:  # the kernel died before prctl took effect
            os._exit(1)
        os.setpgid(0, 0)
        # Its command line is the zygote's; its name in top and ps -o comm is its own.
        _libc.prctl(PR_SET_NAME, request["env"].get("CARNEL_NAME", "")[:15].encode(), 0, 0, 0)
        stdout, stderr, credential = fds
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(stdout, 1)
        os.dup2(stderr, 2)
        os.dup2(credential, CREDENTIAL_FD)
        os.closerange(CREDENTIAL_FD + 1, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
        _apply_limits(request.get("limits") or {})
        if request.get("gid") is not None:
            os.setgroups([])  # never the kernel's (root's) supplementary groups
            os.setgid(request["gid"])
        if request.get("uid") is not None:
            os.setuid(request["uid"])
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.environ.clear()
        os.environ.update(request["env"])
        # The interpreter read PYTHONPATH when the zygote started; honour the process's own.
        extra = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        sys.path[1:1] = [p for p in extra if p not in sys.path]
        sys.stdout = os.fdopen(1, "w", buffering=1, closefd=False)
        sys.stderr = os.fdopen(2, "w", buffering=1, closefd=False)
    except BaseException as exc:
        # Said on the process's own stderr, which the kernel logs as its output.
        with contextlib.suppress(OSError):
            os.write(2, f"carnel: cannot start the process: {exc!r}\n".encode())
        os._exit(71)
    code = 0
    try:
        import runpy

        sys.argv = [request["module"], *request["args"]]
        runpy.run_module(request["module"], run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if not isinstance(exc.code, int | None):
            print(exc.code, file=sys.stderr)
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


def _apply_limits(limits: dict) -> None:
    if limits.get("memory_mb") is not None:
        size = limits["memory_mb"] * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (size, size))
    if limits.get("open_files") is not None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (limits["open_files"], limits["open_files"]))
    if limits.get("cpu_seconds") is not None:
        seconds = limits["cpu_seconds"]
        resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 1))


def serve(sock: socket.socket, kernel: int) -> None:
    _warm()
    sock.send(b"ready")
    while True:
        data, fds = _receive(sock)
        if not data:
            return  # the kernel closed its end: it is shutting down
        try:
            request = json.loads(data)
            if len(fds) != _FDS_PER_REQUEST:
                raise ValueError(f"expected {_FDS_PER_REQUEST} fds, got {len(fds)}")
            answer = {"pid": _spawn(request, fds, kernel)}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        finally:
            for fd in fds:
                os.close(fd)
        sock.send(json.dumps(answer).encode())


def main() -> None:
    kernel = os.getppid()
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != kernel:
        sys.exit(1)
    serve(socket.socket(fileno=int(sys.argv[1])), kernel)


if __name__ == "__main__":
    main()
