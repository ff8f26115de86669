"""Engine, gearbox, cooling and fuel stepped on their own."""
from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carnel.drivers.sim.car import SIM_CAR
from carnel.drivers.sim.powertrain import Engine, Lever, parked, select_gear, step

DT = 0.1
speeds = st.floats(min_value=0.0, max_value=40.0)
gears = st.integers(min_value=0, max_value=len(SIM_CAR.gear_ratios))
throttles = st.floats(min_value=0.0, max_value=100.0)


def run(state, seconds, **drive):
    for _ in range(round(seconds / DT)):
        state = step(SIM_CAR, state, ambient_c=12.0, dt=DT, **drive)
    return state


@given(gears, speeds, throttles)
def test_the_gearbox_changes_one_gear_at_a_time(gear, speed, throttle):
    chosen = select_gear(SIM_CAR, gear, speed, throttle)
    assert 1 <= chosen <= len(SIM_CAR.gear_ratios)
    assert abs(chosen - max(gear, 1)) <= 1


@given(st.lists(speeds, min_size=1, max_size=50))
def test_a_gear_held_at_a_steady_speed_stays_held(speed_changes):
    gear = 1
    for speed in speed_changes:
        for _ in range(len(SIM_CAR.gear_ratios)):
            gear = select_gear(SIM_CAR, gear, speed, 0.0)
        assert select_gear(SIM_CAR, gear, speed, 0.0) == gear
        kmh = speed * 3.6
        if gear < len(SIM_CAR.gear_ratios):
            assert kmh <= SIM_CAR.upshift_kmh[gear - 1]
        if gear > 1:
            assert kmh >= SIM_CAR.downshift_kmh[gear - 2]


def test_a_cold_engine_idles_fast_then_settles_at_800_rpm_when_warm():
    cold = run(parked(12.0, 50.0), 3.0, engine=Engine.RUNNING, lever=Lever.PARK, speed_mps=0.0,
               accel_mps2=0.0)
    assert 1100.0 <= cold.engine_rpm <= 1300.0
    warm = run(parked(88.0, 50.0), 10.0, engine=Engine.RUNNING, lever=Lever.PARK, speed_mps=0.0,
               accel_mps2=0.0)
    assert warm.engine_rpm == pytest.approx(SIM_CAR.idle_rpm, abs=1.0)


def test_cranking_turns_the_engine_slowly_and_switching_off_stops_it():
    cranking = step(SIM_CAR, parked(12.0, 50.0), engine=Engine.CRANKING, lever=Lever.PARK,
                    speed_mps=0.0, accel_mps2=0.0, ambient_c=12.0, dt=DT)
    assert 150.0 <= cranking.engine_rpm <= 300.0 and cranking.fuel_rate_lph == 0.0
    off = step(SIM_CAR, cranking, engine=Engine.OFF, lever=Lever.PARK, speed_mps=0.0,
               accel_mps2=0.0, ambient_c=12.0, dt=DT)
    assert off.engine_rpm == 0.0 and off.gear == 0


def test_coolant_warms_to_the_thermostat_and_stays_there():
    state = parked(12.0, 50.0)
    temperatures = []
    for _ in range(15 * 60):
        state = run(state, 1.0, engine=Engine.RUNNING, lever=Lever.DRIVE, speed_mps=12.0,
                    accel_mps2=0.0)
        temperatures.append(state.coolant_c)
    assert temperatures[0] < 20.0
    assert SIM_CAR.thermostat_c <= temperatures[-1] <= SIM_CAR.thermostat_c + 4.0
    reached = next(i for i, t in enumerate(temperatures) if t >= SIM_CAR.thermostat_c)
    assert 4 * 60 <= reached <= 12 * 60
    assert all(b >= a for a, b in itertools.pairwise(temperatures[:reached]))


def test_pulling_away_opens_the_throttle_and_the_converter_lets_the_engine_rev():
    warm = run(parked(90.0, 50.0), 10.0, engine=Engine.RUNNING, lever=Lever.DRIVE, speed_mps=0.0,
               accel_mps2=0.0)
    pulling = step(SIM_CAR, warm, engine=Engine.RUNNING, lever=Lever.DRIVE, speed_mps=0.5,
                   accel_mps2=1.8, ambient_c=12.0, dt=DT)
    assert pulling.gear == 1 and 20.0 <= pulling.throttle_pct <= 60.0
    assert pulling.engine_rpm > SIM_CAR.rpm_per_mps(1) * 0.5
    assert pulling.fuel_rate_lph > warm.fuel_rate_lph


def test_coasting_in_gear_cuts_the_fuel():
    cruising = run(parked(90.0, 50.0), 5.0, engine=Engine.RUNNING, lever=Lever.DRIVE,
                   speed_mps=13.0, accel_mps2=0.0)
    assert cruising.fuel_rate_lph > 0.5
    braking = step(SIM_CAR, cruising, engine=Engine.RUNNING, lever=Lever.DRIVE, speed_mps=12.8,
                   accel_mps2=-2.0, ambient_c=12.0, dt=DT)
    assert braking.throttle_pct == 0.0 and braking.fuel_rate_lph == 0.0
    assert braking.fuel_level_pct == cruising.fuel_level_pct


# Bends from a 5 m radius to a 10 km one, either way; speeds from walking pace.
bends = st.floats(min_value=1e-4, max_value=0.2) | st.floats(min_value=-0.2, max_value=-1e-4)


@given(bends, st.floats(min_value=0.5, max_value=40.0))
def test_in_a_bend_the_outer_wheels_turn_faster_and_the_wheel_turns_that_way(curvature, speed):
    wheels = SIM_CAR.wheel_speeds(speed, curvature)
    steering = SIM_CAR.steering_wheel_deg(curvature)
    average = (wheels.front_left_kmh + wheels.front_right_kmh) / 2
    assert average == pytest.approx(speed * 3.6)
    if curvature > 0:  # to the left: the right wheels are outside
        assert wheels.front_right_kmh > wheels.front_left_kmh and steering > 0
    else:
        assert wheels.front_left_kmh > wheels.front_right_kmh and steering < 0
