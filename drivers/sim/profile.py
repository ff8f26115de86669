"""How fast the car goes where: a speed plan along the route, and the timeline it makes.

The plan is the fastest speed at each point that keeps under the limit, takes bends within a
comfortable sideways acceleration, and accelerates and brakes within a driver's habits, so that
it is zero exactly where the car stops. Driven in time, each short step has one constant
acceleration, so position, speed and acceleration agree at any instant.
"""
from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

from carnel.drivers.sim.path import RoutePath


@dataclass(frozen=True, slots=True)
class DrivingStyle:
    """A calm town driver: these bound what the plan may do."""

    launch_accel_mps2: float = 1.8
    # Acceleration falls off with speed as the engine's spare power does.
    accel_fade_mps: float = 25.0
    min_accel_mps2: float = 0.6
    brake_mps2: float = 2.2
    lateral_mps2: float = 2.0
    limit_fraction: float = 0.95
    crawl_mps: float = 4.0  # through a give-way when nothing comes
    step_m: float = 0.5

    def accel_mps2(self, speed_mps: float) -> float:
        fade = 1.0 - speed_mps / self.accel_fade_mps
        return max(self.min_accel_mps2, self.launch_accel_mps2 * fade)


@dataclass(frozen=True, slots=True)
class Halt:
    """Where the plan stops (for `dwell_s`) or, with `dwell_s` None, slows to a crawl."""

    at_m: float
    dwell_s: float | None


@dataclass(frozen=True, slots=True)
class Motion:
    """A stretch of the timeline with one constant acceleration (or standing still)."""

    start_s: float
    duration_s: float
    start_m: float
    start_mps: float
    accel_mps2: float


@dataclass(frozen=True, slots=True)
class Kinematics:
    distance_m: float
    speed_mps: float
    accel_mps2: float


class Timeline:
    """The drive in time: where the car is, how fast, accelerating how hard, at any instant."""

    def __init__(self, motions: list[Motion]) -> None:
        self.motions = motions
        self._starts = [m.start_s for m in motions]
        last = motions[-1]
        self.duration_s = last.start_s + last.duration_s

    def then_stand(self, seconds: float) -> Timeline:
        """This timeline followed by standing still where it ends for `seconds`."""
        end = self.at(self.duration_s)
        return Timeline([*self.motions, Motion(self.duration_s, seconds, end.distance_m, 0.0, 0.0)])

    def at(self, t: float) -> Kinematics:
        t = min(max(t, 0.0), self.duration_s)
        m = self.motions[max(0, bisect.bisect_right(self._starts, t) - 1)]
        tau = min(t - m.start_s, m.duration_s)
        speed = max(0.0, m.start_mps + m.accel_mps2 * tau)
        distance = m.start_m + m.start_mps * tau + 0.5 * m.accel_mps2 * tau * tau
        return Kinematics(distance, speed, m.accel_mps2 if m.duration_s > 0 else 0.0)


def speed_plan(path: RoutePath, halts: list[Halt],
               style: DrivingStyle) -> tuple[list[float], list[float]]:
    """Distances of a grid along the route and the planned speed (m/s) at each.

    The car is at rest at both ends and at every halt with a dwell.
    """
    # Three points at least: a route shorter than a step still has somewhere to move between.
    count = max(3, math.ceil(path.length_m / style.step_m) + 1)
    grid = [path.length_m * k / (count - 1) for k in range(count)]
    caps = [_cap_mps(path, s, style) for s in grid]
    caps[0] = caps[-1] = 0.0
    for halt in halts:
        k = _grid_index(halt, grid)
        if k is not None:
            caps[k] = 0.0 if halt.dwell_s is not None else min(caps[k], style.crawl_mps)
    speeds = caps[:]
    for k in range(count - 1):
        step = grid[k + 1] - grid[k]
        reachable = math.sqrt(speeds[k] ** 2 + 2 * style.accel_mps2(speeds[k]) * step)
        speeds[k + 1] = min(speeds[k + 1], reachable)
    for k in range(count - 2, -1, -1):
        step = grid[k + 1] - grid[k]
        stoppable = math.sqrt(speeds[k + 1] ** 2 + 2 * style.brake_mps2 * step)
        speeds[k] = min(speeds[k], stoppable)
    return grid, speeds


def _grid_index(halt: Halt, grid: list[float]) -> int | None:
    """The grid point of a halt; None next to either end, where the car stands anyway."""
    k = round(halt.at_m / grid[-1] * (len(grid) - 1))
    return k if 2 <= k <= len(grid) - 3 else None


def _cap_mps(path: RoutePath, s: float, style: DrivingStyle) -> float:
    cap = path.limit_kmh(s) / 3.6 * style.limit_fraction
    curvature = abs(path.curvature_per_m(s))
    if curvature > 0.0:
        cap = min(cap, math.sqrt(style.lateral_mps2 / curvature))
    return cap


def timeline(grid: list[float], speeds: list[float], halts: list[Halt], *,
             hold_start_s: float) -> Timeline:
    """Drive the plan: stand `hold_start_s`, go, stand at each halt, and end on arrival."""
    dwells = {}
    for halt in halts:
        k = _grid_index(halt, grid)
        if k is not None and halt.dwell_s is not None:
            dwells[k] = dwells.get(k, 0.0) + halt.dwell_s
    motions = [Motion(0.0, hold_start_s, 0.0, 0.0, 0.0)]
    t = hold_start_s
    for k in range(len(grid) - 1):
        if k in dwells:
            motions.append(Motion(t, dwells[k], grid[k], 0.0, 0.0))
            t += dwells[k]
        step = grid[k + 1] - grid[k]
        v0, v1 = speeds[k], speeds[k + 1]
        duration = 2 * step / (v0 + v1)
        motions.append(Motion(t, duration, grid[k], v0, (v1 - v0) / duration))
        t += duration
    return Timeline(motions)
