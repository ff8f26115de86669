"""`carnel call`: send one request, given as JSON, and print the reply or the typed error."""
from __future__ import annotations

from pathlib import Path

import msgspec

from carnel.ipc.errors import CallError
from carnel.ipc.subjects import SubjectError, validate_subject
from carnel.ipc.wire import Kind
from carnel.kernel.tools.bus import failed, run_tool
from carnel.kernel.tools.console import ExamplesFormatter, positive_float
from carnel.kernel.tools.messages import (
    decode, from_json, json_argument, request_types, to_json)
from carnel.kernel.tools.session import EXIT_OK, EXIT_USAGE, ToolError, operator_session

NAME = "call"


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        NAME, help="send a request, given as JSON, and print the reply",
        description="Send a request to SUBJECT and print the reply as JSON. The JSON is read "
        "into the subject's declared request type (carnel schema SUBJECT shows its fields), "
        "so a wrong field is refused here, naming it. A typed error (unavailable, timeout, "
        "denied, bad_request, internal) is printed on stderr, code first, and exits 1.",
        epilog="example: carnel call vehicle.get '{\"paths\": [\"Vehicle.Speed\"]}'\n"
               "         carnel call trip.reset --timeout 2\n"
               "         carnel call vehicle.get - < request.json",
        formatter_class=ExamplesFormatter,
        # Options may come before JSON, which argparse alone takes as left out at the first one.
        intermixed=True)
    p.add_argument("subject", metavar="SUBJECT")
    p.add_argument("json", metavar="JSON", nargs="?", default="{}",
                   help="the request, as a JSON object (default: {}), or - to read it from "
                   "stdin, for one larger than a command-line argument may be")
    p.add_argument("--timeout", type=positive_float, default=5.0, metavar="S",
                   help="seconds to wait for the reply (default: 5)")
    p.add_argument("--type", metavar="TYPE",
                   help="the request type, for a subject no schema declares (SignalQuery)")


def run(args, directory: Path) -> int:
    try:
        validate_subject(args.subject)
    except SubjectError as exc:
        raise ToolError(str(exc), EXIT_USAGE) from None
    request_type, reply_type = request_types(args.subject, args.type)
    request = from_json(json_argument(args.json), request_type, args.subject)
    return run_tool(_call, directory, args.subject, msgspec.msgpack.encode(request), reply_type,
                    args.timeout)


async def _call(directory: Path, subject: str, payload: bytes, reply_type: type | None,
                timeout: float) -> int:
    # Joined while it waits, however long --timeout is.
    async with operator_session(directory, NAME) as client:
        try:
            reply = await client.request_raw(Kind.REQ, subject, payload, timeout=timeout)
        except CallError as exc:
            raise failed(exc) from None
        message = decode(reply.payload, subject, reply_type)
        if message is None:
            raise ToolError(f"the reply ({len(reply.payload)} bytes) is not a "
                            f"{reply_type.__name__ if reply_type else 'known message type'}")
        print(to_json(message, indent=2))
    return EXIT_OK
