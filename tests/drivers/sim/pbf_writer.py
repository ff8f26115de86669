"""A small OSM PBF writer, written from the format's description, to test the reader against."""
from __future__ import annotations

import struct
import zlib

from carnel.drivers.sim.osm_pbf import OsmNode, OsmRelation, OsmWay

_KINDS = {"node": 0, "way": 1, "relation": 2}


def varint(value: int) -> bytes:
    out = bytearray()
    value &= (1 << 64) - 1
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def zigzag(value: int) -> int:
    return (value << 1) ^ (value >> 63)


def field_varint(number: int, value: int) -> bytes:
    return varint(number << 3) + varint(value)


def field_bytes(number: int, value: bytes) -> bytes:
    return varint(number << 3 | 2) + varint(len(value)) + value


def packed(values: list[int]) -> bytes:
    return b"".join(varint(v) for v in values)


def deltas(values: list[int]) -> list[int]:
    previous = 0
    out = []
    for value in values:
        out.append(zigzag(value - previous))
        previous = value
    return out


class _Strings:
    def __init__(self) -> None:
        self.table = [""]  # index 0 is the dense nodes' tag delimiter

    def index(self, text: str) -> int:
        if text not in self.table:
            self.table.append(text)
        return self.table.index(text)


def write_pbf(nodes: list[OsmNode], ways: list[OsmWay], relations: list[OsmRelation],
              *, granularity: int = 100, compress: bool = True,
              features: tuple[str, ...] = ("OsmSchema-V0.6", "DenseNodes")) -> bytes:
    """A PBF file: a header block, then one data block with dense nodes, ways and relations."""
    strings = _Strings()
    ids = [n.id for n in nodes]
    lats = [round(n.lat * 1e9 / granularity) for n in nodes]
    lons = [round(n.lon * 1e9 / granularity) for n in nodes]
    keys_values: list[int] = []
    for node in nodes:
        for key, value in node.tags.items():
            keys_values += [strings.index(key), strings.index(value)]
        keys_values.append(0)
    dense = (field_bytes(1, packed(deltas(ids))) + field_bytes(8, packed(deltas(lats)))
             + field_bytes(9, packed(deltas(lons))) + field_bytes(10, packed(keys_values)))
    group = field_bytes(2, dense)
    for way in ways:
        group += field_bytes(3, field_varint(1, way.id) + _tags(way.tags, strings)
                             + field_bytes(8, packed(deltas(list(way.node_ids)))))
    for relation in relations:
        members = relation.members
        group += field_bytes(4, field_varint(1, relation.id) + _tags(relation.tags, strings)
                             + field_bytes(8, packed([strings.index(m.role) for m in members]))
                             + field_bytes(9, packed(deltas([m.ref for m in members])))
                             + field_bytes(10, packed([_KINDS[m.kind] for m in members])))
    table = b"".join(field_bytes(1, s.encode()) for s in strings.table)
    block = field_bytes(1, table) + field_bytes(2, group) + field_varint(17, granularity)
    header = b"".join(field_bytes(4, feature.encode()) for feature in features)
    return header_blob(header, compress) + _blob("OSMData", block, compress)


def header_blob(header: bytes, compress: bool = True) -> bytes:
    return _blob("OSMHeader", header, compress)


def _tags(tags: dict[str, str], strings: _Strings) -> bytes:
    keys = [strings.index(k) for k in tags]
    values = [strings.index(v) for v in tags.values()]
    return field_bytes(2, packed(keys)) + field_bytes(3, packed(values))


def _blob(kind: str, data: bytes, compress: bool) -> bytes:
    if compress:
        blob = field_varint(2, len(data)) + field_bytes(3, zlib.compress(data))
    else:
        blob = field_bytes(1, data)
    header = field_bytes(1, kind.encode()) + field_varint(3, len(blob))
    return struct.pack(">I", len(header)) + header + blob
