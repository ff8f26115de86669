"""The drive model: any route, any luck at the lights, and the car still drives like a car."""
from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sim_strategies import offset_from_route_m, routes

from carnel.drivers.sim.car import SIM_CAR
from carnel.drivers.sim.drive import SAMPLE_HZ, Drive, simulate
from carnel.drivers.sim.geo import distance_m
from carnel.drivers.sim.path import RoutePath
from carnel.drivers.sim.powertrain import Engine, Lever
from carnel.drivers.sim.route import bundled_route

DT = 1.0 / SAMPLE_HZ
# The bounds the issue sets for plausible driving.
MAX_ACCEL_MPS2 = 2.5
MAX_DECEL_MPS2 = 3.5
# The most the engine can rev above what the wheels turn it at: a cold engine's fast idle and
# start flare, plus the converter's slip at full throttle.
MAX_SLIP_RPM = SIM_CAR.cold_idle_rpm + 450.0 + SIM_CAR.converter_rpm_per_pct * 100.0

seeds = st.integers(min_value=0, max_value=2**32)


@pytest.fixture(scope="module")
def lap() -> Drive:
    return simulate(bundled_route())


def pairs(drive: Drive):
    return itertools.pairwise(drive.samples)


@settings(max_examples=25)
@given(routes(), seeds)
def test_acceleration_stays_within_what_a_calm_driver_does(route, seed):
    drive = simulate(route, seed=seed)
    for before, after in pairs(drive):
        change = (after.speed_mps - before.speed_mps) / DT
        assert -MAX_DECEL_MPS2 - 1e-9 <= change <= MAX_ACCEL_MPS2 + 1e-9
        assert -MAX_DECEL_MPS2 <= before.accel_mps2 <= MAX_ACCEL_MPS2


@settings(max_examples=25)
@given(routes(), seeds)
def test_every_position_is_on_the_route(route, seed):
    drive = simulate(route, seed=seed)
    for sample in drive.samples[::5]:
        assert offset_from_route_m(route, sample.lat, sample.lon) < 0.05


@settings(max_examples=25)
@given(routes(), seeds)
def test_the_car_never_jumps_between_samples(route, seed):
    drive = simulate(route, seed=seed)
    for before, after in pairs(drive):
        covered = after.distance_m - before.distance_m
        fastest = max(before.speed_mps, after.speed_mps) + MAX_ACCEL_MPS2 * DT
        assert 0.0 <= covered <= fastest * DT + 1e-6
        # A straight line is never longer than the road between the two points.
        assert distance_m(before.lat, before.lon, after.lat, after.lon) <= covered + 1e-3


@settings(max_examples=25)
@given(routes(), seeds)
def test_engine_speed_follows_road_speed_through_the_gearbox(route, seed):
    drive = simulate(route, seed=seed)
    for sample in drive.samples:
        if sample.engine is not Engine.RUNNING:
            assert sample.gear == 0 and sample.speed_mps == 0.0
            continue
        assert SIM_CAR.idle_rpm <= sample.engine_rpm
        if sample.gear == 0:
            assert sample.speed_mps == 0.0 and sample.engine_rpm <= MAX_SLIP_RPM
            continue
        driven = SIM_CAR.rpm_per_mps(sample.gear) * sample.speed_mps
        assert driven - 1e-6 <= sample.engine_rpm <= max(driven, MAX_SLIP_RPM) + 1e-6


@settings(max_examples=25)
@given(routes(), seeds)
def test_the_car_keeps_to_the_limit_and_takes_bends_gently(route, seed):
    drive = simulate(route, seed=seed)
    path = RoutePath(route)
    for sample in drive.samples:
        # The plan is on a half-metre grid: just past a lower limit's sign the car may still be
        # slowing for it.
        limit = max(path.limit_kmh(sample.distance_m + offset) for offset in (-0.5, 0.0))
        assert sample.speed_mps * 3.6 <= limit + 1e-6
        lateral = sample.speed_mps ** 2 * abs(sample.curvature_per_m)
        assert lateral <= 2.0 + 0.5


@settings(max_examples=25)
@given(routes(), seeds)
def test_a_lap_starts_and_ends_parked_with_the_engine_off(route, seed):
    drive = simulate(route, seed=seed)
    first, last = drive.samples[0], drive.samples[-1]
    assert drive.duration_s == int(drive.duration_s)
    assert len(drive.samples) == drive.duration_s * SAMPLE_HZ
    for sample in (first, last):
        assert sample.speed_mps == 0.0 and sample.engine is Engine.OFF and sample.lever is Lever.PARK
    assert first.distance_m == 0.0
    assert last.distance_m == pytest.approx(RoutePath(route).length_m)


@settings(max_examples=10)
@given(routes(max_legs=3), seeds)
def test_the_same_route_and_seed_give_the_same_drive(route, seed):
    assert simulate(route, seed=seed) == simulate(route, seed=seed)


def test_stopped_in_gear_a_warm_engine_idles_at_800_rpm(lap):
    warm_stops = [s for s in lap.samples
                  if s.speed_mps == 0.0 and s.lever is Lever.DRIVE and s.coolant_c >= 60.0]
    assert warm_stops
    assert {s.engine_rpm for s in warm_stops} == {SIM_CAR.idle_rpm}
    assert all(s.gear == 1 and s.throttle_pct == 0.0 and s.brake for s in warm_stops)


def test_the_lap_warms_the_engine_and_burns_a_little_fuel(lap):
    coolant = [s.coolant_c for s in lap.samples]
    fuel = [s.fuel_level_pct for s in lap.samples]
    assert coolant[0] < 20.0 and 85.0 <= max(coolant) <= 95.0
    assert all(b <= a for a, b in itertools.pairwise(fuel))
    burnt_l = (fuel[0] - fuel[-1]) / 100.0 * SIM_CAR.tank_l
    litres_per_100_km = burnt_l / (lap.route_length_m / 100_000.0)
    assert 4.0 < litres_per_100_km < 15.0  # a petrol car in town


def test_the_lap_stops_at_lights_and_runs_through_the_gears(lap):
    gears = {s.gear for s in lap.samples}
    assert {0, 1, 2, 3, 4} <= gears
    stops = sum(1 for a, b in pairs(lap) if a.speed_mps > 0.0 and b.speed_mps == 0.0)
    assert stops >= 5
    assert 8 * 60 <= lap.duration_s <= 12 * 60
    assert max(s.speed_mps for s in lap.samples) * 3.6 <= 40.0


def test_between_samples_the_drive_is_interpolated(lap):
    before, after = lap.samples[150], lap.samples[151]
    middle = lap.at(before.t_s + DT / 2)
    assert middle.speed_mps == pytest.approx((before.speed_mps + after.speed_mps) / 2)
    assert middle.gear == before.gear and middle.lat == before.lat
    assert lap.at(lap.duration_s + 5.0) == lap.samples[-1]


def test_course_points_along_the_road(lap):
    path = RoutePath(bundled_route())
    for sample in lap.samples[200:3000:50]:
        if sample.speed_mps == 0.0:
            continue
        lat, lon = path.position(sample.distance_m + 5.0)
        ahead = math.degrees(math.atan2(
            math.radians(lon - sample.lon) * math.cos(math.radians(sample.lat)),
            math.radians(lat - sample.lat))) % 360.0
        assert abs((ahead - sample.course_deg + 180.0) % 360.0 - 180.0) < 45.0
