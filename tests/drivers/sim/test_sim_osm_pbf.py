"""The OSM PBF reader against an independent writer, and on broken files."""
from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pbf_writer import field_bytes, field_varint, header_blob, write_pbf

from carnel.drivers.sim.osm_pbf import OsmNode, OsmRelation, OsmWay, PbfError, RelationMember, read_pbf

ids = st.integers(min_value=1, max_value=2**40)
texts = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)
tags = st.dictionaries(texts.filter(bool), texts, max_size=4)
# Positions on the writer's 100-nanodegree grid, so that they survive the round trip exactly.
degrees = st.integers(min_value=-900_000_000, max_value=900_000_000).map(lambda n: n / 1e7)


@st.composite
def extracts(draw):
    node_ids = draw(st.lists(ids, unique=True, max_size=30))
    nodes = [OsmNode(i, draw(degrees), draw(degrees) * 2, draw(tags)) for i in node_ids]
    ways = [OsmWay(i, tuple(draw(st.lists(ids, max_size=10))), draw(tags))
            for i in draw(st.lists(ids, unique=True, max_size=10))]
    members = st.builds(RelationMember, st.sampled_from(["node", "way", "relation"]), ids, texts)
    relations = [OsmRelation(i, tuple(draw(st.lists(members, max_size=5))), draw(tags))
                 for i in draw(st.lists(ids, unique=True, max_size=5))]
    return nodes, ways, relations


@given(extracts(), st.booleans())
def test_reading_gives_back_what_was_written(extract, compress):
    nodes, ways, relations = extract
    found = read_pbf(write_pbf(nodes, ways, relations, compress=compress))
    assert set(found.nodes) == {n.id for n in nodes}
    for node in nodes:
        read = found.nodes[node.id]
        assert read.lat == pytest.approx(node.lat, abs=1e-9)
        assert read.lon == pytest.approx(node.lon, abs=1e-9)
        assert read.tags == node.tags
    assert found.ways == {w.id: w for w in ways}
    assert found.relations == {r.id: r for r in relations}


@given(extracts(), st.booleans(), st.data())
def test_a_file_cut_short_is_refused_with_a_reason(extract, compress, data):
    whole = write_pbf(*extract, compress=compress)
    header_end = len(header_blob(field_bytes(4, b"OsmSchema-V0.6") + field_bytes(4, b"DenseNodes"),
                                 compress))
    cut = data.draw(st.integers(min_value=1, max_value=len(whole) - 1).filter(lambda n: n != header_end))
    with pytest.raises(PbfError):
        read_pbf(whole[:cut])


def test_a_file_needing_features_the_reader_lacks_is_refused():
    whole = write_pbf([], [], [], features=("OsmSchema-V0.6", "HistoricalInformation"))
    with pytest.raises(PbfError, match="HistoricalInformation"):
        read_pbf(whole)


def test_only_raw_and_zlib_blobs_are_read():
    lzma_blob = field_varint(2, 3) + field_bytes(4, b"\x00\x01\x02")
    header = field_bytes(1, b"OSMData") + field_varint(3, len(lzma_blob))
    with pytest.raises(PbfError, match="compression"):
        read_pbf(struct.pack(">I", len(header)) + header + lzma_blob)
