"""A libFuzzer campaign (atheris) on what the bus decodes from untrusted bytes.

    python tests/fuzz/wire_and_payloads.py [libFuzzer options, e.g. -max_total_time=600]

Each input is parsed as a header by every hot-path implementation (they must agree: the same
Header, or the same refusal reason) and decoded as every message type in carnel.ipc.schemas with
the typed decoders receivers use. Anything but a WireError, a msgspec ValidationError or
DecodeError is a crash libFuzzer keeps. `make fuzz` runs it when atheris installs.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil
import sys

import atheris

with atheris.instrument_imports():
    import msgspec

    import carnel.ipc.schemas as schemas
    from carnel.ipc import _impl
    from carnel.ipc.wire import WireError

IMPLEMENTATIONS = list(_impl.available().values())


def schema_types() -> list[type]:
    found = []
    for info in pkgutil.iter_modules(schemas.__path__):
        module = importlib.import_module(f"{schemas.__name__}.{info.name}")
        found += [obj for _, obj in inspect.getmembers(module, inspect.isclass)
                  if issubclass(obj, msgspec.Struct) and obj.__module__ == module.__name__]
    return found


DECODERS = [msgspec.msgpack.Decoder(kind) for kind in schema_types()]


def parse(impl, data: bytes):
    try:
        return ("header", impl.parse_header(data))
    except WireError as exc:
        return ("refused", exc.reason)


def one_input(data: bytes) -> None:
    outcomes = [parse(impl, data) for impl in IMPLEMENTATIONS]
    if any(outcome != outcomes[0] for outcome in outcomes):
        raise AssertionError(f"the implementations disagree on {data!r}: {outcomes}")
    for decoder in DECODERS:
        try:
            decoder.decode(data)
        except (msgspec.ValidationError, msgspec.DecodeError):
            pass


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
