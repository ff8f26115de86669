"""Where a manifest is wrong: TOML lines and msgspec error paths turned into file:line: field.

msgspec reports a path like `$.process[2].restart`; a person needs the line of their file.
The locator scans the TOML text lightly (table headers and keys) to map paths back to lines.
"""
from __future__ import annotations

import difflib
import re
import tomllib
import types
import typing
from typing import Any, Literal

import msgspec


class ImageError(Exception):
    """A manifest that cannot be booted, with where it is wrong and what was expected.

    `reason` is stable and machine-readable (count by it); `str()` reads `file:line: field: detail`.
    """

    def __init__(self, reason: str, detail: str, *, file: str, line: int | None = None,
                 field: str | None = None) -> None:
        self.reason = reason
        self.detail = detail
        self.file = file
        self.line = line
        self.field = field
        where = file if line is None else f"{file}:{line}"
        super().__init__(f"{where}: {field}: {detail}" if field else f"{where}: {detail}")


def toml_error(exc: tomllib.TOMLDecodeError, text: str, filename: str) -> ImageError:
    message = str(exc)
    found = re.search(r"\(at (?:line (\d+), column \d+|end of document)\)$", message)
    line = None if found is None else int(found[1]) if found[1] else max(len(text.splitlines()), 1)
    detail = message[: found.start()].strip() if found else message
    duplicate = re.match(r"Cannot (?:declare|redefine namespace) \('process', '([^']*)'\)", detail)
    if duplicate:
        return ImageError("duplicate_process", "this process is already defined above",
                          file=filename, line=line, field=f"process.{duplicate[1]}")
    return ImageError("toml_syntax", detail, file=filename, line=line)


PathItem = str | int


class Locator:
    """Maps a field path back to the line that sets it, by a light scan of the TOML text."""

    _HEADER = re.compile(r"^\s*(\[\[?)([^\[\],=#]+)\]\]?\s*(?:#.*)?$")
    _KEY = re.compile(r"""^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')"""
                      r"""(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*=""")
    _PART = re.compile(r"""[A-Za-z0-9_-]+|"([^"]*)"|'([^']*)'""")

    def __init__(self, text: str, filename: str) -> None:
        self.filename = filename
        self.entries: list[tuple[tuple[PathItem, ...], int]] = []
        table: tuple[PathItem, ...] = ()
        array_counts: dict[tuple[PathItem, ...], int] = {}
        in_multiline = False
        for number, line in enumerate(text.splitlines(), start=1):
            quotes = line.count('"""') + line.count("'''")
            if in_multiline:
                in_multiline = quotes % 2 == 0
                continue
            header = self._HEADER.match(line)
            if header:
                table = self._split(header[2])
                if header[1] == "[[":
                    array_counts[table] = array_counts.get(table, -1) + 1
                    table = (*table, array_counts[table])
                self.entries.append((table, number))
            else:
                key = self._KEY.match(line)
                if key:
                    self.entries.append(((*table, *self._split(key[1])), number))
            in_multiline = quotes % 2 == 1

    def _split(self, dotted: str) -> tuple[str, ...]:
        return tuple(m[1] if m[1] is not None else m[2] if m[2] is not None else m[0]
                     for m in self._PART.finditer(dotted))

    def line_of(self, path: tuple[PathItem, ...]) -> int | None:
        """The line setting `path`, else the first line inside it, else the nearest around it."""
        for entry, number in self.entries:
            if entry == path:
                return number
        for entry, number in self.entries:
            if entry[: len(path)] == path:
                return number
        best: tuple[int, int | None] = (0, None)
        for entry, number in self.entries:
            if len(entry) > best[0] and path[: len(entry)] == entry:
                best = (len(entry), number)
        return best[1]

    def error(self, reason: str, detail: str, path: tuple[PathItem, ...]) -> ImageError:
        return ImageError(reason, detail, file=self.filename, line=self.line_of(path),
                          field=_dotted(path))

    def convert(self, value: Any, kind: type[msgspec.Struct], prefix: tuple[PathItem, ...]) -> Any:
        try:
            return msgspec.convert(value, kind)
        except msgspec.ValidationError as exc:
            raise self._validation_error(str(exc), kind, prefix) from exc

    def _validation_error(self, message: str, kind: type[msgspec.Struct],
                          prefix: tuple[PathItem, ...]) -> ImageError:
        found = re.match(r"^(.*?)(?: - at `\$(.*)`)?$", message, re.DOTALL)
        assert found is not None  # the pattern matches any string
        detail, relative = found[1], _parse_path(found[2] or "")
        path = (*prefix, *relative)
        unknown = re.match(r"Object contains unknown field `(.*)`$", detail)
        missing = re.match(r"Object missing required field `(.*)`$", detail)
        if unknown:
            fields = _field_names(kind, relative)
            close = difflib.get_close_matches(unknown[1], fields, n=1)
            hint = f"; did you mean `{close[0]}`?" if close else \
                f"; expected one of: {', '.join(fields)}"
            return self.error("unknown_field", f"unknown field `{unknown[1]}`{hint}",
                              (*path, unknown[1]))
        if missing:
            return self.error("missing_field", "this required field is missing",
                              (*path, missing[1]))
        if path == ("process",) and detail.endswith("got `array`"):
            detail = "each process is a table `[process.NAME]`, not an `[[process]]` array"
        if detail.startswith("Invalid enum value"):
            choices = _literal_choices(kind, relative)
            if choices:
                detail = f"{detail}; expected one of: {', '.join(choices)}"
        return self.error("invalid_value", detail, path)


def _parse_path(text: str) -> tuple[PathItem, ...]:
    return tuple(int(index) if index else name
                 for name, index in re.findall(r"\.([^.\[]+)|\[(\d+)\]", text))


def _dotted(path: tuple[PathItem, ...]) -> str:
    out = ""
    for item in path:
        out += f"[{item}]" if isinstance(item, int) else f".{item}" if out else item
    return out


def _field_type(kind: Any, path: tuple[PathItem, ...]) -> Any:
    """The type reached by following the field names of `path` from the Struct `kind`."""
    for item in path:
        if isinstance(item, int):
            continue
        if not (isinstance(kind, type) and issubclass(kind, msgspec.Struct)):
            return None
        kind = typing.get_type_hints(kind).get(item)
        if typing.get_origin(kind) in (typing.Union, types.UnionType):
            kind = next(arg for arg in typing.get_args(kind) if arg is not type(None))
    return kind


def _field_names(kind: type[msgspec.Struct], path: tuple[PathItem, ...]) -> list[str]:
    struct = _field_type(kind, path)
    if not (isinstance(struct, type) and issubclass(struct, msgspec.Struct)):
        return []
    # A field the file never spells out (a process's name is its table's key) is no suggestion.
    implied = getattr(struct, "__implied_fields__", frozenset())
    return [f.name for f in msgspec.structs.fields(struct) if f.name not in implied]


def _literal_choices(kind: type[msgspec.Struct], path: tuple[PathItem, ...]) -> list[str]:
    literal = _field_type(kind, path)
    if typing.get_origin(literal) is Literal:
        return [str(choice) for choice in typing.get_args(literal)]
    return []
