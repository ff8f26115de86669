"""What the tools share on the command line, and how they come out of trio."""
from __future__ import annotations

import argparse

import pytest
import trio

from carnel.kernel.tools.bus import run_tool
from carnel.kernel.tools.console import ExamplesFormatter, positive_float, positive_int
from carnel.kernel.tools.session import ToolError


def test_counts_and_seconds_must_be_positive():
    assert positive_int("3") == 3 and positive_float("0.5") == 0.5
    for bad in ("0", "-1"):
        with pytest.raises(ValueError):
            positive_int(bad)
    for bad in ("0", "nan", "inf"):
        with pytest.raises(ValueError):
            positive_float(bad)


def test_help_keeps_examples_one_a_line():
    parser = argparse.ArgumentParser(prog="carnel x", description="word " * 40,
                                     epilog="example: carnel x a\n         carnel x b",
                                     formatter_class=ExamplesFormatter)
    text = parser.format_help()
    assert "example: carnel x a\n         carnel x b" in text
    assert max(len(line) for line in text.splitlines()) < 100


def test_a_tool_error_raised_inside_nurseries_comes_out_as_itself():
    async def main() -> int:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(trio.sleep_forever)
            raise ToolError("no such process", 2)

    with pytest.raises(ToolError, match="no such process"):
        run_tool(main)


def test_a_tool_s_exit_code_is_returned():
    async def main(code: int) -> int:
        await trio.lowlevel.checkpoint()
        return code

    assert run_tool(main, 4) == 4
