"""Diagnostics from the obd driver: trouble codes on `obd.dtc`, the VIN on `obd.vin` (retained)."""
from __future__ import annotations

from typing import Literal

import msgspec

from carnel.ipc.schemas.registry import Topic


class TroubleCodes(msgspec.Struct, frozen=True, kw_only=True, tag="trouble_codes"):
    """Diagnostic trouble codes such as "P0301": `stored` from mode 03, `pending` from mode 07."""

    stored: list[str] = []
    pending: list[str] = []
    timestamp_ns: int = 0


class VehicleId(msgspec.Struct, frozen=True, kw_only=True, tag="vehicle_id"):
    """The VIN (mode 09 PID 02)."""

    vin: str
    timestamp_ns: int = 0


class ObdRequestFailed(msgspec.Struct, frozen=True, kw_only=True, tag="obd_request_failed"):
    """A request the ECU refused (negative response) or the adapter could not carry."""

    request: str
    reason: Literal["negative_response", "no_data", "adapter_error", "timeout"]
    detail: str = ""


TOPICS = (Topic("obd.dtc", TroubleCodes), Topic("obd.vin", VehicleId))
