"""What the driver publishes for each answer: subjects and the shared schemas' messages."""
from __future__ import annotations

from carnel.drivers.obd.dtc import Dtc
from carnel.drivers.obd.events import EcuValue, PidRead, VinRead
from carnel.drivers.obd.pids import spec_for
from carnel.drivers.obd.vss import VSS_PATHS
from carnel.ipc.schemas.diag import TroubleCodes, VehicleId
from carnel.ipc.schemas.vehicle import Signal, SignalBatch

SOURCE = "obd"
DTC_SUBJECT = "obd.dtc"
VIN_SUBJECT = "obd.vin"


def signals_subject(pid: int) -> str:
    """`obd.signals.<PID name>`, e.g. `obd.signals.vehicle_speed` for PID 0D."""
    return f"obd.signals.{spec_for(pid).name}"


def primary_reading(read: PidRead) -> EcuValue:
    """The answer to publish when several ECUs answered the same PID.

    ISO 15765-4 gives the engine ECU the lowest response address (7E8, or 10 on the other
    protocols), and the engine's own value is the one the other ECUs mirror.
    """
    return min(read.readings, key=lambda reading: -1 if reading.ecu is None else reading.ecu)


def signal_batch(read: PidRead, at_ns: int) -> SignalBatch:
    """The one-signal batch for a mode 01 answer, at its VSS path."""
    value = primary_reading(read).value
    signal = Signal(path=VSS_PATHS[value.pid], value=float(value.value), unit=str(value.unit),
                    timestamp_ns=at_ns, source=SOURCE)
    return SignalBatch(signals=[signal])


def trouble_codes(stored: tuple[Dtc, ...], pending: tuple[Dtc, ...], at_ns: int) -> TroubleCodes:
    return TroubleCodes(stored=[dtc.code for dtc in stored], pending=[dtc.code for dtc in pending],
                        timestamp_ns=at_ns)


def vehicle_id(read: VinRead, at_ns: int) -> VehicleId:
    return VehicleId(vin=read.vin, timestamp_ns=at_ns)
