"""OBD-II over an ELM327: a sans-I/O session, J1979 decoding, a PID poller and a simulated adapter;
the serial, TCP and simulator adapters, and the driver that publishes what it reads."""
from __future__ import annotations

from carnel.drivers.obd.adapters import Adapter, TcpAdapter, adapter_for
from carnel.drivers.obd.channel import ElmChannel
from carnel.drivers.obd.config import ObdConfig
from carnel.drivers.obd.drive_file import Drive, DriveLoad, DriveSample, parse_drive
from carnel.drivers.obd.driver import ObdDriver
from carnel.drivers.obd.dtc import Dtc
from carnel.drivers.obd.elm import Family, Protocol
from carnel.drivers.obd.errors import (AdapterError, DriveFileError, NegativeResponseError, ObdError,
                                       UsageError)
from carnel.drivers.obd.events import (AdapterReady, DtcsRead, EcuDtcs, EcuValue, Event, PidRead,
                                       RequestFailed, ResponsePending, SupportedPidsRead, VinRead)
from carnel.drivers.obd.pids import PIDS, PidSpec, PidValue, Unit, decode_pid, encode_pid
from carnel.drivers.obd.poller import PidPoller, PollChoice, PollRate
from carnel.drivers.obd.requests import (DtcKind, Initialise, ReadDtcs, ReadPid, ReadSupportedPids,
                                         ReadVin, Request)
from carnel.drivers.obd.schedule import Due, ReadSchedule
from carnel.drivers.obd.serial_port import SerialAdapter
from carnel.drivers.obd.session import ElmSession, Step
from carnel.drivers.obd.settings import ElmSettings
from carnel.drivers.obd.simulated_adapter import SimulatedAdapterStream, SimulatorAdapter
from carnel.drivers.obd.simulator import AdapterConfig, SimulatedElm327
from carnel.drivers.obd.vehicle import PendingStyle, SimulatedEcu, VehicleState

__all__ = [
    "Adapter", "AdapterConfig", "AdapterError", "AdapterReady", "Drive", "DriveFileError",
    "DriveLoad", "DriveSample", "Dtc", "DtcKind", "DtcsRead", "Due", "EcuDtcs", "EcuValue",
    "ElmChannel", "ElmSession", "ElmSettings", "Event", "Family", "Initialise",
    "NegativeResponseError", "ObdConfig", "ObdDriver", "ObdError", "PIDS", "PendingStyle",
    "PidPoller", "PidRead", "PidSpec", "PidValue", "PollChoice", "PollRate", "Protocol",
    "ReadDtcs", "ReadPid", "ReadSchedule", "ReadSupportedPids", "ReadVin", "Request",
    "RequestFailed", "ResponsePending", "SerialAdapter", "SimulatedAdapterStream", "SimulatedEcu",
    "SimulatedElm327", "SimulatorAdapter", "Step", "SupportedPidsRead", "TcpAdapter", "Unit",
    "UsageError", "VehicleState", "VinRead", "adapter_for", "decode_pid", "encode_pid",
    "parse_drive",
]
