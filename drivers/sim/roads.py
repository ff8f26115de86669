"""A directed road graph for cars from OpenStreetMap data, and the fastest legal paths over it.

Paths keep to one-way streets and turn restrictions and never turn back on themselves, so that
a drive along one is a drive a car could make. The search state is the edge the car arrives on,
which is what a turn restriction (from way, via node, to way) and a U-turn are defined by.
"""
from __future__ import annotations

import heapq
import itertools
import re
from dataclasses import dataclass, field

from carnel.drivers.sim.geo import bearing_deg, distance_m, turn_deg
from carnel.drivers.sim.osm_pbf import OsmData, OsmNode, OsmWay

# highway=* values a car may drive on, with the limit assumed where a way has no maxspeed
# (Finland's general urban limit is 50 km/h; residential streets are mostly signed 30 or 40).
DEFAULT_LIMIT_KMH = {
    "motorway": 100.0, "motorway_link": 60.0, "trunk": 80.0, "trunk_link": 50.0,
    "primary": 50.0, "primary_link": 40.0, "secondary": 50.0, "secondary_link": 40.0,
    "tertiary": 50.0, "tertiary_link": 40.0, "unclassified": 40.0, "residential": 30.0,
    "living_street": 20.0,
}
_NO_ACCESS = frozenset({"no", "private"})
_ONE_WAY = frozenset({"yes", "true", "1"})
_MAXSPEED = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*(mph)?")
_ZONE_LIMITS_KMH = {"urban": 50.0, "rural": 80.0, "living_street": 20.0, "walk": 7.0}
# Seconds a turn costs in the search, per degree of turning: a slower corner, and a bias
# towards staying on the main road as a driver who knows the town would.
_TURN_COST_S_PER_DEG = 0.08


class NoPath(LookupError):
    """No legal path joins the two nodes."""


@dataclass(frozen=True, slots=True)
class RoadEdge:
    """One drivable direction between two consecutive nodes of a way."""

    start: int
    end: int
    way: int
    length_m: float
    limit_kmh: float


@dataclass(slots=True)
class RoadGraph:
    nodes: dict[int, OsmNode]
    ways: dict[int, OsmWay]
    leaving: dict[int, list[RoadEdge]] = field(default_factory=dict)
    banned_turns: set[tuple[int, int, int]] = field(default_factory=set)  # (from way, via, to way)
    only_turns: dict[tuple[int, int], int] = field(default_factory=dict)  # (from way, via) -> to way


def build_graph(osm: OsmData) -> RoadGraph:
    """The car-drivable graph of an extract; ways cut off at the extract's edge are kept in part."""
    graph = RoadGraph(nodes=osm.nodes, ways={})
    for way in osm.ways.values():
        if not is_drivable(way.tags):
            continue
        graph.ways[way.id] = way
        limit = limit_kmh(way.tags)
        direction = one_way(way.tags)
        for a, b in itertools.pairwise(way.node_ids):
            if a not in osm.nodes or b not in osm.nodes:
                continue
            na, nb = osm.nodes[a], osm.nodes[b]
            length = distance_m(na.lat, na.lon, nb.lat, nb.lon)
            if direction >= 0:
                graph.leaving.setdefault(a, []).append(RoadEdge(a, b, way.id, length, limit))
            if direction <= 0:
                graph.leaving.setdefault(b, []).append(RoadEdge(b, a, way.id, length, limit))
    for relation in osm.relations.values():
        tags = relation.tags
        kind = tags.get("restriction") or tags.get("restriction:motorcar")
        if tags.get("type") != "restriction" or kind is None:
            continue
        roles = {(m.role, m.kind): m.ref for m in relation.members}
        start, via, end = roles.get(("from", "way")), roles.get(("via", "node")), roles.get(("to", "way"))
        if start is None or via is None or end is None:
            continue  # via-way restrictions are rare in towns and do not touch a route through nodes
        if kind.startswith("no_"):
            graph.banned_turns.add((start, via, end))
        elif kind.startswith("only_"):
            graph.only_turns[(start, via)] = end
    return graph


def is_drivable(tags: dict[str, str]) -> bool:
    if tags.get("highway") not in DEFAULT_LIMIT_KMH or tags.get("area") == "yes":
        return False
    for key in ("motorcar", "motor_vehicle", "vehicle", "access"):
        if key in tags:
            return tags[key] not in _NO_ACCESS
    return True


def one_way(tags: dict[str, str]) -> int:
    """1 when only the way's direction may be driven, -1 when only the reverse, 0 for both."""
    value = tags.get("oneway")
    if value in _ONE_WAY or (value is None and tags.get("junction") == "roundabout"):
        return 1
    if value == "-1":
        return -1
    return 0


def limit_kmh(tags: dict[str, str]) -> float:
    """The way's speed limit: its maxspeed, a national zone such as `FI:urban`, else a default."""
    value = tags.get("maxspeed", "")
    match = _MAXSPEED.fullmatch(value.strip())
    if match:
        speed = float(match.group(1))
        return speed * 1.609344 if match.group(2) else speed
    zone = value.partition(":")[2]
    if zone in _ZONE_LIMITS_KMH:
        return _ZONE_LIMITS_KMH[zone]
    return DEFAULT_LIMIT_KMH[tags["highway"]]


def turn_allowed(graph: RoadGraph, arriving: RoadEdge, leaving: RoadEdge) -> bool:
    if leaving.end == arriving.start:
        return False
    via = arriving.end
    if (arriving.way, via, leaving.way) in graph.banned_turns:
        return False
    only = graph.only_turns.get((arriving.way, via))
    return only is None or only == leaving.way


def fastest_path(graph: RoadGraph, start: int | RoadEdge, goal: int) -> list[RoadEdge]:
    """The quickest legal edges from `start` (a node, or the edge the car arrives on) to `goal`.

    Raises NoPath when there is none.
    """
    counter = itertools.count()
    queue: list[tuple[float, int, RoadEdge, RoadEdge | None]] = []
    first_edges = graph.leaving.get(start, []) if isinstance(start, int) else [
        edge for edge in graph.leaving.get(start.end, []) if turn_allowed(graph, start, edge)]
    for edge in first_edges:
        heapq.heappush(queue, (_travel_s(edge), next(counter), edge, None))
    came_from: dict[RoadEdge, RoadEdge | None] = {}
    while queue:
        cost, _, edge, previous = heapq.heappop(queue)
        if edge in came_from:
            continue
        came_from[edge] = previous
        if edge.end == goal:
            return _walk_back(came_from, edge)
        for following in graph.leaving.get(edge.end, []):
            if following not in came_from and turn_allowed(graph, edge, following):
                step = _travel_s(following) + _turn_cost_s(graph, edge, following)
                heapq.heappush(queue, (cost + step, next(counter), following, edge))
    raise NoPath(f"no legal path from {start} to node {goal}")


def _walk_back(came_from: dict[RoadEdge, RoadEdge | None], last: RoadEdge) -> list[RoadEdge]:
    path = [last]
    while (previous := came_from[path[-1]]) is not None:
        path.append(previous)
    path.reverse()
    return path


def _travel_s(edge: RoadEdge) -> float:
    return edge.length_m / (edge.limit_kmh / 3.6)


def _turn_cost_s(graph: RoadGraph, arriving: RoadEdge, leaving: RoadEdge) -> float:
    return abs(turn_deg(edge_course(graph, arriving), edge_course(graph, leaving))) * _TURN_COST_S_PER_DEG


def edge_course(graph: RoadGraph, edge: RoadEdge) -> float:
    a, b = graph.nodes[edge.start], graph.nodes[edge.end]
    return bearing_deg(a.lat, a.lon, b.lat, b.lon)
