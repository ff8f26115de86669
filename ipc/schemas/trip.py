"""The trip computer's messages."""
from __future__ import annotations

import msgspec


class Trip(msgspec.Struct, frozen=True, kw_only=True, tag="trip"):
    """Distance travelled since the last reset."""

    metres: float
    since_ns: int = 0
