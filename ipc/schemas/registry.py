"""Which message type travels on which subject, for tools that decode, encode and describe.

Every schema module may declare, beside its Structs:

    TOPICS = (Topic("gps.fix", GpsFix),)                       # published
    METHODS = (Method("vehicle.get", SignalQuery, SignalValues),)  # provided: request, reply

and this module gathers them from every module of carnel.ipc.schemas, including ones a
developer adds. Patterns may hold wildcards; the most specific match wins (a literal token
beats `*`, which beats `>`), so `vehicle.get` can sit beside `vehicle.>`.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil
from functools import cache
from typing import NamedTuple

import msgspec

from carnel.ipc.subjects import matches


class Topic(NamedTuple):
    pattern: str
    type: type


class Method(NamedTuple):
    subject: str
    request: type
    reply: type


def _schema_modules():
    import carnel.ipc.schemas as package

    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.name != "registry":
            yield importlib.import_module(f"{package.__name__}.{info.name}")


@cache
def topics() -> tuple[Topic, ...]:
    return tuple(t for module in _schema_modules() for t in getattr(module, "TOPICS", ()))


@cache
def methods() -> tuple[Method, ...]:
    return tuple(m for module in _schema_modules() for m in getattr(module, "METHODS", ()))


@cache
def message_types() -> tuple[type, ...]:
    """Every Struct defined in carnel.ipc.schemas, in module and definition order."""
    found: list[type] = []
    for module in _schema_modules():
        members = inspect.getmembers(module, inspect.isclass)
        found += sorted((obj for _, obj in members if issubclass(obj, msgspec.Struct)
                         and obj.__module__ == module.__name__),
                        key=lambda obj: inspect.getsourcelines(obj)[1])
    return tuple(found)


def _specificity(pattern: str) -> tuple[int, ...]:
    return tuple(0 if token == ">" else 1 if token == "*" else 2 for token in pattern.split("."))


def topic_type(subject: str) -> type | None:
    """The message type published on concrete `subject`, or None if no schema declares it."""
    found = [t for t in topics() if matches(t.pattern, subject)]
    return max(found, key=lambda t: _specificity(t.pattern)).type if found else None


def method(subject: str) -> Method | None:
    """The request and reply types of `subject`, or None if no schema declares it."""
    return next((m for m in methods() if m.subject == subject), None)
