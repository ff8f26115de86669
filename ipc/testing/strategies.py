"""Hypothesis strategies derived from message schemas, so every Struct has one without writing it.

`strategy_for(T)` reads T through msgspec.inspect, field types and constraints (`Meta(ge=...)`,
lengths, patterns) included, and generates what T's typed decoder accepts: a value that survives
`msgpack.encode` and `msgpack.Decoder(T).decode`. Unconstrained floats include NaN and the
infinities, because the decoder accepts them and so a handler receives them.

A type msgspec supports only through hooks (`CustomType`) is looked up with `st.from_type`: give
it a strategy with `hypothesis.strategies.register_type_strategy`.
"""
from __future__ import annotations

import builtins
import datetime
from collections.abc import Callable
from functools import cache
from typing import Annotated, Any

import msgspec
import msgspec.inspect as mi
from hypothesis import strategies as st

from carnel.ipc.schemas import registry

# What msgpack can carry: int64 below zero, uint64 above.
INT_MIN, INT_MAX = -(2**63), 2**64 - 1

_encode = msgspec.msgpack.Encoder().encode


@cache
def strategy_for(struct_type: type) -> st.SearchStrategy:
    """Every value of `struct_type` (a msgspec Struct, or any type msgspec can decode) that its
    typed msgpack decoder accepts."""
    return _Builder().build(mi.type_info(struct_type))


def strategies() -> dict[type, st.SearchStrategy]:
    """A strategy for each message type in carnel.ipc.schemas, yours included."""
    return {message_type: strategy_for(message_type)
            for message_type in registry.message_types()}


def payloads_for(struct_type: type) -> st.SearchStrategy[bytes]:
    """Valid msgpack payloads of `struct_type`, as a publisher would put them on the bus."""
    return strategy_for(struct_type).map(_encode)


def _bounded_ints(t: mi.IntType) -> st.SearchStrategy[int]:
    low = max(x for x in (INT_MIN, t.ge, None if t.gt is None else t.gt + 1) if x is not None)
    high = min(x for x in (INT_MAX, t.le, None if t.lt is None else t.lt - 1) if x is not None)
    step = t.multiple_of
    if step:
        return st.integers(-(-low // step), high // step).map(lambda k: k * step)
    return st.integers(low, high)


def _bounded_floats(t: mi.FloatType) -> st.SearchStrategy[float]:
    bounds = {"gt": t.gt, "ge": t.ge, "lt": t.lt, "le": t.le}
    if t.multiple_of:
        # Multiples of the step, and msgspec's own check decides: float remainders do not
        # follow decimal intuition.
        check = msgspec.msgpack.Decoder(Annotated[float, msgspec.Meta(
            multiple_of=t.multiple_of, **{k: v for k, v in bounds.items() if v is not None})])
        return st.integers(-(2**53), 2**53).map(lambda k: float(k * t.multiple_of)).filter(
            lambda x: _accepted(check, x))
    bounded = any(x is not None for x in bounds.values())
    return st.floats(
        min_value=t.ge if t.ge is not None else t.gt,
        max_value=t.le if t.le is not None else t.lt,
        exclude_min=t.ge is None and t.gt is not None,
        exclude_max=t.le is None and t.lt is not None,
        allow_nan=not bounded,
    )


def _accepted(decoder: msgspec.msgpack.Decoder, value: Any) -> bool:
    try:
        decoder.decode(_encode(value))
    except msgspec.ValidationError:
        return False
    return True


def _text(t: mi.StrType) -> st.SearchStrategy[str]:
    low, high = t.min_length or 0, t.max_length
    if t.pattern is None:
        return st.text(min_size=low, max_size=high)
    # msgspec matches patterns with re.search, as from_regex generates by default.
    return st.from_regex(t.pattern).filter(
        lambda s: low <= len(s) and (high is None or len(s) <= high))


def _sized(items: st.SearchStrategy, t, *, unique: bool = False) -> st.SearchStrategy[list]:
    return st.lists(items, min_size=t.min_length or 0, max_size=t.max_length, unique=unique)


class _Builder:
    """Turns msgspec.inspect types into strategies, following recursive Structs lazily."""

    def __init__(self) -> None:
        self._records: dict[type, st.SearchStrategy] = {}

    def build(self, t: mi.Type) -> st.SearchStrategy:
        simple = _SIMPLE.get(type(t))
        if simple is not None:
            return simple(t)
        if isinstance(t, mi.Metadata):
            return self.build(t.type)
        if isinstance(t, mi.UnionType):
            return st.one_of([self.build(member) for member in t.types])
        if isinstance(t, mi.ListType):
            return _sized(self.build(t.item_type), t)
        if isinstance(t, mi.VarTupleType):
            return _sized(self.build(t.item_type), t).map(tuple)
        if isinstance(t, mi.SetType | mi.FrozenSetType):
            kind = set if isinstance(t, mi.SetType) else frozenset
            return _sized(self.build(t.item_type), t, unique=True).map(kind)
        if isinstance(t, mi.TupleType):
            return st.tuples(*(self.build(item) for item in t.item_types))
        if isinstance(t, mi.DictType | mi.FrozenDictType):
            mapping = st.dictionaries(self.build(t.key_type), self.build(t.value_type),
                                      min_size=t.min_length or 0, max_size=t.max_length)
            return mapping if isinstance(t, mi.DictType) else mapping.map(builtins.frozendict)
        if isinstance(t, mi.StructType | mi.DataclassType | mi.NamedTupleType):
            return self._record(t.cls, t.fields, t.cls)
        if isinstance(t, mi.TypedDictType):
            return self._record(t.cls, t.fields, dict)
        if isinstance(t, mi.CustomType):
            return st.from_type(t.cls)
        raise TypeError(f"no strategy for {t!r}: register one for its type with "
                        "hypothesis.strategies.register_type_strategy")

    def _record(self, cls: type, fields: tuple[mi.Field, ...],
                make: Callable[..., Any]) -> st.SearchStrategy:
        """A Struct, dataclass, NamedTuple or TypedDict: required fields always, fields with a
        default sometimes (the receiver then sees the default)."""
        known = self._records.get(cls)
        if known is not None:
            return known
        built: list[st.SearchStrategy] = []
        self._records[cls] = st.deferred(lambda: built[0])  # a field of its own type
        required = {f.name: self.build(f.type) for f in fields if f.required}
        optional = {f.name: self.build(f.type) for f in fields if not f.required}
        built.append(st.fixed_dictionaries(required, optional=optional).map(
            lambda values: _construct(make, values)).filter(lambda value: value is not _REFUSED))
        self._records[cls] = built[0]
        return built[0]


_REFUSED = object()


def _construct(make: Callable[..., Any], values: dict) -> Any:
    # A __post_init__ may refuse a combination; the decoder refuses it too, so it is not a value.
    try:
        return make(**values)
    except (ValueError, TypeError):
        return _REFUSED


def _datetimes(t: mi.DateTimeType) -> st.SearchStrategy[datetime.datetime]:
    aware = st.datetimes(timezones=st.just(datetime.UTC))
    naive = st.datetimes()
    return {True: aware, False: naive}.get(t.tz, aware | naive)


def _times(t: mi.TimeType) -> st.SearchStrategy[datetime.time]:
    aware = st.times(timezones=st.just(datetime.UTC))
    naive = st.times()
    return {True: aware, False: naive}.get(t.tz, aware | naive)


def _any_value() -> st.SearchStrategy:
    """What an untyped field (`Any`) may hold and msgpack carries back unchanged."""
    scalars = (st.none() | st.booleans() | st.integers(INT_MIN, INT_MAX)
               | st.floats(allow_nan=False) | st.text() | st.binary())
    return st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                        | st.dictionaries(st.text(), inner, max_size=4), max_leaves=12)


_SIMPLE: dict[type, Callable[[Any], st.SearchStrategy]] = {
    mi.AnyType: lambda t: _any_value(),
    mi.NoneType: lambda t: st.none(),
    mi.BoolType: lambda t: st.booleans(),
    mi.IntType: _bounded_ints,
    mi.FloatType: _bounded_floats,
    mi.StrType: _text,
    mi.BytesType: lambda t: st.binary(min_size=t.min_length or 0, max_size=t.max_length),
    mi.ByteArrayType: lambda t: st.binary(min_size=t.min_length or 0,
                                          max_size=t.max_length).map(bytearray),
    mi.MemoryViewType: lambda t: st.binary(min_size=t.min_length or 0,
                                           max_size=t.max_length).map(memoryview),
    mi.DateTimeType: _datetimes,
    mi.DateType: lambda t: st.dates(),
    mi.TimeType: _times,
    mi.TimeDeltaType: lambda t: st.timedeltas(),
    mi.UUIDType: lambda t: st.uuids(),
    mi.DecimalType: lambda t: st.decimals(allow_nan=False, allow_infinity=False),
    mi.LiteralType: lambda t: st.sampled_from(t.values),
    mi.EnumType: lambda t: st.sampled_from(list(t.cls)),
    mi.ExtType: lambda t: st.builds(msgspec.msgpack.Ext, st.integers(-128, 127), st.binary()),
    mi.RawType: lambda t: _any_value().map(lambda value: msgspec.Raw(_encode(value))),
}
