"""Vehicle signals: one named, typed, current value, VSS-style."""
from __future__ import annotations

import msgspec


class Signal(msgspec.Struct, frozen=True, kw_only=True, tag="signal"):
    """A vehicle signal's value at a moment, e.g. path="Vehicle.Speed", unit="km/h"."""

    path: str
    value: float | int | bool | str
    unit: str = ""
    timestamp_ns: int = 0
