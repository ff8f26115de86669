"""How a tool joins the bus: as an operator session of the running kernel, with clear errors."""
from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import trio

from carnel.ipc import _impl
from carnel.ipc.client import BusClient
from carnel.ipc.errors import CallError
from carnel.ipc.settings import (
    CredentialError, NoKernel, bus_accepts, bus_endpoint, operator_credential)
from carnel.ipc.wire import Kind

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_NO_KERNEL = 0, 1, 2, 3


class ToolError(Exception):
    """Something the user must hear about, with the exit code to leave with."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


class KernelGone(ToolError):
    """The kernel closed a session's connection while the tool ran."""


def check_kernel(directory: Path) -> None:
    if not (directory / "bus.sock").exists():
        raise _no_kernel(directory)
    if not bus_accepts(directory):
        raise _no_kernel(directory, " (one that ran there was killed and left its socket)")


def _no_kernel(directory: Path, why: str = "") -> ToolError:
    return ToolError(f"no kernel is running at {directory}{why}: start one with `carnel boot`",
                     EXIT_NO_KERNEL)


async def keep_alive(client: BusClient) -> None:
    """Heartbeat like a service does: the kernel drops operator sessions that fall silent, and a
    tool that only listens (tap, record) or waits (fuzz, for a restart) sends nothing else."""
    while True:
        await client.send_frames([_impl.pack_header(Kind.HEARTBEAT, "heartbeat"), b""])
        await trio.sleep(client.welcome.heartbeat_ms / 1000)


@asynccontextmanager
async def operator_session(directory: Path, tool: str, *, provides: list[str] = (),
                           join_timeout: float = 3) -> AsyncIterator[BusClient]:
    """A BusClient joined as `<tool>-<pid>` with the operator's credential, kept alive however
    long the tool runs."""
    check_kernel(directory)
    try:
        credential = operator_credential(directory)
    except CredentialError as exc:
        raise ToolError(str(exc), EXIT_NO_KERNEL if isinstance(exc, NoKernel) else EXIT_FAILED) \
            from None
    client = BusClient(bus_endpoint(directory), f"{tool}-{os.getpid()}", provides=list(provides),
                       credential=credential)
    async with trio.open_nursery() as nursery:
        try:
            await nursery.start(lambda task_status: client.run(task_status=task_status,
                                                               join_timeout=join_timeout))
        except CallError as exc:
            raise ToolError(f"cannot join the bus at {directory}: {exc}") from None
        nursery.start_soon(keep_alive, client)
        nursery.start_soon(_end_with_the_kernel, client, directory)
        yield client
        nursery.cancel_scope.cancel()


async def _end_with_the_kernel(client: BusClient, directory: Path) -> None:
    await client.kernel_gone()
    raise KernelGone(f"the kernel at {directory} closed the connection: it stopped, or it "
                     "disconnected this session", EXIT_NO_KERNEL)


def report(tool: str, exc: ToolError) -> int:
    print(f"carnel {tool}: {exc}", file=sys.stderr)
    return exc.code
