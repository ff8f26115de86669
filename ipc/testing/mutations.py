"""Payloads close to a message type's but wrong, to check that a receiver survives them.

A mutation starts from a valid message and changes one thing: a field dropped or given a value
of another type or an extreme one, an unknown field or tag, deep nesting, a container that
claims billions of items, or the encoded bytes cut, flipped or padded. Most of them the typed
decoder must refuse (the service answers BadRequest or counts the message undecodable); the rest
reach the handler with edge values (NaN, empty strings, the largest integers) it must handle.
"""
from __future__ import annotations

import datetime
import decimal
import uuid
from dataclasses import dataclass

import msgspec
import msgspec.inspect
from hypothesis import strategies as st

from carnel.ipc.testing.strategies import INT_MAX, INT_MIN, payloads_for, strategy_for

_encode = msgspec.msgpack.Encoder().encode
# Kept as themselves when a message is turned into plain values, so that it encodes as it did.
_NATIVE = (bytes, bytearray, memoryview, datetime.datetime, datetime.date, datetime.time,
           datetime.timedelta, decimal.Decimal, uuid.UUID)
NESTING = 10_000


@dataclass(frozen=True, slots=True)
class Mutation:
    """A payload and what was done to a valid message to get it (for reports)."""

    payload: bytes
    description: str

    def __repr__(self) -> str:
        # Payloads reach 100 kB: a repr of them helps nobody reading a test report.
        return f"Mutation(<{len(self.payload)} bytes>, {self.description!r})"


# msgpack headers that announce far more data than follows: a decoder must not trust them.
_LYING_HEADERS = {
    "an array header of 2**32-1 items": b"\xdd\xff\xff\xff\xff",
    "a map header of 2**32-1 pairs": b"\xdf\xff\xff\xff\xff",
    "a str header of 2**32-1 bytes": b"\xdb\xff\xff\xff\xff",
    "a bin header of 2**32-1 bytes": b"\xc6\xff\xff\xff\xff",
    "the reserved byte 0xc1": b"\xc1",
}
_DEEP = msgspec.Raw(b"\x91" * NESTING + b"\xc0")  # [[[...[nil]...]]], NESTING deep

_ODD_VALUES: list[tuple[str, object]] = [
    ("nil", None), ("true", True), ("0", 0), ("-1", -1), ("int64 min", INT_MIN),
    ("uint64 max", INT_MAX), ("NaN", float("nan")), ("inf", float("inf")), ("-0.0", -0.0),
    ("1e308", 1e308), ("empty str", ""), ("100k str", "x" * 100_000), ("NUL str", "\0"),
    ("bin", b"\x00\xff"), ("empty array", []), ("empty map", {}),
    ("map with an int key", {1: 1}), (f"{NESTING}-deep array", _DEEP),
]


def mutations(message_type: type) -> st.SearchStrategy[Mutation]:
    """Mutations of valid `message_type` messages: structural ones and byte-level ones."""
    tag_field = getattr(msgspec.inspect.type_info(message_type), "tag_field", None)
    structural = strategy_for(message_type).flatmap(
        lambda value: _structural(msgspec.to_builtins(value, builtin_types=_NATIVE), tag_field))
    return st.one_of(structural, payloads_for(message_type).flatmap(_bytewise))


def malformed_payloads(message_type: type) -> st.SearchStrategy[bytes]:
    """Just the bytes of `mutations(message_type)`."""
    return mutations(message_type).map(lambda mutation: mutation.payload)


def _paths(value: object, path: tuple = ()) -> list[tuple]:
    """Where inside a message's plain form a value sits: keys and indexes from the top."""
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*path, index))
    return found


def _where(path: tuple) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def _replaced(value: object, path: tuple, new: object) -> object:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replaced(value[head], rest, new)}
    copy = list(value)
    copy[head] = _replaced(copy[head], rest, new)
    return copy


def _removed(value: object, path: tuple) -> object:
    head, rest = path[0], path[1:]
    if rest:
        inner = value[head]
        return _replaced(value, (head,), _removed(inner, rest))
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k != head}
    return [item for index, item in enumerate(value) if index != head]


def _structural(plain: object, tag_field: str | None) -> st.SearchStrategy[Mutation]:
    inner = [path for path in _paths(plain) if path]

    def mutation(changed: object, description: str) -> Mutation:
        return Mutation(_encode(changed), description)

    def replaced(path: tuple, odd: tuple[str, object]) -> Mutation:
        return mutation(_replaced(plain, path, odd[1]), f"{_where(path)} = {odd[0]}")

    odd = st.sampled_from(_ODD_VALUES)
    options = [odd.map(lambda value: replaced((), value))]
    if inner:
        options += [
            st.tuples(st.sampled_from(inner), odd).map(lambda pick: replaced(*pick)),
            st.sampled_from(inner).map(
                lambda path: mutation(_removed(plain, path), f"{_where(path)} removed")),
        ]
    if isinstance(plain, dict):
        options += [
            st.sampled_from(_ODD_VALUES).map(lambda odd: mutation(
                {**plain, "unknown_field": odd[1]}, f"unknown field = {odd[0]}")),
            st.just(mutation(list(plain.values()), "fields as an array")),
        ]
    if isinstance(plain, dict) and tag_field in plain:
        options.append(st.text(max_size=20).map(lambda tag: mutation(
            {**plain, tag_field: tag}, f"tag = {tag!r}")))
    return st.one_of(options)


def _bytewise(payload: bytes) -> st.SearchStrategy[Mutation]:
    size = len(payload)
    position = st.integers(0, max(size - 1, 0))
    return st.one_of(
        position.map(lambda at: Mutation(payload[:at], f"cut to {at} of {size} bytes")),
        st.tuples(position, st.integers(0, 7)).map(lambda pick: Mutation(
            _flipped(payload, *pick), f"bit {pick[1]} of byte {pick[0]} flipped")),
        st.tuples(position, st.binary(min_size=1, max_size=8)).map(lambda pick: Mutation(
            payload[:pick[0]] + pick[1] + payload[pick[0]:],
            f"{pick[1].hex()} inserted at byte {pick[0]}")),
        st.binary(min_size=1, max_size=8).map(lambda extra: Mutation(
            payload + extra, f"{len(extra)} bytes appended")),
        st.sampled_from(sorted(_LYING_HEADERS.items())).map(lambda item: Mutation(
            item[1] + payload, f"prefixed with {item[0]}")),
        st.binary(max_size=64).map(lambda noise: Mutation(noise, "random bytes")),
    )


def _flipped(payload: bytes, at: int, bit: int) -> bytes:
    if not payload:
        return payload
    changed = bytearray(payload)
    changed[at] ^= 1 << bit
    return bytes(changed)
