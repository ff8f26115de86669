"""What travels on a subject, for the tools: its declared type, JSON read into it, and any payload
decoded for display.

Types come from carnel.ipc.schemas.registry. Payloads from the bus are decoded only with typed
decoders: the subject's declared type first, then the union of every schema (each has its own
tag, so the payload says which it is).
"""
from __future__ import annotations

from functools import cache
from typing import Union

import msgspec
import msgspec.inspect

from carnel.ipc.schemas import registry
from carnel.kernel.tools.session import EXIT_USAGE, ToolError

# What a typed decoder raises for hostile bytes: msgspec's DecodeError (ValidationError is one),
# UnicodeDecodeError for a str that is not UTF-8 (both ValueErrors), and RecursionError for an
# unknown field nested deeper than the interpreter's recursion limit, which msgspec skips by
# recursing.
UNDECODABLE = (ValueError, RecursionError)


class InputError(ToolError):
    """JSON from the command line that is not a valid message: a usage error."""

    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_USAGE)


def named_type(name: str) -> type:
    """A schema by class name or tag (`Signal` or `signal`), for subjects no schema declares."""
    for message_type in registry.message_types():
        if name in (message_type.__name__, msgspec.inspect.type_info(message_type).tag):
            return message_type
    known = ", ".join(t.__name__ for t in registry.message_types())
    raise InputError(f"no message type named {name!r} (types: {known})")


def published_type(subject: str, override: str | None = None) -> type:
    """The type to publish on `subject`: `override` if given, else the declared one."""
    if override:
        return named_type(override)
    declared = registry.topic_type(subject)
    if declared is None:
        raise InputError(f"no schema declares what is published on {subject}: pass --type "
                         "(carnel schema lists the declared subjects)")
    return declared


def request_types(subject: str, override: str | None = None) -> tuple[type, type | None]:
    """The request type for `subject` and its reply type (None: decode whatever comes)."""
    method = registry.method(subject)
    if override:
        return named_type(override), method.reply if method else None
    if method is None:
        raise InputError(f"no schema declares the request {subject} takes: pass --type "
                         "(carnel schema lists the declared methods)")
    return method.request, method.reply


def from_json(text: str, message_type: type, subject: str) -> msgspec.Struct:
    """`text` as a `message_type`; the error names the field and what it expected."""
    try:
        return msgspec.json.decode(text, type=message_type)
    except msgspec.ValidationError as exc:
        raise InputError(f"{subject} takes a {message_type.__name__}: {exc}") from None
    except (msgspec.DecodeError, UnicodeError) as exc:
        raise InputError(f"that is not JSON: {exc}") from None


@cache
def _decoder(message_type: type | None) -> msgspec.msgpack.Decoder:
    """A typed decoder of `message_type`; None means any schema."""
    return msgspec.msgpack.Decoder(message_type or Union[registry.message_types()])


def decode(payload, subject: str, expected: type | None = None) -> msgspec.Struct | None:
    """The message in `payload` (`expected`, else the subject's declared type, else any schema),
    or None when it is none of the known schemas."""
    first = expected or registry.topic_type(subject)
    for message_type in (first, None) if first else (None,):
        try:
            return _decoder(message_type).decode(payload)
        except UNDECODABLE:
            continue
    return None


def to_json(message: msgspec.Struct, indent: int = 0) -> str:
    text = msgspec.json.encode(message)
    return (msgspec.json.format(text, indent=indent) if indent else text).decode()
