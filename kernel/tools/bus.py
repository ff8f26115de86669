"""What the developer tools do on the bus beyond joining: typed calls, staying joined while only
listening, and knowing that what they sent has been routed."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import msgspec
import trio

from carnel.ipc.client import BusClient
from carnel.ipc.errors import CallError, Denied
from carnel.ipc.schemas.bus import BusStats, Empty
from carnel.ipc.wire import Kind
from carnel.kernel.tools.console import reader_may_leave
from carnel.kernel.tools.session import EXIT_OK, ToolError

T = TypeVar("T")
_encode = msgspec.msgpack.Encoder().encode


async def call(client: BusClient, subject: str, request: msgspec.Struct, reply_type: type[T],
               timeout: float = 5.0) -> T:
    """Request and decode the reply; raises the typed CallError the kernel or provider sent."""
    reply = await client.request_raw(Kind.REQ, subject, _encode(request), timeout=timeout)
    return msgspec.msgpack.decode(reply.frames[1], type=reply_type)


async def routed(client: BusClient, timeout: float = 5.0) -> None:
    """Return once the kernel has routed everything this client sent before.

    The kernel answers an UNSUB at once, even of a pattern never subscribed, and handles one
    connection's messages in order: its answer comes after our earlier publications were routed.
    """
    await client.request_raw(Kind.UNSUB, client.name, b"", timeout=timeout)


async def bus_stats(client: BusClient) -> BusStats:
    """The kernel's statistics as a tool shows them: without the tool's own session, which would
    sit among the image's processes and count the tool's own requests."""
    stats = await call(client, "kernel.stats", Empty(), BusStats)
    return msgspec.structs.replace(
        stats, processes=[p for p in stats.processes if p.name != client.name])


async def refusals(client: BusClient) -> dict[str, int]:
    """The kernel's refusals of this session so far, by reason (`denied.publish`, ...); empty
    when the session may not ask (kernel.stats is not in the operator's `call` list)."""
    try:
        stats = await call(client, "kernel.stats", Empty(), BusStats)
    except Denied:
        return {}
    mine = next((p for p in stats.processes if p.name == client.name), None)
    return dict(mine.rejects) if mine else {}


def failed(exc: CallError) -> ToolError:
    """A typed error as the message a tool leaves with: its code first, for scripts to match."""
    if isinstance(exc, Denied):  # a tool is the operator, so the image's [operator] said no
        return ToolError(f"{exc.code}: {exc} (the image's [operator] section lists what the "
                         "carnel commands may do)")
    return ToolError(f"{exc.code}: {exc}")


def run_tool(main: Callable[..., Awaitable[int]], *args) -> int:
    """trio.run for a tool's `main`, returning its exit code.

    An error raised inside a session comes out of trio's nurseries wrapped in an exception
    group: the one inside is raised as itself, so that the command reports a ToolError as usual.
    """
    with reader_may_leave():
        try:
            return trio.run(main, *args)
        except BaseExceptionGroup as group:
            leaves = _leaves(group)
            if any(isinstance(leaf, KeyboardInterrupt) for leaf in leaves):
                # A second Ctrl-C can land in the clean-up of the first: still just a Ctrl-C.
                raise KeyboardInterrupt from None
            if len(leaves) != 1:
                raise
            if isinstance(leaves[0], CallError):  # a typed bus error the tool did not handle
                raise failed(leaves[0]) from None
            raise leaves[0] from None
        except CallError as exc:
            raise failed(exc) from None
    return EXIT_OK  # the reader went away


def _leaves(group: BaseExceptionGroup) -> list[BaseException]:
    found = []
    for exc in group.exceptions:
        found += _leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc]
    return found

