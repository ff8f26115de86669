"""Where each mode 01 PID lands in the COVESA Vehicle Signal Specification (VSS 4.x names).

A PID gets the path of the vehicle-wide signal when VSS has one for the same quantity in the
same unit (vehicle speed, engine speed, coolant temperature), so the vehicle service can merge
OBD with CAN; otherwise it keeps VSS's OBD branch name (`Vehicle.OBD.<name>`, spec/OBD/OBD.vspec),
which holds exactly what the PID measures.
"""
from __future__ import annotations

_ENGINE = "Vehicle.Powertrain.CombustionEngine"

VSS_PATHS: dict[int, str] = {
    0x04: "Vehicle.OBD.EngineLoad",
    0x05: f"{_ENGINE}.ECT",
    0x06: "Vehicle.OBD.ShortTermFuelTrim1",
    0x07: "Vehicle.OBD.LongTermFuelTrim1",
    0x08: "Vehicle.OBD.ShortTermFuelTrim2",
    0x09: "Vehicle.OBD.LongTermFuelTrim2",
    0x0A: "Vehicle.OBD.FuelPressure",
    0x0B: f"{_ENGINE}.MAP",
    0x0C: f"{_ENGINE}.Speed",
    0x0D: "Vehicle.Speed",
    0x0E: "Vehicle.OBD.TimingAdvance",
    0x0F: "Vehicle.OBD.IntakeTemp",
    0x10: f"{_ENGINE}.MAF",
    0x11: f"{_ENGINE}.TPS",
    0x1F: "Vehicle.OBD.RunTime",
    0x21: "Vehicle.OBD.DistanceWithMIL",
    0x2C: "Vehicle.OBD.CommandedEGR",
    0x2F: "Vehicle.OBD.FuelLevel",
    0x30: "Vehicle.OBD.WarmupsSinceDTCClear",
    0x31: "Vehicle.OBD.DistanceSinceDTCClear",
    0x33: "Vehicle.OBD.BarometricPressure",
    0x42: "Vehicle.OBD.ControlModuleVoltage",
    0x43: "Vehicle.OBD.AbsoluteLoad",
    0x44: "Vehicle.OBD.CommandedEquivalenceRatio",
    0x45: "Vehicle.OBD.RelativeThrottlePosition",
    0x46: "Vehicle.Exterior.AirTemperature",
    0x49: "Vehicle.OBD.AcceleratorPositionD",
    0x4D: "Vehicle.OBD.RunTimeMIL",
    0x4E: "Vehicle.OBD.TimeSinceDTCCleared",
    0x5A: "Vehicle.OBD.RelativeAcceleratorPosition",
    0x5C: f"{_ENGINE}.EOT",
    0x5E: "Vehicle.OBD.FuelRate",
}
