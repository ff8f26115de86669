"""`carnel schema`'s text: message types with their fields, and the catalogue of declared ones."""
from __future__ import annotations

import inspect

import msgspec
import msgspec.inspect as mi

from carnel.ipc.schemas import registry
from carnel.ipc.subjects import matches
from carnel.kernel.tools.tables import table

_encode_json = msgspec.json.Encoder().encode

_BOUNDS = (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<="), ("multiple_of", "multiple of"))
_LENGTHS = (("min_length", "length >="), ("max_length", "length <="))
_NAMES = {mi.AnyType: "any", mi.NoneType: "null", mi.BoolType: "bool", mi.IntType: "int",
          mi.FloatType: "float", mi.StrType: "str", mi.BytesType: "bytes",
          mi.ByteArrayType: "bytearray", mi.MemoryViewType: "bytes", mi.DateTimeType: "datetime",
          mi.DateType: "date", mi.TimeType: "time", mi.TimeDeltaType: "timedelta",
          mi.UUIDType: "uuid", mi.DecimalType: "decimal", mi.ExtType: "msgpack ext",
          mi.RawType: "raw msgpack"}


def type_text(t: mi.Type) -> str:
    """A field's type as a person reads it: `list[Signal]`, `int >= 0`, `"a" | "b"`."""
    if isinstance(t, mi.Metadata):
        return type_text(t.type)
    constraints = [f"{word} {getattr(t, attr)}" for attr, word in _BOUNDS + _LENGTHS
                   if getattr(t, attr, None) is not None]
    if getattr(t, "pattern", None) is not None:
        constraints.append(f"matching {t.pattern!r}")
    return " ".join([_shape(t), *constraints])


def _shape(t: mi.Type) -> str:
    if type(t) in _NAMES:
        return _NAMES[type(t)]
    if isinstance(t, mi.UnionType):
        return " | ".join(type_text(member) for member in t.types)
    if isinstance(t, mi.LiteralType):
        return " | ".join(_encode_json(value).decode() for value in t.values)
    if isinstance(t, mi.EnumType):
        return f"{t.cls.__name__} ({' | '.join(str(m.value) for m in t.cls)})"
    if isinstance(t, mi.ListType | mi.VarTupleType):
        return f"list[{type_text(t.item_type)}]"
    if isinstance(t, mi.SetType | mi.FrozenSetType):
        return f"set[{type_text(t.item_type)}]"
    if isinstance(t, mi.TupleType):
        return f"tuple[{', '.join(type_text(item) for item in t.item_types)}]"
    if isinstance(t, mi.DictType | mi.FrozenDictType):
        return f"dict[{type_text(t.key_type)}, {type_text(t.value_type)}]"
    if hasattr(t, "cls"):
        return t.cls.__name__
    return type(t).__name__


def _default_text(field: mi.Field) -> str:
    if field.required:
        return "required"
    value = field.default if field.default is not msgspec.NODEFAULT else field.default_factory()
    try:
        return _encode_json(value).decode()
    except (TypeError, msgspec.EncodeError):
        return repr(value)


def _nested(t: mi.Type) -> list[type]:
    """Struct types used inside `t`, in order of appearance."""
    if isinstance(t, mi.StructType):
        return [t.cls]
    inner = []
    for attr in ("type", "types", "item_type", "item_types", "key_type", "value_type"):
        value = getattr(t, attr, None)
        for member in value if isinstance(value, tuple) else (value,) if value else ():
            inner += _nested(member)
    return inner


def describe_type(message_type: type) -> str:
    """The type's name, tag and docstring, then a table of its fields."""
    info = mi.type_info(message_type)
    tag = f" (tag {_encode_json(info.tag).decode()})" if getattr(info, "tag", None) else ""
    # Only the type's own docstring: inspect.getdoc would fall back to msgspec.Struct's.
    doc = inspect.cleandoc(message_type.__doc__).splitlines()[0] if message_type.__doc__ else ""
    doc = f": {doc}" if doc else ""
    head = f"{message_type.__name__}{tag}{doc}"
    fields = getattr(info, "fields", ())
    if not fields:
        return head + "\n  (no fields)"
    rows = [[f.name, type_text(f.type), _default_text(f)] for f in fields]
    return head + "\n" + table(["FIELD", "TYPE", "DEFAULT"], rows, indent="  ")


def describe_types(*roots: type) -> str:
    """`roots` and every Struct used inside them, each once."""
    seen: dict[type, None] = {}
    queue = list(roots)
    while queue:
        current = queue.pop(0)
        if current in seen:
            continue
        seen[current] = None
        for field in getattr(mi.type_info(current), "fields", ()):
            queue += _nested(field.type)
    return "\n\n".join(describe_type(t) for t in seen)


def declared_pattern(subject: str) -> str | None:
    """The topic pattern whose type `subject` carries (the most specific, as the registry picks)."""
    found = registry.topic_type(subject)
    return next((t.pattern for t in registry.topics()
                 if t.type is found and matches(t.pattern, subject)), None)


def carried(subject: str) -> tuple[type | None, registry.Method | None]:
    """The type published on `subject` and the method answering requests to it, as declared."""
    method = registry.method(subject)
    pattern = declared_pattern(subject)
    # A method beside a wildcard topic (vehicle.get beside vehicle.>) is not published on.
    if pattern is None or (method is not None and pattern != subject):
        return None, method
    return registry.topic_type(subject), method


def describe_subject(subject: str) -> str | None:
    """What `subject` carries: the topic's type, or the method's request and reply; None if no
    schema declares it."""
    parts = []
    topic, method = carried(subject)
    if topic is not None:
        pattern = declared_pattern(subject)
        declared = f" (declared for {pattern})" if pattern != subject else ""
        parts.append(f"{subject}: published as {topic.__name__}{declared}\n\n"
                     + describe_types(topic))
    if method is not None:
        parts.append(f"{subject}: request {method.request.__name__}, reply "
                     f"{method.reply.__name__}\n\n" + describe_types(method.request, method.reply))
    return "\n\n".join(parts) if parts else None


def catalogue() -> str:
    """Every declared topic and method."""
    topics = table(["TOPIC", "TYPE"], [[t.pattern, t.type.__name__] for t in registry.topics()],
                   indent="  ")
    methods = table(["METHOD", "REQUEST", "REPLY"],
                    [[m.subject, m.request.__name__, m.reply.__name__]
                     for m in registry.methods()], indent="  ")
    return f"Published (carnel schema SUBJECT for the fields):\n{topics}\n\n" \
           f"Requests:\n{methods}"
