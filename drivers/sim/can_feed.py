"""The drive as its CAN bus carries it: frames encoded with carnel_sim.dbc, as `candump -L` lines.

Each message goes out at the cycle time the DBC gives it (GenMsgCycleTime), from its own
phase and with a fraction of a millisecond of jitter, as ECUs on one bus do. Signal values
come from the drive at the instant each frame is sent.
"""
from __future__ import annotations

import heapq
import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cantools
from cantools.database import Database, Message

from carnel.drivers.sim.car import SIM_CAR
from carnel.drivers.sim.drive import AMBIENT_C, Drive, DriveSample
from carnel.drivers.sim.powertrain import Engine

DBC_PATH = Path(__file__).with_name("carnel_sim.dbc")
# Signal name to physical value, or to a value-table name (e.g. ShiftLever "D").
SignalValues = dict[str, float | str]
_JITTER_S = 0.0002
_STATUS_PAGES = 3
_STEERING_RATE_SPAN_S = 0.1


@dataclass(frozen=True, slots=True)
class CanSettings:
    start_unix: float
    channel: str = "can0"
    seed: int = 11


def load_database() -> Database:
    """carnel_sim.dbc, the simulated car's message catalogue."""
    return cantools.database.load_file(DBC_PATH)


def candump_lines(drive: Drive, database: Database, settings: CanSettings) -> list[str]:
    """Every frame of the lap as a `candump -L` line, in time order."""
    rng = random.Random(settings.seed)
    streams = [_frames(drive, message, index, rng) for index, message in enumerate(database.messages)]
    lines = []
    for t, message, values in heapq.merge(*streams, key=lambda frame: frame[0]):
        data = message.encode(_in_range(message, values), strict=True)
        lines.append(f"({settings.start_unix + t:.6f}) {settings.channel} "
                     f"{message.frame_id:03X}#{data.hex().upper()}")
    return lines


def _frames(drive: Drive, message: Message, index: int,
            rng: random.Random) -> Iterator[tuple[float, Message, SignalValues]]:
    """(send time, message, signal values) of each frame of one message."""
    period = message.cycle_time / 1000.0
    values_of = SIGNALS[message.name]
    # Each ECU starts its cycle at its own offset; a few ms apart keeps the bus readable.
    phase = (index * 0.0037) % period
    # Jitter is drawn up front per message so that the frames' order does not change the draws.
    jitters = [rng.uniform(-_JITTER_S, _JITTER_S) for _ in range(math.ceil(drive.duration_s / period))]
    for count, jitter in enumerate(jitters):
        t = phase + count * period + jitter
        if t >= drive.duration_s:
            return
        yield max(t, 0.0), message, values_of(drive, drive.at(t), count)


def _in_range(message: Message, values: SignalValues) -> SignalValues:
    """Values held within each signal's range, as an ECU saturates a reading; names as they are."""
    clamped: SignalValues = {}
    for name, value in values.items():
        if isinstance(value, str):
            clamped[name] = value
            continue
        signal = message.get_signal_by_name(name)
        low = signal.minimum if signal.minimum is not None else value
        high = signal.maximum if signal.maximum is not None else value
        clamped[name] = min(max(value, low), high)
    return clamped


def _engine_1(drive: Drive, s: DriveSample, count: int) -> SignalValues:
    return {"EngineSpeed": s.engine_rpm, "ThrottlePosition": s.throttle_pct,
            "EngineLoad": s.engine_load_pct if s.engine is Engine.RUNNING else 0.0,
            "EngineRunning": int(s.engine is Engine.RUNNING), "FuelRate": s.fuel_rate_lph,
            "RollingCounter": count % 16}


def _vehicle_dynamics(drive: Drive, s: DriveSample, count: int) -> SignalValues:
    yaw_rate = math.degrees(s.speed_mps * s.curvature_per_m)
    return {"VehicleSpeed": s.speed_mps * 3.6, "LongitudinalAccel": s.accel_mps2,
            "BrakePedalPressed": int(s.brake), "YawRate": yaw_rate, "RollingCounter": count % 16}


def _wheel_speeds(drive: Drive, s: DriveSample, count: int) -> SignalValues:
    wheels = SIM_CAR.wheel_speeds(s.speed_mps, s.curvature_per_m)
    return {"WheelSpeedFL": wheels.front_left_kmh, "WheelSpeedFR": wheels.front_right_kmh,
            "WheelSpeedRL": wheels.rear_left_kmh, "WheelSpeedRR": wheels.rear_right_kmh}


def _steering(drive: Drive, s: DriveSample, count: int) -> SignalValues:
    angle = SIM_CAR.steering_wheel_deg(s.curvature_per_m)
    earlier = drive.at(s.t_s - _STEERING_RATE_SPAN_S)
    rate = (angle - SIM_CAR.steering_wheel_deg(earlier.curvature_per_m)) / _STEERING_RATE_SPAN_S
    return {"SteeringWheelAngle": angle, "SteeringWheelRate": rate, "RollingCounter": count % 16}


def _transmission(drive: Drive, s: DriveSample, count: int) -> SignalValues:
    return {"GearSelected": s.gear, "ShiftLever": s.lever.value, "RollingCounter": count % 16}


def _engine_status(drive: Drive, s: DriveSample, count: int) -> SignalValues:
    page = count % _STATUS_PAGES
    if page == 0:
        return {"StatusPage": 0, "CoolantTemperature": round(s.coolant_c)}
    if page == 1:
        return {"StatusPage": 1, "FuelLevel": s.fuel_level_pct, "EngineRunTime": int(s.run_time_s)}
    return {"StatusPage": 2, "BatteryVoltage": s.battery_v, "AmbientTemperature": AMBIENT_C}


def _body_status(drive: Drive, s: DriveSample, count: int) -> SignalValues:
    return {"DoorFrontLeft": int(s.driver_door_open), "DoorFrontRight": 0, "DoorRearLeft": 0,
            "DoorRearRight": 0, "Tailgate": 0, "Odometer": s.odometer_km}


# What each message of carnel_sim.dbc carries, from the drive at the frame's instant.
SIGNALS: dict[str, Callable[[Drive, DriveSample, int], SignalValues]] = {
    "ENGINE_1": _engine_1,
    "VEHICLE_DYNAMICS": _vehicle_dynamics,
    "WHEEL_SPEEDS": _wheel_speeds,
    "STEERING": _steering,
    "TRANSMISSION": _transmission,
    "ENGINE_STATUS": _engine_status,
    "BODY_STATUS": _body_status,
}
