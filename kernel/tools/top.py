"""`carnel top`: message rates and drops per subject and per process, refreshed."""
from __future__ import annotations

import sys
from pathlib import Path

import msgspec
import trio

from carnel.ipc.errors import CallError
from carnel.kernel.tools.bus import bus_stats, failed, run_tool
from carnel.kernel.tools.console import ExamplesFormatter, positive_float, positive_int
from carnel.kernel.tools.rates import format_rates, rates
from carnel.kernel.tools.session import EXIT_OK, operator_session

NAME = "top"
_CLEAR_SCREEN = "\x1b[H\x1b[2J"


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        NAME, help="rates and drops per subject and per process, refreshed",
        description="Show messages and bytes per second, drops and refusals, per subject and "
        "per process, from the kernel's statistics taken --interval apart (the first view "
        "appears after one interval). Refreshes until Ctrl-C, or N times with -n.",
        epilog="example: carnel top\n         carnel top --once --json",
        formatter_class=ExamplesFormatter)
    p.add_argument("--interval", type=positive_float, default=1.0, metavar="S",
                   help="seconds between views (default: 1)")
    p.add_argument("-n", "--count", type=positive_int, metavar="N", help="show N views, then exit")
    p.add_argument("--once", action="store_true", help="show one view and exit (-n 1)")
    p.add_argument("--json", action="store_true", help="each view as one JSON object a line")


def run(args, directory: Path) -> int:
    count = 1 if args.once else args.count
    clear = sys.stdout.isatty() and not args.json
    return run_tool(_top, directory, args.interval, count, args.json, clear)


async def _top(directory: Path, interval: float, count: int | None, as_json: bool,
               clear: bool) -> int:
    # Joined for as long as it runs, however long --interval is.
    async with operator_session(directory, NAME) as client:
        try:
            before = await bus_stats(client)
            then = trio.current_time()
            shown = 0
            while count is None or shown < count:
                await trio.sleep(interval)
                after = await bus_stats(client)
                now = trio.current_time()
                view = rates(before, after, now - then)
                if as_json:
                    print(msgspec.json.encode(view).decode(), flush=True)
                else:
                    print((_CLEAR_SCREEN if clear else "\n" if shown else "")
                          + format_rates(view), flush=True)
                before, then = after, now
                shown += 1
        except CallError as exc:
            raise failed(exc) from None
    return EXIT_OK
