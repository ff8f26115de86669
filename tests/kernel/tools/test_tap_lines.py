"""`carnel tap`'s lines: a delivery as text for people and as JSON for pipes."""
from __future__ import annotations

import datetime
import json

import msgspec

from carnel.ipc import _impl
from carnel.ipc.schemas.trip import Trip
from carnel.ipc.schemas.vehicle import Signal
from carnel.ipc.wire import Flag, Kind
from carnel.kernel.tools.traffic import Palette, as_json, as_text, clock_time, fields_text, seen

NOON_NS = int(datetime.datetime(2030, 1, 2, 12, 0, 1, 250_000, tzinfo=datetime.UTC)
              .timestamp() * 1e9)


def header(subject: str, flags: int = 0, source: str = "can"):
    return _impl.parse_header(_impl.pack_header(
        Kind.PUB, subject, flags=flags, seq=7, timestamp_ns=NOON_NS, source=source))


def test_a_publication_shows_time_source_subject_and_the_fields_that_are_not_defaults():
    payload = msgspec.msgpack.encode(Signal(path="Vehicle.Speed", value=50.5, unit="km/h"))
    line = as_text(seen(header("vehicle.Speed"), payload), Palette(False), tz=datetime.UTC)
    assert line == ('12:00:01.250 can vehicle.Speed Signal path="Vehicle.Speed" value=50.5 '
                    'unit="km/h"')


def test_a_retained_value_is_marked_and_attachments_are_sized():
    payload = msgspec.msgpack.encode(Trip(metres=12.0))
    item = seen(header("trip.distance", Flag.RETAIN | Flag.RETAINED), payload, (4096, 12))
    line = as_text(item, Palette(False), tz=datetime.UTC)
    assert line == ("12:00:01.250 can trip.distance retained Trip metres=12.0 "
                    "+2 attachments (4096 B, 12 B)")


def test_a_payload_of_no_known_type_says_so_and_its_size():
    item = seen(header("x.y"), b"\xc1\x00\x01")
    assert item.message is None
    assert as_text(item, Palette(False), tz=datetime.UTC).endswith(
        "x.y <3 bytes: not a known message type>")


def test_hostile_nesting_is_shown_as_unknown_rather_than_raised():
    deep = b"\x82\xa4type\xa4trip\xa1x" + b"\x91" * 10_000 + b"\xc0"
    assert seen(header("trip.distance"), deep).message is None


def test_colour_wraps_each_part_and_plain_has_no_escapes():
    payload = msgspec.msgpack.encode(Trip(metres=1.0))
    item = seen(header("trip.distance", Flag.RETAINED), payload)
    coloured = as_text(item, Palette(True))
    assert "\x1b[33mretained\x1b[0m" in coloured and "\x1b[36mcan\x1b[0m" in coloured
    assert "\x1b[" not in as_text(item, Palette(False))


def test_json_lines_carry_everything():
    payload = msgspec.msgpack.encode(Signal(path="Vehicle.Speed", value=3))
    item = seen(header("vehicle.Speed", Flag.RETAINED), payload, (5,))
    assert json.loads(as_json(item)) == {
        "timestamp_ns": NOON_NS, "source": "can", "subject": "vehicle.Speed", "seq": 7,
        "retained": True, "type": "Signal", "size": len(payload), "attachments": [5],
        "message": {"type": "signal", "path": "Vehicle.Speed", "value": 3, "unit": "",
                    "timestamp_ns": 0, "source": "", "stale": False},
    }


def test_fields_with_default_factories_are_omitted_when_empty():
    assert fields_text(Signal(path="a", value=False)) == 'path="a" value=false'


def test_clock_time_has_milliseconds():
    assert clock_time(NOON_NS, datetime.UTC) == "12:00:01.250"
