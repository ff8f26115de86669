"""OBD-II over an ELM327: a sans-I/O session, J1979 decoding, a PID poller and a simulated adapter."""
from __future__ import annotations

from carnel.drivers.obd.dtc import Dtc
from carnel.drivers.obd.elm import Family, Protocol
from carnel.drivers.obd.errors import AdapterError, NegativeResponseError, ObdError, UsageError
from carnel.drivers.obd.events import (AdapterReady, DtcsRead, EcuDtcs, EcuValue, Event, PidRead,
                                       RequestFailed, ResponsePending, SupportedPidsRead, VinRead)
from carnel.drivers.obd.pids import PIDS, PidSpec, PidValue, Unit, decode_pid, encode_pid
from carnel.drivers.obd.poller import PidPoller, PollChoice, PollRate
from carnel.drivers.obd.requests import (DtcKind, Initialise, ReadDtcs, ReadPid, ReadSupportedPids,
                                         ReadVin, Request)
from carnel.drivers.obd.session import ElmSession, Step
from carnel.drivers.obd.settings import ElmSettings
from carnel.drivers.obd.simulator import AdapterConfig, SimulatedElm327
from carnel.drivers.obd.vehicle import PendingStyle, SimulatedEcu, VehicleState

__all__ = [
    "AdapterConfig", "AdapterError", "AdapterReady", "Dtc", "DtcKind", "DtcsRead", "EcuDtcs",
    "EcuValue", "ElmSession", "ElmSettings", "Event", "Family", "Initialise", "NegativeResponseError",
    "ObdError", "PIDS", "PendingStyle", "PidPoller", "PidRead", "PidSpec", "PidValue", "PollChoice",
    "PollRate", "Protocol", "ReadDtcs", "ReadPid", "ReadSupportedPids", "ReadVin", "Request",
    "RequestFailed", "ResponsePending", "SimulatedEcu", "SimulatedElm327", "Step",
    "SupportedPidsRead", "Unit", "UsageError", "VehicleState", "VinRead", "decode_pid", "encode_pid",
]
