"""What the session reports: one final event per request, plus progress while an ECU is busy."""
from __future__ import annotations

from dataclasses import dataclass

from carnel.drivers.obd.dtc import Dtc
from carnel.drivers.obd.elm import Protocol
from carnel.drivers.obd.errors import ObdError
from carnel.drivers.obd.pids import PidValue
from carnel.drivers.obd.requests import Request


@dataclass(frozen=True, slots=True)
class AdapterReady:
    """The adapter is set up and talks to the vehicle over `protocol`."""

    request: Request
    version: str
    protocol: Protocol


@dataclass(frozen=True, slots=True)
class EcuValue:
    """One ECU's answer to a mode 01 PID; `ecu` is None when headers are off."""

    ecu: int | None
    value: PidValue


@dataclass(frozen=True, slots=True)
class PidRead:
    """Every answer to a ReadPid, in the order the ECUs answered."""

    request: Request
    readings: tuple[EcuValue, ...]


@dataclass(frozen=True, slots=True)
class SupportedPidsRead:
    """The mode 01 PIDs at least one ECU supports."""

    request: Request
    pids: frozenset[int]


@dataclass(frozen=True, slots=True)
class EcuDtcs:
    """The trouble codes one ECU reported."""

    ecu: int | None
    dtcs: tuple[Dtc, ...]


@dataclass(frozen=True, slots=True)
class DtcsRead:
    """Every ECU's trouble codes; empty when no ECU has any."""

    request: Request
    reports: tuple[EcuDtcs, ...]

    @property
    def dtcs(self) -> tuple[Dtc, ...]:
        """All codes from all ECUs, sorted, each once."""
        return tuple(sorted({dtc for report in self.reports for dtc in report.dtcs}))


@dataclass(frozen=True, slots=True)
class VinRead:
    """The vehicle identification number and the ECU that sent it."""

    request: Request
    vin: str
    ecu: int | None


@dataclass(frozen=True, slots=True)
class ResponsePending:
    """An ECU answered 7F xx 78 (busy, answer later): the session waits until `deadline`."""

    request: Request
    ecu: int | None
    deadline: float


@dataclass(frozen=True, slots=True)
class RequestFailed:
    """The request ended without an answer; `error.reason` says why."""

    request: Request
    error: ObdError


Event = AdapterReady | PidRead | SupportedPidsRead | DtcsRead | VinRead | ResponsePending | RequestFailed
