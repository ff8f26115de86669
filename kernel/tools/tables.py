"""Plain-text tables: columns padded to their widest cell."""
from __future__ import annotations


def table(headers: list[str], rows: list[list[str]], indent: str = "") -> str:
    widths = [max([len(h), *(len(row[i]) for row in rows)]) for i, h in enumerate(headers)]
    lines = [headers, *rows]
    return "\n".join(indent + "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True))
                     .rstrip() for line in lines)
