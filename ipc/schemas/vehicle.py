"""Vehicle signals: one named, typed, current value, VSS-style.

Subjects:
- drivers publish what their source says as a SignalBatch, one subject per group of signals
  read together: `can.signals.<DBC message name>` (one CAN frame's signals),
  `obd.signals.<PID name>`, retained; the gps driver publishes `gps.fix` instead;
- the vehicle service merges the sources and publishes the car's current state on
  `vehicle.<path without the leading "Vehicle.">` (e.g. `vehicle.Speed`), retained;
- `vehicle.get` answers a SignalQuery with SignalValues.
"""
from __future__ import annotations

import msgspec

from carnel.ipc.schemas.registry import Method, Topic

Value = float | int | bool | str


class Signal(msgspec.Struct, frozen=True, kw_only=True, tag="signal"):
    """A vehicle signal's value at a moment, e.g. path="Vehicle.Speed", unit="km/h".

    `source` names where the value came from (the driver's process name, e.g. "can").
    `stale` is set when the source has not updated the signal within its allowed age.
    """

    path: str
    value: Value
    unit: str = ""
    timestamp_ns: int = 0
    source: str = ""
    stale: bool = False


class SignalQuery(msgspec.Struct, frozen=True, kw_only=True, tag="signal_query"):
    """Ask `vehicle.get` for the current value of each path; an empty list asks for all."""

    paths: list[str] = []


class SignalValues(msgspec.Struct, frozen=True, kw_only=True, tag="signal_values"):
    """The answer to SignalQuery: known signals, and the paths nothing has reported yet."""

    signals: list[Signal] = []
    unknown: list[str] = []


class SignalBatch(msgspec.Struct, frozen=True, kw_only=True, tag="signal_batch"):
    """Signals a driver read at one moment (one CAN frame, one OBD answer): one message, not one
    per signal, because a CAN bus delivers thousands of frames a second."""

    signals: list[Signal]


TOPICS = (
    Topic("can.signals.>", SignalBatch),
    Topic("obd.signals.>", SignalBatch),
    Topic("vehicle.>", Signal),
)
METHODS = (Method("vehicle.get", SignalQuery, SignalValues),)
