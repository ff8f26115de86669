"""The road graph and its legal fastest paths, on a small made-up town.

    1 --- 2 --- 3        each side about 110 m; node n is at row (n-1)//3, column (n-1)%3
    |     |     |
    4 --- 5 --- 6
    |     |     |
    7 --- 8 --- 9
"""
from __future__ import annotations

import pytest

from carnel.drivers.sim.osm_pbf import OsmData, OsmNode, OsmRelation, OsmWay, RelationMember
from carnel.drivers.sim.osm_route import Waypoint, nearest_node, plan_loop, route_points
from carnel.drivers.sim.roads import NoPath, build_graph, fastest_path, is_drivable, limit_kmh
from carnel.drivers.sim.route import RouteError, StopKind

STEP_DEG = 0.001


def town(extra_ways=(), restrictions=(), node_tags=None) -> OsmData:
    node_tags = node_tags or {}
    nodes = {n: OsmNode(n, 60.0 - ((n - 1) // 3) * STEP_DEG, 24.0 + ((n - 1) % 3) * STEP_DEG * 2,
                        node_tags.get(n, {}))
             for n in range(1, 10)}
    streets = {
        101: ((1, 2, 3), "North Street"), 102: ((4, 5, 6), "Middle Street"),
        103: ((7, 8, 9), "South Street"), 104: ((1, 4, 7), "West Road"),
        105: ((2, 5, 8), "Centre Road"), 106: ((3, 6, 9), "East Road"),
    }
    ways = {i: OsmWay(i, refs, {"highway": "residential", "name": name, "maxspeed": "30"})
            for i, (refs, name) in streets.items()}
    for way in extra_ways:
        ways[way.id] = way
    relations = {r.id: r for r in restrictions}
    return OsmData(nodes, ways, relations)


def nodes_of(path):
    return [path[0].start] + [edge.end for edge in path]


def restriction(relation_id, kind, start_way, via, end_way):
    return OsmRelation(relation_id, (RelationMember("way", start_way, "from"),
                                     RelationMember("node", via, "via"),
                                     RelationMember("way", end_way, "to")),
                       {"type": "restriction", "restriction": kind})


def test_the_fastest_path_is_the_direct_one():
    assert nodes_of(fastest_path(build_graph(town()), 1, 3)) == [1, 2, 3]


def test_a_one_way_street_is_driven_only_its_way():
    one_way = OsmWay(101, (1, 2, 3), {"highway": "residential", "oneway": "-1", "maxspeed": "30"})
    graph = build_graph(town(extra_ways=[one_way]))
    assert nodes_of(fastest_path(graph, 3, 1)) == [3, 2, 1]
    assert nodes_of(fastest_path(graph, 1, 3))[1] == 4  # around by the middle street


def test_a_banned_turn_is_not_taken():
    graph = build_graph(town(restrictions=[restriction(1, "no_right_turn", 104, 4, 102)]))
    arriving = next(e for e in graph.leaving[1] if e.end == 4)
    assert nodes_of(fastest_path(graph, arriving, 5))[:2] != [4, 5]


def test_an_only_turn_is_the_only_way_on():
    graph = build_graph(town(restrictions=[restriction(1, "only_straight_on", 104, 4, 104)]))
    arriving = next(e for e in graph.leaving[1] if e.end == 4)
    assert nodes_of(fastest_path(graph, arriving, 5))[:3] == [4, 7, 8]


def test_a_path_never_turns_back_on_itself():
    graph = build_graph(town())
    arriving = next(e for e in graph.leaving[1] if e.end == 2)
    path = nodes_of(fastest_path(graph, arriving, 1))
    assert path[:2] != [2, 1] and path[-1] == 1


def test_a_node_off_the_roads_cannot_be_reached():
    graph = build_graph(town())
    with pytest.raises(NoPath):
        fastest_path(graph, 1, 999)


@pytest.mark.parametrize(("tags", "expected"), [
    ({"highway": "primary", "maxspeed": "40"}, 40.0),
    ({"highway": "primary", "maxspeed": "20 mph"}, 32.18688),
    ({"highway": "primary", "maxspeed": "FI:urban"}, 50.0),
    ({"highway": "residential"}, 30.0),
    ({"highway": "secondary", "maxspeed": "signals"}, 50.0),
])
def test_a_speed_limit_is_read_from_maxspeed_else_the_road_class(tags, expected):
    assert limit_kmh(tags) == pytest.approx(expected)


@pytest.mark.parametrize(("tags", "drivable"), [
    ({"highway": "residential"}, True),
    ({"highway": "footway"}, False),
    ({"highway": "service"}, False),
    ({"highway": "primary", "access": "no"}, False),
    ({"highway": "primary", "access": "no", "motor_vehicle": "yes"}, True),
    ({"highway": "pedestrian"}, False),
    ({"highway": "residential", "motorcar": "private"}, False),
])
def test_only_roads_a_car_may_use_are_in_the_graph(tags, drivable):
    assert is_drivable(tags) is drivable


def test_a_loop_through_waypoints_returns_to_where_it_began():
    graph = build_graph(town())
    waypoints = (Waypoint("North Street", 60.0, 24.002), Waypoint("East Road", 59.999, 24.004),
                 Waypoint("South Street", 59.998, 24.002), Waypoint("West Road", 59.999, 24.0))
    path = plan_loop(graph, waypoints)
    visited = nodes_of(path)
    assert visited[0] == visited[-1] == 2
    assert {6, 8, 4} <= set(visited)


def test_a_waypoint_snaps_to_its_own_street():
    graph = build_graph(town())
    assert nearest_node(graph, Waypoint("East Road", 60.0, 24.0)) == 3
    with pytest.raises(RouteError, match="Nowhere Lane"):
        nearest_node(graph, Waypoint("Nowhere Lane", 60.0, 24.0))


def test_a_signal_for_the_other_direction_is_not_a_stop_and_a_junction_stops_once():
    tags = {2: {"highway": "traffic_signals", "traffic_signals:direction": "backward"},
            5: {"highway": "traffic_signals"}, 8: {"highway": "stop"}}
    graph = build_graph(town(node_tags=tags))
    forward = fastest_path(graph, 1, 3)
    assert [p.stop for p in route_points(graph, forward)] == [None, None, None]
    backward = fastest_path(graph, 3, 1)
    assert [p.stop for p in route_points(graph, backward)] == [None, StopKind.TRAFFIC_SIGNALS, None]
    down = fastest_path(graph, 2, 8)
    points = route_points(graph, down)
    assert [p.stop for p in points] == [None, StopKind.TRAFFIC_SIGNALS, StopKind.STOP_SIGN]
    assert {p.street for p in points} == {"Centre Road"} and points[0].limit_kmh == 30.0
