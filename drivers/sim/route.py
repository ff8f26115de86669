"""The simulated car's route: a polyline along real roads with speed limits and stop points.

The route ships as JSON beside this module (data/route.json, derived from OpenStreetMap; see
data/README.md) and is read with `bundled_route()`, so nothing is downloaded at run time.
"""
from __future__ import annotations

import enum
from importlib import resources

import msgspec


class StopKind(enum.StrEnum):
    """What the car may have to stop for at a point (the OSM `highway=*` node it comes from)."""

    TRAFFIC_SIGNALS = "traffic_signals"
    STOP_SIGN = "stop"
    GIVE_WAY = "give_way"


class RoutePoint(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A vertex of the route; `limit_kmh` and `street` hold for the segment that starts here."""

    lat: float
    lon: float
    limit_kmh: float
    street: str = ""
    stop: StopKind | None = None


class Route(msgspec.Struct, frozen=True, kw_only=True):
    """A drive's path, driven from the first point to the last; closed when they coincide."""

    name: str
    source: str
    licence: str
    points: tuple[RoutePoint, ...]

    @property
    def closed(self) -> bool:
        first, last = self.points[0], self.points[-1]
        return (first.lat, first.lon) == (last.lat, last.lon)


class RouteError(ValueError):
    """A route file that cannot be driven; `detail` says why."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


_DECODER = msgspec.json.Decoder(Route)
_ENCODER = msgspec.json.Encoder()


def decode_route(data: bytes) -> Route:
    """A route from its JSON; raises RouteError when it is malformed or has under two points."""
    try:
        route = _DECODER.decode(data)
    except msgspec.DecodeError as exc:
        raise RouteError(f"route file: {exc}") from None
    if len(route.points) < 2:
        raise RouteError(f"a route needs two points or more, this one has {len(route.points)}")
    for index, point in enumerate(route.points):
        if not (-90.0 <= point.lat <= 90.0 and -180.0 <= point.lon <= 180.0):
            raise RouteError(f"point {index} at ({point.lat}, {point.lon}) is not on the globe")
        if not point.limit_kmh > 0.0:
            raise RouteError(f"point {index} has a speed limit of {point.limit_kmh} km/h")
    return route


def encode_route(route: Route) -> bytes:
    """The route as JSON, one point a line so that a change to the route reads well in a diff."""
    head = _ENCODER.encode({"name": route.name, "source": route.source, "licence": route.licence})
    points = b",\n".join(b"  " + _ENCODER.encode(point) for point in route.points)
    return head[:-1] + b',\n"points": [\n' + points + b"\n]}\n"


def bundled_route() -> Route:
    """The route the simulated car drives, as shipped with carnel."""
    data = resources.files("carnel.drivers.sim").joinpath("data/route.json").read_bytes()
    return decode_route(data)
