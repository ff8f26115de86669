"""`carnel schema`: the message type of a subject and its fields, or every declared subject."""
from __future__ import annotations

from pathlib import Path

import msgspec

from carnel.ipc.schemas import registry
from carnel.ipc.subjects import SubjectError, validate_subject
from carnel.kernel.tools.console import ExamplesFormatter, reader_may_leave
from carnel.kernel.tools.describe import carried, catalogue, describe_subject, describe_types
from carnel.kernel.tools.messages import InputError, named_type
from carnel.kernel.tools.session import EXIT_OK, EXIT_USAGE, ToolError

NAME = "schema"


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        NAME, help="show the message type of a subject, or list every declared subject",
        description="With a subject, show what is published on it or what a request to it "
        "takes and returns: each message type with its fields, their types and defaults. A "
        "message type's name or tag works too. Without one, list every declared topic and "
        "method. Needs no running kernel: it reads carnel.ipc.schemas.",
        epilog="example: carnel schema vehicle.Speed\n"
               "         carnel schema vehicle.get --json",
        formatter_class=ExamplesFormatter)
    p.add_argument("subject", nargs="?", metavar="SUBJECT",
                   help="a subject (vehicle.Speed), or a message type (Signal)")
    p.add_argument("--json", action="store_true", help="JSON Schema instead of text")


def run(args, directory: Path) -> int:
    pattern_type = _declared_for(args.subject)
    if args.subject is not None and pattern_type is None:
        # A type's name or tag is a valid subject too, so this refuses no type.
        try:
            validate_subject(args.subject)
        except SubjectError as exc:
            raise ToolError(str(exc), EXIT_USAGE) from None
    if pattern_type is not None:  # a pattern as the listing shows it (vehicle.>), typed back
        text = (msgspec.json.encode({"pattern": args.subject,
                                     "published": msgspec.json.schema(pattern_type)}).decode()
                if args.json else
                f"{args.subject}: published as {pattern_type.__name__}\n\n"
                + describe_types(pattern_type))
    elif args.json:
        text = msgspec.json.encode(_as_json_schema(args.subject)).decode()
    elif args.subject is None:
        text = catalogue()
    else:
        text = describe_subject(args.subject) or describe_types(_named(args.subject))
    with reader_may_leave():
        print(text)
    return EXIT_OK


def _declared_for(pattern: str | None) -> type | None:
    """The type published on `pattern`, if it is one of the declared topic patterns."""
    return next((t.type for t in registry.topics() if t.pattern == pattern), None)


def _named(name: str) -> type:
    try:
        return named_type(name)
    except InputError:
        raise ToolError(f"no schema declares {name!r} as a subject or a message type: carnel "
                        "schema lists them", EXIT_USAGE) from None


def _as_json_schema(subject: str | None) -> dict:
    if subject is None:
        return {"topics": [{"pattern": t.pattern, "type": t.type.__name__}
                           for t in registry.topics()],
                "methods": [{"subject": m.subject, "request": m.request.__name__,
                             "reply": m.reply.__name__} for m in registry.methods()]}
    described: dict = {"subject": subject}
    topic, method = carried(subject)
    if topic is not None:
        described["published"] = msgspec.json.schema(topic)
    if method is not None:
        described["request"] = msgspec.json.schema(method.request)
        described["reply"] = msgspec.json.schema(method.reply)
    if len(described) == 1:
        return {"type": msgspec.json.schema(_named(subject))}
    return described
