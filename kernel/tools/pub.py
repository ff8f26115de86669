"""`carnel pub`: publish one message, given as JSON, on a subject."""
from __future__ import annotations

import sys
from pathlib import Path

import msgspec

from carnel.ipc.errors import CallError
from carnel.ipc.subjects import SubjectError, validate_subject
from carnel.kernel.tools.bus import failed, refusals, routed, run_tool
from carnel.kernel.tools.console import ExamplesFormatter
from carnel.kernel.tools.messages import from_json, json_argument, published_type
from carnel.kernel.tools.session import EXIT_OK, EXIT_USAGE, ToolError, operator_session

NAME = "pub"


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        NAME, help="publish one message, given as JSON",
        description="Publish one message on SUBJECT. The JSON is read into the subject's "
        "declared message type (carnel schema SUBJECT shows its fields), so a wrong field is "
        "refused here, naming it, before anything is sent. Exits once the kernel has routed it.",
        epilog="example: carnel pub vehicle.Speed "
               "'{\"path\": \"Vehicle.Speed\", \"value\": 50.0, \"unit\": \"km/h\"}' --retain\n"
               "         carnel pub vehicle.Speed - < speed.json",
        formatter_class=ExamplesFormatter)
    p.add_argument("subject", metavar="SUBJECT")
    p.add_argument("json", metavar="JSON", help="the message, as a JSON object, or - to read it "
                   "from stdin, for one larger than a command-line argument may be")
    p.add_argument("--retain", action="store_true",
                   help="keep it as the subject's latest value for new subscribers")
    p.add_argument("--type", metavar="TYPE",
                   help="the message type, for a subject no schema declares (Signal or signal)")


def run(args, directory: Path) -> int:
    try:
        validate_subject(args.subject)
    except SubjectError as exc:
        raise ToolError(str(exc), EXIT_USAGE) from None
    message_type = published_type(args.subject, args.type)
    message = from_json(json_argument(args.json), message_type, args.subject)
    return run_tool(_publish, directory, args.subject, msgspec.msgpack.encode(message),
                    args.retain, message_type.__name__)


async def _publish(directory: Path, subject: str, payload: bytes, retain: bool,
                   type_name: str) -> int:
    async with operator_session(directory, NAME) as client:
        try:
            await client.publish_raw(subject, payload, retain=retain)
            await routed(client)
            refused = await refusals(client)
        except CallError as exc:
            raise failed(exc) from None
    # The kernel drops a refused publication without answering: its counters tell.
    if refused:
        reasons = ", ".join(sorted(refused))
        raise ToolError(f"denied: the kernel refused to route it ({reasons}): see the image's "
                        "[operator] table and [bus] max_message_size")
    print(f"carnel pub: published {type_name} on {subject}{' (retained)' if retain else ''}",
          file=sys.stderr)
    return EXIT_OK
