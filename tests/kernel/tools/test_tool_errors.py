"""A typed bus error a tool does not handle itself still ends it with a message, not a trace."""
from __future__ import annotations

import pytest
import trio

from carnel.ipc.errors import Unavailable
from carnel.kernel.tools.bus import run_tool
from carnel.kernel.tools.session import ToolError


async def fails_inside_a_nursery() -> int:
    async with trio.open_nursery() as nursery:
        nursery.start_soon(trio.sleep_forever)
        raise Unavailable("no connected process provides nav.route", "nav.route")


async def fails_directly() -> int:
    raise Unavailable("the kernel is shutting down")


@pytest.mark.parametrize("main", [fails_inside_a_nursery, fails_directly])
def test_an_unhandled_call_error_becomes_the_tool_s_error(main):
    with pytest.raises(ToolError, match="^unavailable: "):
        run_tool(main)


async def interrupted_while_cleaning_up() -> int:
    async def cleanup_fails() -> None:
        try:
            await trio.sleep_forever()
        finally:
            raise RuntimeError("socket closed under the monitor")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(cleanup_fails)
        await trio.sleep(0)
        raise KeyboardInterrupt


def test_ctrl_c_with_another_failure_in_clean_up_is_still_a_ctrl_c():
    with pytest.raises(KeyboardInterrupt):
        run_tool(interrupted_while_cleaning_up)
