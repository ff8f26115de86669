"""`carnel tap`: print live bus traffic, retained values first."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import trio

from carnel.ipc.client import Delivery
from carnel.ipc.errors import CallError
from carnel.ipc.subjects import SubjectError, validate_pattern
from carnel.kernel.tools.bus import failed, run_tool
from carnel.kernel.tools.console import ExamplesFormatter, positive_int
from carnel.kernel.tools.session import EXIT_OK, EXIT_USAGE, ToolError, operator_session
from carnel.kernel.tools.traffic import Palette, as_json, as_text, seen

NAME = "tap"
BACKLOG = 1000  # batches held for printing; beyond it tap says how many it skipped


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        NAME, help="print live traffic on the bus",
        description="Print every publication on the subjects given (wildcards allowed: * is one "
        "token, > the rest): time, source, subject, the decoded message and attachment sizes. "
        "Retained values arrive first, marked 'retained'. Stop with Ctrl-C.",
        epilog="example: carnel tap 'vehicle.>' kernel.process.trip\n"
               "         carnel tap --json | jq .message",
        formatter_class=ExamplesFormatter)
    p.add_argument("subjects", nargs="*", default=[">"], metavar="SUBJECT",
                   help="subjects or patterns to watch (default: > , everything)")
    p.add_argument("--json", action="store_true", help="one JSON object a line, for pipes")
    p.add_argument("-n", "--count", type=positive_int, metavar="N",
                   help="stop after N messages")


def run(args, directory: Path) -> int:
    for pattern in args.subjects:
        try:
            validate_pattern(pattern)
        except SubjectError as exc:
            raise ToolError(str(exc), EXIT_USAGE) from None
    # no-color.org: any non-empty NO_COLOR turns colour off.
    colour = Palette(sys.stdout.isatty() and not os.environ.get("NO_COLOR"))
    render = as_json if args.json else lambda item: as_text(item, colour)
    return run_tool(_tap, directory, args.subjects, render, args.count)


async def _tap(directory: Path, patterns: list[str], render, count: int | None) -> int:
    send, receive = trio.open_memory_channel[list[Delivery]](BACKLOG)
    skipped = 0

    def sink(batch: list[Delivery]) -> None:
        nonlocal skipped
        try:
            send.send_nowait(batch)
        except trio.WouldBlock:
            skipped += len(batch)

    async with operator_session(directory, NAME) as client:
        try:
            for pattern in patterns:
                await client.subscribe(pattern, sink)
        except CallError as exc:
            raise failed(exc) from None
        print(f"carnel tap: watching {' '.join(patterns)} (Ctrl-C to stop)", file=sys.stderr,
              flush=True)
        shown = 0
        async for batch in receive:
            if skipped:
                print(f"carnel tap: fell behind, {skipped} messages not shown", file=sys.stderr)
                skipped = 0
            for delivery in batch:
                item = seen(delivery.header, delivery.payload,
                            tuple(len(a) for a in delivery.attachments))
                print(render(item), flush=True)
                shown += 1
                if shown == count:
                    return EXIT_OK
    return EXIT_OK
