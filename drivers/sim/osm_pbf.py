"""Read the nodes, ways and relations of an OpenStreetMap PBF extract (pure: bytes in, objects out).

Only what building a route needs: ids, tags, node positions, way node lists and relation members.
The format is the one documented on the OSM wiki ("PBF Format"): a sequence of length-prefixed
blobs, each a zlib-compressed protobuf block with a string table and delta-coded groups. It is
read with the standard library alone, so that regenerating the shipped route needs no GIS stack.
"""
from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field


class PbfError(ValueError):
    """The bytes are not an OSM PBF file this reader understands; `detail` says where."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True, slots=True)
class OsmNode:
    id: int
    lat: float
    lon: float
    tags: dict[str, str]


@dataclass(frozen=True, slots=True)
class OsmWay:
    id: int
    node_ids: tuple[int, ...]
    tags: dict[str, str]


@dataclass(frozen=True, slots=True)
class RelationMember:
    kind: str  # "node", "way" or "relation"
    ref: int
    role: str


@dataclass(frozen=True, slots=True)
class OsmRelation:
    id: int
    members: tuple[RelationMember, ...]
    tags: dict[str, str]


@dataclass(slots=True)
class OsmData:
    """Everything read from one extract, keyed by id."""

    nodes: dict[int, OsmNode] = field(default_factory=dict)
    ways: dict[int, OsmWay] = field(default_factory=dict)
    relations: dict[int, OsmRelation] = field(default_factory=dict)


_VARINT, _FIXED64, _LENGTH, _FIXED32 = 0, 1, 2, 5
_MEMBER_KINDS = ("node", "way", "relation")
# fileformat.proto limits a blob header to 64 KiB and a blob to 32 MiB.
_MAX_HEADER = 64 * 1024
_MAX_BLOB = 32 * 1024 * 1024
# Features a block may require that this reader does handle; anything else is refused.
_KNOWN_FEATURES = frozenset({"OsmSchema-V0.6", "DenseNodes"})


def read_pbf(data: bytes) -> OsmData:
    """Every node, way and relation in the extract's bytes; raises PbfError on a broken file."""
    found = OsmData()
    try:
        for kind, block in _blobs(data):
            if kind == "OSMHeader":
                _check_header(block)
            elif kind == "OSMData":
                _read_block(block, found)
    except zlib.error as exc:
        raise PbfError(f"a compressed blob is corrupt: {exc}") from None
    except UnicodeDecodeError as exc:
        raise PbfError(f"a string is not UTF-8: {exc}") from None
    except IndexError:
        raise PbfError("a string index, tag list or member kind is out of range") from None
    return found


def _blobs(data: bytes) -> Iterator[tuple[str, bytes]]:
    offset = 0
    while offset < len(data):
        if offset + 4 > len(data):
            raise PbfError(f"truncated blob header length at byte {offset}")
        (header_length,) = struct.unpack_from(">I", data, offset)
        offset += 4
        if header_length > _MAX_HEADER or offset + header_length > len(data):
            raise PbfError(f"blob header of {header_length} bytes at byte {offset} is too long")
        kind, size = "", 0
        for number, _, value in _fields(data[offset:offset + header_length]):
            if number == 1:
                kind = bytes(value).decode("utf-8")
            elif number == 3:
                size = value
        offset += header_length
        if size > _MAX_BLOB or offset + size > len(data):
            raise PbfError(f"blob of {size} bytes at byte {offset} runs past the end of the file")
        yield kind, _unpack_blob(data[offset:offset + size])
        offset += size


def _unpack_blob(blob: bytes) -> bytes:
    for number, _, value in _fields(blob):
        if number == 1:
            return bytes(value)
        if number == 3:
            return zlib.decompress(value)
        if number in (4, 5, 6, 7):
            raise PbfError(f"blob compression {number} is not supported (only raw and zlib)")
    raise PbfError("blob without data")


def _check_header(block: bytes) -> None:
    for number, _, value in _fields(block):
        if number == 4:
            feature = bytes(value).decode("utf-8")
            if feature not in _KNOWN_FEATURES:
                raise PbfError(f"the file requires feature {feature!r}")


def _read_block(block: bytes, found: OsmData) -> None:
    strings: list[str] = []
    groups: list[bytes] = []
    granularity, lat_offset, lon_offset = 100, 0, 0
    for number, _, value in _fields(block):
        if number == 1:
            strings = [bytes(s).decode("utf-8") for n, _, s in _fields(value) if n == 1]
        elif number == 2:
            groups.append(value)
        elif number == 17:
            granularity = value
        elif number == 19:
            lat_offset = _signed64(value)
        elif number == 20:
            lon_offset = _signed64(value)

    def degrees(raw: int, offset: int) -> float:
        return (offset + granularity * raw) * 1e-9

    for group in groups:
        for number, _, value in _fields(group):
            if number == 1:
                node = _node(value, strings, degrees, lat_offset, lon_offset)
                found.nodes[node.id] = node
            elif number == 2:
                for node in _dense_nodes(value, strings, degrees, lat_offset, lon_offset):
                    found.nodes[node.id] = node
            elif number == 3:
                way = _way(value, strings)
                found.ways[way.id] = way
            elif number == 4:
                relation = _relation(value, strings)
                found.relations[relation.id] = relation


def _node(message: bytes, strings: list[str], degrees, lat_offset: int, lon_offset: int) -> OsmNode:
    node_id = lat = lon = 0
    keys: list[int] = []
    values: list[int] = []
    for number, _, value in _fields(message):
        if number == 1:
            node_id = _zigzag(value)
        elif number == 2:
            keys = _packed(value)
        elif number == 3:
            values = _packed(value)
        elif number == 8:
            lat = _zigzag(value)
        elif number == 9:
            lon = _zigzag(value)
    return OsmNode(node_id, degrees(lat, lat_offset), degrees(lon, lon_offset),
                   _tags(keys, values, strings))


def _dense_nodes(message: bytes, strings: list[str], degrees, lat_offset: int,
                 lon_offset: int) -> Iterator[OsmNode]:
    ids: list[int] = []
    lats: list[int] = []
    lons: list[int] = []
    keys_values: list[int] = []
    for number, _, value in _fields(message):
        if number == 1:
            ids = _deltas(value)
        elif number == 8:
            lats = _deltas(value)
        elif number == 9:
            lons = _deltas(value)
        elif number == 10:
            keys_values = _packed(value)
    if not len(ids) == len(lats) == len(lons):
        raise PbfError(f"dense nodes with {len(ids)} ids, {len(lats)} lats and {len(lons)} lons")
    # keys_vals is one run of key,value string indexes per node, each run ended by a 0.
    position = 0
    for node_id, lat, lon in zip(ids, lats, lons):
        tags = {}
        while position < len(keys_values) and keys_values[position] != 0:
            tags[strings[keys_values[position]]] = strings[keys_values[position + 1]]
            position += 2
        position += 1
        yield OsmNode(node_id, degrees(lat, lat_offset), degrees(lon, lon_offset), tags)


def _way(message: bytes, strings: list[str]) -> OsmWay:
    way_id = 0
    keys: list[int] = []
    values: list[int] = []
    refs: list[int] = []
    for number, _, value in _fields(message):
        if number == 1:
            way_id = value
        elif number == 2:
            keys = _packed(value)
        elif number == 3:
            values = _packed(value)
        elif number == 8:
            refs = _deltas(value)
    return OsmWay(way_id, tuple(refs), _tags(keys, values, strings))


def _relation(message: bytes, strings: list[str]) -> OsmRelation:
    relation_id = 0
    keys: list[int] = []
    values: list[int] = []
    roles: list[int] = []
    refs: list[int] = []
    kinds: list[int] = []
    for number, _, value in _fields(message):
        if number == 1:
            relation_id = value
        elif number == 2:
            keys = _packed(value)
        elif number == 3:
            values = _packed(value)
        elif number == 8:
            roles = _packed(value)
        elif number == 9:
            refs = _deltas(value)
        elif number == 10:
            kinds = _packed(value)
    members = tuple(RelationMember(_MEMBER_KINDS[kind], ref, strings[role])
                    for kind, ref, role in zip(kinds, refs, roles))
    return OsmRelation(relation_id, members, _tags(keys, values, strings))


def _tags(keys: list[int], values: list[int], strings: list[str]) -> dict[str, str]:
    return {strings[k]: strings[v] for k, v in zip(keys, values)}


# --- protobuf wire format ------------------------------------------------------------------------

def _fields(message: bytes | memoryview) -> Iterator[tuple[int, int, int | memoryview]]:
    """(field number, wire type, value) of each field: an int, or a view of the bytes."""
    view = memoryview(message)
    position = 0
    end = len(view)
    while position < end:
        key, position = _varint(view, position)
        number, wire_type = key >> 3, key & 7
        if wire_type == _VARINT:
            value, position = _varint(view, position)
        elif wire_type == _LENGTH:
            length, position = _varint(view, position)
            if position + length > end:
                raise PbfError(f"field {number} runs past the end of its message")
            value = view[position:position + length]
            position += length
        elif wire_type == _FIXED64:
            value = int.from_bytes(view[position:position + 8], "little")
            position += 8
        elif wire_type == _FIXED32:
            value = int.from_bytes(view[position:position + 4], "little")
            position += 4
        else:
            raise PbfError(f"field {number} has unknown wire type {wire_type}")
        yield number, wire_type, value


def _varint(view: memoryview, position: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if position >= len(view):
            raise PbfError("varint runs past the end of its message")
        byte = view[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, position
        shift += 7
        if shift > 63:
            raise PbfError("varint longer than 10 bytes")


def _packed(view: memoryview) -> list[int]:
    values = []
    position = 0
    while position < len(view):
        value, position = _varint(view, position)
        values.append(value)
    return values


def _deltas(view: memoryview) -> list[int]:
    """A packed sint64 field of deltas, summed back into absolute values."""
    total = 0
    values = []
    for raw in _packed(view):
        total += _zigzag(raw)
        values.append(total)
    return values


def _zigzag(raw: int) -> int:
    return (raw >> 1) ^ -(raw & 1)


def _signed64(raw: int) -> int:
    return raw - (1 << 64) if raw >= 1 << 63 else raw
