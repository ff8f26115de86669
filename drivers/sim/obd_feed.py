"""The drive as the engine ECU would answer OBD-II mode 01 requests: one JSON line per sample.

A line is `{"t": <seconds from the start>, "values": {"0D": 42.0, ...}}`: each mode 01 PID, as
two upper-case hex digits, with its value in SAE J1979's units (the units the obd driver's
PID table decodes to). The obd driver's simulated ECU answers from the line for the moment
asked, so these are the values a scan tool would read.
"""
from __future__ import annotations

from collections.abc import Callable

import msgspec

from carnel.drivers.sim.drive import AMBIENT_C, Drive, DriveSample
from carnel.drivers.sim.powertrain import Engine


class ObdLine(msgspec.Struct, frozen=True):
    t: float
    values: dict[str, float]


# J1979 mode 01 PIDs and where their values come from, in the PID's unit.
PIDS: dict[str, Callable[[DriveSample], float]] = {
    "04": lambda s: s.engine_load_pct if s.engine is Engine.RUNNING else 0.0,  # calculated load, %
    "05": lambda s: s.coolant_c,                                                 # coolant, deg C
    "0C": lambda s: s.engine_rpm,                                                # engine speed, rpm
    "0D": lambda s: s.speed_mps * 3.6,                                           # vehicle speed, km/h
    "11": lambda s: s.throttle_pct,                                              # throttle, %
    "1F": lambda s: s.run_time_s,                                                # run time, s
    "2F": lambda s: s.fuel_level_pct,                                            # fuel level, %
    "42": lambda s: s.battery_v,                                                 # module voltage, V
    "46": lambda s: AMBIENT_C,                                                   # ambient air, deg C
    "5E": lambda s: s.fuel_rate_lph,                                             # fuel rate, l/h
}
_ENCODER = msgspec.json.Encoder()


def obd_lines(drive: Drive) -> list[bytes]:
    """One JSON line (without its newline) for each sample of the drive."""
    return [_ENCODER.encode(ObdLine(t=sample.t_s, values={
        pid: round(value_of(sample), 2) for pid, value_of in PIDS.items()}))
        for sample in drive.samples]
