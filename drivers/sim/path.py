"""A route as functions of the distance driven along it: position, course, curvature, limit, stops."""
from __future__ import annotations

import bisect
import itertools
import math
from dataclasses import dataclass

from carnel.drivers.sim.geo import bearing_deg, distance_m, turn_deg
from carnel.drivers.sim.route import Route, RouteError, StopKind

# Course is measured over a few metres and curvature over a corner's length, as a car sweeps a
# corner rather than pivoting on the map's vertex.
COURSE_SPAN_M = 6.0
CURVATURE_SPAN_M = 20.0


@dataclass(frozen=True, slots=True)
class StopPoint:
    at_m: float
    kind: StopKind


class RoutePath:
    """Distance-indexed geometry of a route; distances run from 0 to `length_m`."""

    def __init__(self, route: Route) -> None:
        points = [route.points[0]]
        for point in route.points[1:]:
            if distance_m(points[-1].lat, points[-1].lon, point.lat, point.lon) > 0.01:
                points.append(point)
            elif point.stop is not None and points[-1].stop is None:
                points[-1] = point  # a duplicated node keeps the stop either copy carries
        if len(points) < 2:
            raise RouteError("a route needs two distinct points to drive between")
        self._lats = [p.lat for p in points]
        self._lons = [p.lon for p in points]
        self._limits = [p.limit_kmh for p in points]
        self._starts = [0.0]
        self._courses = []
        for a, b in itertools.pairwise(points):
            self._starts.append(self._starts[-1] + distance_m(a.lat, a.lon, b.lat, b.lon))
            self._courses.append(bearing_deg(a.lat, a.lon, b.lat, b.lon))
        self.length_m = self._starts[-1]
        self.closed = route.closed
        self.stops = tuple(StopPoint(s, p.stop) for s, p in zip(self._starts, points)
                           if p.stop is not None)

    def position(self, s: float) -> tuple[float, float]:
        """(lat, lon) after `s` metres."""
        i, fraction = self._locate(s)
        if fraction == 0.0:
            return self._lats[i], self._lons[i]
        return (self._lats[i] + (self._lats[i + 1] - self._lats[i]) * fraction,
                self._lons[i] + (self._lons[i + 1] - self._lons[i]) * fraction)

    def limit_kmh(self, s: float) -> float:
        """The speed limit of the road at `s`."""
        return self._limits[self._locate(s)[0]]

    def course_deg(self, s: float) -> float:
        """Direction of travel at `s`, degrees clockwise from true north."""
        lat1, lon1 = self.position(self._along(s - COURSE_SPAN_M / 2))
        lat2, lon2 = self.position(self._along(s + COURSE_SPAN_M / 2))
        if (lat1, lon1) == (lat2, lon2):
            return self._courses[self._locate(s)[0]]
        return bearing_deg(lat1, lon1, lat2, lon2)

    def curvature_per_m(self, s: float) -> float:
        """How sharply the road bends at `s`, in radians per metre; positive bends to the left."""
        before = self._segment_course(self._along(s - CURVATURE_SPAN_M / 2))
        after = self._segment_course(self._along(s + CURVATURE_SPAN_M / 2))
        return -math.radians(turn_deg(before, after)) / CURVATURE_SPAN_M

    def _segment_course(self, s: float) -> float:
        return self._courses[self._locate(s)[0]]

    def _along(self, s: float) -> float:
        """A distance beyond either end: around again on a loop, else held at the end."""
        if self.closed:
            return s % self.length_m
        return min(max(s, 0.0), self.length_m)

    def _locate(self, s: float) -> tuple[int, float]:
        """The segment that holds `s` and how far along it, as a fraction."""
        s = min(max(s, 0.0), self.length_m)
        i = min(bisect.bisect_right(self._starts, s) - 1, len(self._courses) - 1)
        length = self._starts[i + 1] - self._starts[i]
        return i, (s - self._starts[i]) / length
