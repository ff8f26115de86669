"""What travels on a subject, for the tools: its declared type, JSON read into it, and any payload
decoded for display.

Types come from carnel.ipc.schemas.registry. Payloads from the bus are decoded only with typed
decoders: the subject's declared type first, then the union of every schema (each has its own
tag, so the payload says which it is). JSON from the command line is held to its type more
strictly than msgspec holds the bus: a field the type does not have is refused, at any depth,
where msgspec would drop it (so that a schema can gain fields without breaking old readers).
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import cache
from typing import Any, Union

import msgspec
import msgspec.inspect as mi

from carnel.ipc.schemas import bus, registry
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
        if name in (message_type.__name__, mi.type_info(message_type).tag):
            return message_type
    known = ", ".join(t.__name__ for t in _user_types())
    raise InputError(f"no message type named {name!r} (types: {known})")


def _user_types() -> list[type]:
    """The types a user could mean by --type: all but the bus protocol's own (Hello, Welcome,
    Taken, ErrorReply, the parts of BusStats), which no subject carries."""
    carried = {t.type for t in registry.topics()}
    carried |= {t for m in registry.methods() for t in (m.request, m.reply)}
    return [t for t in registry.message_types() if t in carried or t.__module__ != bus.__name__]


def published_type(subject: str, override: str | None = None) -> type:
    """The type to publish on `subject`: the declared one, or `override` where none is."""
    declared = registry.topic_type(subject)
    if override:
        return _agreeing(named_type(override), declared, f"{subject} carries")
    if declared is None:
        raise InputError(f"no schema declares what is published on {subject}: pass --type "
                         "(carnel schema lists the declared subjects)")
    return declared


def request_types(subject: str, override: str | None = None) -> tuple[type, type | None]:
    """The request type for `subject` and its reply type (None: decode whatever comes)."""
    method = registry.method(subject)
    if override:
        request = _agreeing(named_type(override), method.request if method else None,
                            f"{subject} takes")
        return request, method.reply if method else None
    if method is None:
        raise InputError(f"no schema declares the request {subject} takes: pass --type "
                         "(carnel schema lists the declared methods)")
    return method.request, method.reply


def _agreeing(chosen: type, declared: type | None, declaration: str) -> type:
    """`chosen`, unless a schema declares another type for the subject (`declaration` says so:
    "vehicle.Speed carries"): its readers decode with that type and would drop this one unseen."""
    if declared is not None and chosen is not declared:
        raise InputError(f"{declaration} {_a(declared)}, not {_a(chosen)}: leave out --type, "
                         "which is for subjects no schema declares")
    return chosen


STDIN = "-"  # the JSON argument that means "read it from stdin"


def json_argument(argument: str) -> str | bytes:
    """The JSON a command line gives: the argument itself, or what stdin holds for `-`, which
    carries a message larger than the OS lets one argument be (128 KiB on Linux)."""
    if argument != STDIN:
        return argument
    if sys.stdin is None:
        raise InputError("- reads the JSON from stdin, which is closed")
    try:
        return sys.stdin.buffer.read()
    except OSError as exc:
        raise InputError(f"cannot read the JSON from stdin: {exc.strerror or exc}") from None


# Numbers beyond a float's range read as inf here, not as an error without a field's path: the
# typed decode that follows refuses them, saying where they are.
_plain_json = msgspec.json.Decoder(float_hook=float)


def from_json(text: str | bytes, message_type: type, subject: str) -> msgspec.Struct:
    """`text` as a `message_type`; the error names the field and what it expected, or the
    fields a type does not have."""
    try:
        _refuse_unknown_fields(_plain_json.decode(text), message_type, subject)
        message = msgspec.json.decode(text, type=message_type)
        msgspec.msgpack.encode(message)  # what the bus will carry: JSON's integers are unbounded
        return message
    except OverflowError:
        raise InputError(f"{subject} takes {_a(message_type)}: an integer in that JSON is too "
                         "large: the bus carries integers of at most 64 bits") from None
    except msgspec.ValidationError as exc:
        raise InputError(f"{subject} takes {_a(message_type)}: {exc}") from None
    except (msgspec.DecodeError, UnicodeError) as exc:
        raise InputError(f"that is not JSON: {exc}") from None
    except RecursionError:
        raise InputError("that JSON is nested too deeply to read") from None


def _a(message_type: type) -> str:
    name = message_type.__name__
    return f"{'an' if name[0] in 'AEIOU' else 'a'} {name}"


@dataclass(frozen=True)
class UnknownFields:
    """Names in a JSON object that its type has no field for."""

    type_name: str
    names: tuple[str, ...]
    fields: tuple[str, ...]
    at: str  # where the object is, as msgspec's errors say it: `$`, `$.signals[0]`


# What msgspec reads from a JSON object by field name, dropping names it does not know.
_OBJECTS = (mi.StructType, mi.TypedDictType, mi.DataclassType)
_ARRAYS = (mi.ListType, mi.VarTupleType, mi.SetType, mi.FrozenSetType)


def _refuse_unknown_fields(value: Any, message_type: type, subject: str) -> None:
    found = unknown_fields(value, mi.type_info(message_type))
    if found is None:
        return
    plural = "s" if len(found.names) > 1 else ""
    names = ", ".join(f"`{name}`" for name in found.names)
    fields = f"its fields are {', '.join(found.fields)}" if found.fields else "it has no fields"
    where = (f"{subject} takes {_a(message_type)}, which" if found.at == "$" else
             f"{subject} takes {_a(message_type)}: the {found.type_name} at `{found.at}`")
    raise InputError(f"{where} has no field{plural} {names}: {fields}")


def unknown_fields(value: Any, t: mi.Type, at: str = "$") -> UnknownFields | None:
    """The first object in `value` (JSON decoded untyped) with names its type in `t` lacks."""
    t = _unwrapped(t)
    if isinstance(t, mi.UnionType):
        member = _member_read_into(value, t)
        return unknown_fields(value, member, at) if member is not None else None
    if isinstance(value, dict) and isinstance(t, _OBJECTS) and not getattr(t, "array_like", False):
        return _unknown_in_object(value, t, at)
    if isinstance(value, dict) and isinstance(t, mi.DictType):
        inner = (unknown_fields(item, t.value_type, f"{at}[...]") for item in value.values())
    elif isinstance(value, list) and isinstance(t, _ARRAYS):
        inner = (unknown_fields(item, t.item_type, f"{at}[{index}]")
                 for index, item in enumerate(value))
    elif isinstance(value, list) and isinstance(t, mi.TupleType):
        inner = (unknown_fields(item, item_type, f"{at}[{index}]")
                 for index, (item, item_type) in enumerate(zip(value, t.item_types)))
    else:
        return None
    return next((found for found in inner if found is not None), None)


def _unknown_in_object(value: dict, t: mi.Type, at: str) -> UnknownFields | None:
    fields = tuple(field.encode_name for field in t.fields)
    # A tagged Struct's tag ("type": "signal") may be written out: msgspec checks its value.
    tag_field = getattr(t, "tag_field", None)
    unknown = tuple(name for name in value if name not in fields and name != tag_field)
    if unknown:
        return UnknownFields(t.cls.__name__, unknown, fields, at)
    inner = (unknown_fields(value[field.encode_name], field.type, f"{at}.{field.encode_name}")
             for field in t.fields if field.encode_name in value)
    return next((found for found in inner if found is not None), None)


def _member_read_into(value: Any, union: mi.UnionType) -> mi.Type | None:
    """The member of `union` msgspec reads the object or array `value` into, if it can tell."""
    members = [_unwrapped(member) for member in union.types]
    if isinstance(value, dict):
        objects = [m for m in members if isinstance(m, (*_OBJECTS, mi.DictType))
                   and not getattr(m, "array_like", False)]
        tagged = [m for m in objects if getattr(m, "tag_field", None)]
        if tagged:
            return next((m for m in tagged if value.get(m.tag_field) == m.tag), None)
    elif isinstance(value, list):
        objects = [m for m in members if isinstance(m, (*_ARRAYS, mi.TupleType))]
    else:
        return None
    # msgspec allows one untagged object type and one array type in a union.
    return objects[0] if len(objects) == 1 else None


def _unwrapped(t: mi.Type) -> mi.Type:
    return _unwrapped(t.type) if isinstance(t, mi.Metadata) else t


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
