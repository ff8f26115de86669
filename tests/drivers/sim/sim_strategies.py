"""Hypothesis strategies for simulated routes, and geometry to check drives against them."""
from __future__ import annotations

import math

from hypothesis import strategies as st

from carnel.drivers.sim.route import Route, RoutePoint, StopKind

_EARTH_RADIUS_M = 6_371_008.8
LIMITS_KMH = (20.0, 30.0, 40.0, 50.0, 60.0, 80.0)


@st.composite
def routes(draw: st.DrawFn, max_legs: int = 8) -> Route:
    """An open town route: legs of 15-250 m turning up to 150 degrees, with limits and stops."""
    legs = draw(st.integers(min_value=1, max_value=max_legs))
    lat, lon = 60.17, 24.94
    course = draw(st.floats(min_value=0.0, max_value=359.0))
    points = []
    for index in range(legs + 1):
        stop = draw(st.none() | st.sampled_from(list(StopKind))) if 0 < index < legs else None
        points.append(RoutePoint(lat=lat, lon=lon, limit_kmh=draw(st.sampled_from(LIMITS_KMH)),
                                 street=f"street {index}", stop=stop))
        length = draw(st.floats(min_value=15.0, max_value=250.0))
        course += draw(st.floats(min_value=-150.0, max_value=150.0))
        north = length * math.cos(math.radians(course))
        east = length * math.sin(math.radians(course))
        lat += math.degrees(north / _EARTH_RADIUS_M)
        lon += math.degrees(east / (_EARTH_RADIUS_M * math.cos(math.radians(lat))))
    return Route(name="drawn", source="hypothesis", licence="CC0-1.0", points=tuple(points))


def offset_from_route_m(route: Route, lat: float, lon: float) -> float:
    """How far a position is from the nearest point of the route's polyline, in metres."""
    scale = math.cos(math.radians(lat))

    def local(plat: float, plon: float) -> tuple[float, float]:
        return (math.radians(plon - lon) * scale * _EARTH_RADIUS_M,
                math.radians(plat - lat) * _EARTH_RADIUS_M)

    nearest = math.inf
    for a, b in zip(route.points, route.points[1:]):
        ax, ay = local(a.lat, a.lon)
        bx, by = local(b.lat, b.lon)
        dx, dy = bx - ax, by - ay
        length2 = dx * dx + dy * dy
        u = 0.0 if length2 == 0 else min(1.0, max(0.0, -(ax * dx + ay * dy) / length2))
        nearest = min(nearest, math.hypot(ax + u * dx, ay + u * dy))
    return nearest
