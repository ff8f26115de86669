"""One lap of the simulated car around its route, sampled at 10 Hz (pure and deterministic).

The lap begins and ends parked with the engine off at the same spot, so replaying it in a loop
shows the same car setting out again: the driver gets in, starts a cold engine, selects D and
drives the route, stopping at red lights and stop signs, then parks and switches off.
"""
from __future__ import annotations

import dataclasses
import math
import random
from dataclasses import dataclass

from carnel.drivers.sim.car import SIM_CAR, CarSpec
from carnel.drivers.sim.path import RoutePath
from carnel.drivers.sim.powertrain import Engine, Lever, PowertrainState, parked, step
from carnel.drivers.sim.profile import DrivingStyle, Halt, Timeline, speed_plan, timeline
from carnel.drivers.sim.route import Route, StopKind

SAMPLE_HZ = 10
# The morning of the drive: a mild spring day in Helsinki, the car left out overnight.
AMBIENT_C = 12.0
START_FUEL_PCT = 62.7
START_ODOMETER_KM = 48_213.4
# A 12 V lead-acid battery: resting, pulled down by the starter, and charged by the alternator.
_BATTERY_V = {Engine.OFF: 12.45, Engine.CRANKING: 10.6, Engine.RUNNING: 14.2}


@dataclass(frozen=True, slots=True)
class DriverRoutine:
    """Seconds from the lap's start (or, for the `*_after_s` ones, from arriving) of each step."""

    door_closed_s: float = 1.5
    engine_start_s: float = 2.0
    engine_running_s: float = 3.0
    drive_selected_s: float = 7.0
    pull_away_s: float = 9.0
    park_after_s: float = 2.0
    engine_off_after_s: float = 4.0
    door_open_after_s: float = 5.0
    door_closed_after_s: float = 6.5
    lap_end_after_s: float = 8.0


@dataclass(frozen=True, slots=True)
class TrafficLuck:
    """How the lights and junctions treat the driver on this lap."""

    red_light_chance: float = 0.4
    red_light_s: tuple[float, float] = (6.0, 30.0)
    stop_sign_s: tuple[float, float] = (1.5, 3.0)
    give_way_stop_chance: float = 0.3
    give_way_s: tuple[float, float] = (2.0, 5.0)


@dataclass(frozen=True, slots=True)
class DriveSample:
    """The car at one instant. Course is degrees from true north; curvature is positive left."""

    t_s: float
    lat: float
    lon: float
    altitude_m: float
    distance_m: float
    speed_mps: float
    accel_mps2: float
    course_deg: float
    curvature_per_m: float
    brake: bool
    driver_door_open: bool
    lever: Lever
    engine: Engine
    gear: int
    engine_rpm: float
    throttle_pct: float
    engine_load_pct: float
    fuel_rate_lph: float
    coolant_c: float
    fuel_level_pct: float
    run_time_s: float
    battery_v: float
    odometer_km: float


_SMOOTH_FIELDS = tuple(
    f.name for f in dataclasses.fields(DriveSample)
    if f.type == "float" and f.name not in ("t_s", "course_deg", "lat", "lon"))


@dataclass(frozen=True, slots=True)
class Drive:
    route_length_m: float
    duration_s: float
    samples: tuple[DriveSample, ...]

    def at(self, t: float) -> DriveSample:
        """The car at any instant of the lap, between samples too.

        Measured quantities are interpolated; states (gear, lever, brake) and the position and
        course, which bend at corners, are those of the sample before.
        """
        index = min(max(0, math.floor(t * SAMPLE_HZ + 1e-9)), len(self.samples) - 1)
        before = self.samples[index]
        if index + 1 == len(self.samples) or t <= before.t_s:
            return before
        after = self.samples[index + 1]
        fraction = (t - before.t_s) / (after.t_s - before.t_s)
        changes = {name: getattr(before, name) + (getattr(after, name) - getattr(before, name)) * fraction
                   for name in _SMOOTH_FIELDS}
        return dataclasses.replace(before, t_s=t, **changes)


CALM_DRIVER = DrivingStyle()
EVERYDAY_LUCK = TrafficLuck()
USUAL_ROUTINE = DriverRoutine()


def simulate(route: Route, *, seed: int = 2024, car: CarSpec = SIM_CAR,
             style: DrivingStyle = CALM_DRIVER, luck: TrafficLuck = EVERYDAY_LUCK,
             routine: DriverRoutine = USUAL_ROUTINE) -> Drive:
    """One lap of `route`; the same arguments always give the same drive."""
    path = RoutePath(route)
    halts = plan_halts(path, random.Random(seed), luck)
    grid, speeds = speed_plan(path, halts, style)
    moving = timeline(grid, speeds, halts, hold_start_s=routine.pull_away_s)
    arrive_s = moving.duration_s
    # A whole number of seconds, so that every feed rendered from it loops on the same beat.
    duration = math.ceil(arrive_s + routine.lap_end_after_s)
    drive = moving.then_stand(duration - arrive_s)
    samples = []
    power = parked(AMBIENT_C, START_FUEL_PCT)
    dt = 1.0 / SAMPLE_HZ
    for index in range(duration * SAMPLE_HZ):
        t = index * dt
        sample, power = _sample(path, drive, car, routine, arrive_s, power, t, dt)
        samples.append(sample)
    return Drive(route_length_m=path.length_m, duration_s=float(duration), samples=tuple(samples))


def plan_halts(path: RoutePath, rng: random.Random, luck: TrafficLuck) -> list[Halt]:
    """Where the car stops, and for how long, or slows to give way."""
    halts = []
    for stop in path.stops:
        if stop.kind is StopKind.TRAFFIC_SIGNALS:
            if rng.random() < luck.red_light_chance:
                halts.append(Halt(stop.at_m, rng.uniform(*luck.red_light_s)))
        elif stop.kind is StopKind.STOP_SIGN:
            halts.append(Halt(stop.at_m, rng.uniform(*luck.stop_sign_s)))
        elif rng.random() < luck.give_way_stop_chance:
            halts.append(Halt(stop.at_m, rng.uniform(*luck.give_way_s)))
        else:
            halts.append(Halt(stop.at_m, None))
    return halts


def altitude_m(path: RoutePath, s: float) -> float:
    """Height above sea level: OSM has none, so a gentle made-up rise and fall along the loop."""
    phase = 2.0 * math.pi * s / path.length_m
    return 14.0 + 5.0 * math.sin(phase) + 2.0 * math.sin(3.0 * phase + 0.7)


def _sample(path: RoutePath, drive: Timeline, car: CarSpec, routine: DriverRoutine,
            arrive_s: float, power: PowertrainState, t: float,
            dt: float) -> tuple[DriveSample, PowertrainState]:
    motion = drive.at(t)
    after_arrival = t - arrive_s
    if t < routine.engine_start_s or after_arrival >= routine.engine_off_after_s:
        engine = Engine.OFF
    elif t < routine.engine_running_s:
        engine = Engine.CRANKING
    else:
        engine = Engine.RUNNING
    driving = routine.drive_selected_s <= t and after_arrival < routine.park_after_s
    lever = Lever.DRIVE if driving else Lever.PARK
    power = step(car, power, engine=engine, lever=lever, speed_mps=motion.speed_mps,
                 accel_mps2=motion.accel_mps2, ambient_c=AMBIENT_C, dt=dt)
    lat, lon = path.position(motion.distance_m)
    door_open = t < routine.door_closed_s or (
        routine.door_open_after_s <= after_arrival < routine.door_closed_after_s)
    sample = DriveSample(
        t_s=round(t, 3),
        lat=lat,
        lon=lon,
        altitude_m=altitude_m(path, motion.distance_m),
        distance_m=motion.distance_m,
        speed_mps=motion.speed_mps,
        accel_mps2=motion.accel_mps2,
        course_deg=path.course_deg(motion.distance_m),
        curvature_per_m=path.curvature_per_m(motion.distance_m),
        brake=motion.accel_mps2 < -0.25 or (lever is Lever.DRIVE and motion.speed_mps == 0.0),
        driver_door_open=door_open,
        lever=lever,
        engine=power.engine,
        gear=power.gear,
        engine_rpm=power.engine_rpm,
        throttle_pct=power.throttle_pct,
        engine_load_pct=power.engine_load_pct,
        fuel_rate_lph=power.fuel_rate_lph,
        coolant_c=power.coolant_c,
        fuel_level_pct=power.fuel_level_pct,
        run_time_s=power.run_time_s,
        battery_v=_BATTERY_V[power.engine],
        odometer_km=START_ODOMETER_KM + motion.distance_m / 1000.0,
    )
    return sample, power
