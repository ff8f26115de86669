"""The `carnel` command's developer tools, one module each, registered here.

A tool module defines `add_parser(subparsers)`, which adds its sub-command, and
`run(args, directory) -> int`, which runs it against the kernel at run directory `directory`
and returns the process exit code (carnel.kernel.tools.session has the codes and the connection).
"""
from __future__ import annotations

import importlib
from types import ModuleType

# Order is the order of `carnel --help`.
TOOLS: tuple[str, ...] = ("tap", "top", "schema", "pub", "call", "fuzz", "record", "replay", "info",
                          "new")


def modules() -> list[ModuleType]:
    return [importlib.import_module(f"{__name__}.{name}") for name in TOOLS]
