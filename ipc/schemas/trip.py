"""The trip computer's messages."""
from __future__ import annotations

import msgspec

from carnel.ipc.schemas.bus import Empty
from carnel.ipc.schemas.registry import Method, Topic


class Trip(msgspec.Struct, frozen=True, kw_only=True, tag="trip"):
    """Distance travelled since the last reset."""

    metres: float
    since_ns: int = 0


TOPICS = (Topic("trip.distance", Trip),)
METHODS = (Method("trip.reset", Empty, Trip),)
