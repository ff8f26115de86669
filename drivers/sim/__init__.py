"""The simulated car: a lap along real roads, and the GPS, CAN and OBD feeds it renders into.

`simulate(bundled_route())` is the lap (pure, deterministic, 10 Hz); `python -m
carnel.drivers.sim.render --out DIR` writes the feeds the dev image replays.
"""
from __future__ import annotations

from carnel.drivers.sim.drive import SAMPLE_HZ, Drive, DriveSample, simulate
from carnel.drivers.sim.route import Route, RouteError, RoutePoint, StopKind, bundled_route, decode_route

__all__ = [
    "SAMPLE_HZ", "Drive", "DriveSample", "Route", "RouteError", "RoutePoint", "StopKind",
    "bundled_route", "decode_route", "simulate",
]
