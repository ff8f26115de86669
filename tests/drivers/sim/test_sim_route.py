"""The shipped route, its file format, and the route as functions of distance."""
from __future__ import annotations

import itertools
from importlib import resources

from hypothesis import given
import pytest
from sim_strategies import routes

from carnel.drivers.sim.geo import distance_m
from carnel.drivers.sim.path import RoutePath
from carnel.drivers.sim.route import (
    Route,
    RouteError,
    RoutePoint,
    StopKind,
    bundled_route,
    decode_route,
    encode_route,
)


def test_the_shipped_route_is_a_closed_loop_of_a_few_km_on_connected_roads():
    route = bundled_route()
    assert route.closed
    gaps = [distance_m(a.lat, a.lon, b.lat, b.lon) for a, b in itertools.pairwise(route.points)]
    assert 3000.0 <= sum(gaps) <= 5000.0
    assert max(gaps) < 150.0  # consecutive nodes of the same or adjoining ways
    assert {p.limit_kmh for p in route.points} <= {20.0, 30.0, 40.0, 50.0}
    assert sum(p.stop is StopKind.TRAFFIC_SIGNALS for p in route.points) >= 10
    assert "OpenStreetMap" in route.source + route.licence and "ODbL" in route.licence


def test_the_shipped_route_file_is_in_the_form_the_encoder_writes():
    data = resources.files("carnel.drivers.sim").joinpath("data/route.json").read_bytes()
    assert encode_route(decode_route(data)) == data


@given(routes())
def test_a_route_survives_its_file_format(route):
    assert decode_route(encode_route(route)) == route


@pytest.mark.parametrize(("data", "complaint"), [
    (b"{", "route file"),
    (b'{"name": "x", "source": "s", "licence": "l", "points": []}', "two points"),
    (b'{"name": "x", "source": "s", "licence": "l", "points": [{"lat": 91, "lon": 0, "limit_kmh": 30}, '
     + b'{"lat": 0, "lon": 0, "limit_kmh": 30}]}', "not on the globe"),
    (b'{"name": "x", "source": "s", "licence": "l", "points": [{"lat": 1, "lon": 0, "limit_kmh": 0}, '
     + b'{"lat": 0, "lon": 0, "limit_kmh": 30}]}', "speed limit"),
])
def test_a_broken_route_file_says_what_is_wrong(data, complaint):
    with pytest.raises(RouteError, match=complaint):
        decode_route(data)


def test_a_route_that_goes_nowhere_cannot_be_driven():
    here = RoutePoint(lat=60.0, lon=24.0, limit_kmh=30.0)
    with pytest.raises(RouteError, match="two distinct points"):
        RoutePath(Route(name="x", source="s", licence="l", points=(here, here)))


def straight_then_left() -> Route:
    """100 m north, then 100 m west (a left turn), with a stop sign at the corner."""
    return Route(name="corner", source="test", licence="CC0-1.0", points=(
        RoutePoint(lat=60.0, lon=24.0, limit_kmh=50.0),
        RoutePoint(lat=60.0, lon=24.0, limit_kmh=50.0),  # a node repeated
        RoutePoint(lat=60.000898, lon=24.0, limit_kmh=30.0, stop=StopKind.STOP_SIGN),
        RoutePoint(lat=60.000898, lon=23.998204, limit_kmh=30.0),
    ))


def test_the_path_measures_distance_along_the_road():
    path = RoutePath(straight_then_left())
    assert path.length_m == pytest.approx(200.0, abs=0.5)
    assert path.position(0.0) == (60.0, 24.0)
    assert path.position(path.length_m) == pytest.approx((60.000898, 23.998204))
    assert path.position(50.0) == pytest.approx((60.000449, 24.0), abs=1e-6)
    assert path.stops[0].kind is StopKind.STOP_SIGN
    assert path.stops[0].at_m == pytest.approx(100.0, abs=0.2)
    assert path.limit_kmh(50.0) == 50.0 and path.limit_kmh(150.0) == 30.0


def test_course_and_curvature_follow_the_bend():
    path = RoutePath(straight_then_left())
    assert path.course_deg(50.0) == pytest.approx(0.0, abs=0.1)
    assert path.course_deg(150.0) == pytest.approx(270.0, abs=0.1)
    assert path.curvature_per_m(50.0) == 0.0
    assert path.curvature_per_m(100.0) > 0.05  # to the left
    mirrored = Route(name="m", source="t", licence="l", points=tuple(
        RoutePoint(lat=p.lat, lon=48.0 - p.lon, limit_kmh=p.limit_kmh) for p in straight_then_left().points))
    assert RoutePath(mirrored).curvature_per_m(100.0) < -0.05
