"""Building signal tables and reports for the vehicle tests."""
from __future__ import annotations

import msgspec

from carnel.ipc.schemas.vehicle import Signal, Value
from carnel.services.vehicle import SignalTable, VehicleConfig

MS = 1_000_000
S = 1_000_000_000


def table(**config: object) -> SignalTable:
    """A table from the config as the image would spell it (`signals={"Vehicle.Speed": {...}}`)."""
    return SignalTable(msgspec.convert(config, VehicleConfig))


def speed(value: Value, *, source: str = "can", unit: str = "km/h", timestamp_ns: int = 0,
          path: str = "Vehicle.Speed") -> Signal:
    return Signal(path=path, value=value, unit=unit, timestamp_ns=timestamp_ns, source=source)
