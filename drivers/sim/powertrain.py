"""Engine, gearbox, cooling and fuel of the simulated car, stepped through time (pure).

Each step takes what the driver and the road ask (engine on or off, the lever, speed and
acceleration) and returns the next state. In gear the engine turns at least as fast as the
wheels drive it, and faster only while the torque converter slips, at pulling away.
"""
from __future__ import annotations

import enum
import math
from dataclasses import dataclass, replace

from carnel.drivers.sim.car import CarSpec

# Brake-specific fuel use of a modern petrol engine (g/kWh) over petrol's density (g/l).
_LITRES_PER_KWH = 250.0 / 745.0
_CRANKING_RPM = 220.0
# A warm 1.5 l petrol engine at idle: the load J1979's PID 04 reports, and the fuel it burns.
_IDLE_LOAD_PCT = 20.0
_WARM_IDLE_LPH = 0.55
# After a cold start the engine idles fast, then settles as it warms (seconds, degrees C).
_START_FLARE_RPM = 450.0
_START_FLARE_S = 1.5
_WARM_IDLE_FROM_C = 60.0
# Overrun fuel cut: with the throttle shut and the wheels turning the engine above this, no fuel
# flows.
_FUEL_CUT_ABOVE_RPM = 1100.0
# Warming: degrees a second at no load plus per % of load; once warm, the thermostat holds the
# coolant a little above its opening temperature, more under load, settling over this long.
_WARMING_C_PER_S = 0.06
_WARMING_C_PER_S_PER_LOAD_PCT = 0.0035
_WARM_RISE_C_PER_LOAD_PCT = 0.04
_THERMOSTAT_SETTLE_S = 40.0
_COOLING_S = 1800.0


class Lever(enum.StrEnum):
    PARK = "P"
    REVERSE = "R"
    NEUTRAL = "N"
    DRIVE = "D"


class Engine(enum.Enum):
    OFF = "off"
    CRANKING = "cranking"
    RUNNING = "running"


@dataclass(frozen=True, slots=True)
class PowertrainState:
    """`gear` is 0 while the lever is in P or N; `run_time_s` counts from the engine's start."""

    engine: Engine
    gear: int
    engine_rpm: float
    throttle_pct: float
    engine_load_pct: float
    fuel_rate_lph: float
    coolant_c: float
    fuel_level_pct: float
    run_time_s: float


def parked(coolant_c: float, fuel_level_pct: float) -> PowertrainState:
    """A car standing with its engine off."""
    return PowertrainState(Engine.OFF, 0, 0.0, 0.0, 0.0, 0.0, coolant_c, fuel_level_pct, 0.0)


def step(car: CarSpec, state: PowertrainState, *, engine: Engine, lever: Lever, speed_mps: float,
         accel_mps2: float, ambient_c: float, dt: float) -> PowertrainState:
    """The powertrain `dt` seconds on, driving at `speed_mps` and accelerating at `accel_mps2`."""
    if engine is not Engine.RUNNING:
        rpm = _CRANKING_RPM if engine is Engine.CRANKING else 0.0
        cooled = state.coolant_c - (state.coolant_c - ambient_c) * dt / _COOLING_S
        return replace(parked(cooled, state.fuel_level_pct), engine=engine, engine_rpm=rpm)

    run_time = state.run_time_s + dt if state.engine is Engine.RUNNING else 0.0
    idle = _idle_rpm(car, state.coolant_c, run_time)
    gear = select_gear(car, state.gear, speed_mps, state.throttle_pct) if lever is Lever.DRIVE else 0
    torque = _engine_torque_nm(car, gear, speed_mps, accel_mps2)
    wheel_rpm = car.rpm_per_mps(gear) * speed_mps if gear else 0.0
    throttle = 100.0 * min(1.0, torque / car.max_torque_nm(max(wheel_rpm, idle)))
    rpm = max(wheel_rpm, idle + car.converter_rpm_per_pct * throttle)
    load = _IDLE_LOAD_PCT + (100.0 - _IDLE_LOAD_PCT) * throttle / 100.0
    if throttle == 0.0 and wheel_rpm > _FUEL_CUT_ABOVE_RPM:
        fuel_rate = 0.0
    else:
        fuel_rate = _fuel_rate_lph(car, rpm, torque, idle)
    return PowertrainState(
        engine=Engine.RUNNING,
        gear=gear,
        engine_rpm=rpm,
        throttle_pct=throttle,
        engine_load_pct=load,
        fuel_rate_lph=fuel_rate,
        coolant_c=_coolant_c(car, state.coolant_c, load, dt),
        fuel_level_pct=state.fuel_level_pct - fuel_rate * dt / 3600.0 / car.tank_l * 100.0,
        run_time_s=run_time,
    )


def select_gear(car: CarSpec, gear: int, speed_mps: float, throttle_pct: float) -> int:
    """The gear after one step at `speed_mps`: at most one change a step, with hysteresis."""
    kmh = speed_mps * 3.6
    gear = max(gear, 1)
    delay = car.upshift_delay_kmh_per_pct * max(0.0, throttle_pct - car.upshift_delay_from_pct)
    if gear < len(car.gear_ratios) and kmh > car.upshift_kmh[gear - 1] + delay:
        return gear + 1
    if gear > 1 and kmh < car.downshift_kmh[gear - 2]:
        return gear - 1
    return gear


def _idle_rpm(car: CarSpec, coolant_c: float, run_time_s: float) -> float:
    cold = min(max((_WARM_IDLE_FROM_C - coolant_c) / _WARM_IDLE_FROM_C, 0.0), 1.0)
    flare = _START_FLARE_RPM * math.exp(-run_time_s / _START_FLARE_S)
    return car.idle_rpm + (car.cold_idle_rpm - car.idle_rpm) * cold + flare


def _engine_torque_nm(car: CarSpec, gear: int, speed_mps: float, accel_mps2: float) -> float:
    """Torque the engine must give to follow the road's speed; zero when the brakes do the work."""
    if gear == 0:
        return 0.0
    force = car.mass_kg * accel_mps2 + car.road_load_n(speed_mps)
    if force <= 0.0:
        return 0.0
    ratio = car.gear_ratios[gear - 1] * car.final_drive
    return force * car.tyre_radius_m / (ratio * car.driveline_efficiency)


def _fuel_rate_lph(car: CarSpec, rpm: float, torque_nm: float, idle: float) -> float:
    power_kw = torque_nm * rpm * 2.0 * math.pi / 60.0 / 1000.0
    idle_lph = _WARM_IDLE_LPH * idle / car.idle_rpm
    return idle_lph + power_kw * _LITRES_PER_KWH


def _coolant_c(car: CarSpec, coolant_c: float, load_pct: float, dt: float) -> float:
    if coolant_c < car.thermostat_c:
        warmed = coolant_c + (_WARMING_C_PER_S + _WARMING_C_PER_S_PER_LOAD_PCT * load_pct) * dt
        return min(warmed, car.thermostat_c)
    target = car.thermostat_c + _WARM_RISE_C_PER_LOAD_PCT * load_pct
    return coolant_c + (target - coolant_c) * dt / _THERMOSTAT_SETTLE_S
