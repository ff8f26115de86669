"""A GNSS fix becomes speed and location signals; what it does not know becomes stale, not None."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from carnel.ipc.schemas.gps import GpsFix
from carnel.ipc.schemas.vehicle import Signal
from carnel.services.vehicle.gps import (
    ALTITUDE,
    HEADING,
    LATITUDE,
    LONGITUDE,
    PATHS,
    SPEED,
    fix_signals,
)


def test_valid_fix_gives_speed_in_kmh_and_the_location():
    fix = GpsFix(valid=True, latitude=48.1173, longitude=11.5167, altitude_m=545.4,
                 speed_mps=10.0, course_deg=84.4, timestamp_ns=5)
    reading = fix_signals(fix, "gps")
    assert reading.unknown == []
    assert reading.known == [
        Signal(path=SPEED, value=36.0, unit="km/h", timestamp_ns=5, source="gps"),
        Signal(path=LATITUDE, value=48.1173, unit="degrees", timestamp_ns=5, source="gps"),
        Signal(path=LONGITUDE, value=11.5167, unit="degrees", timestamp_ns=5, source="gps"),
        Signal(path=ALTITUDE, value=545.4, unit="m", timestamp_ns=5, source="gps"),
        Signal(path=HEADING, value=84.4, unit="degrees", timestamp_ns=5, source="gps"),
    ]


def test_invalid_fix_knows_nothing_even_with_last_known_values():
    fix = GpsFix(valid=False, latitude=48.1, longitude=11.5, speed_mps=0.0)
    reading = fix_signals(fix, "gps")
    assert (reading.known, reading.unknown) == ([], list(PATHS))


def test_2d_fix_standing_still_leaves_altitude_and_heading_unknown():
    fix = GpsFix(valid=True, latitude=48.1, longitude=11.5, speed_mps=0.0, mode=2)
    reading = fix_signals(fix, "gps")
    assert [s.path for s in reading.known] == [SPEED, LATITUDE, LONGITUDE]
    assert reading.unknown == [ALTITUDE, HEADING]


optional = st.none() | st.floats(-1000, 1000, allow_nan=False)


@given(st.builds(GpsFix, valid=st.booleans(), latitude=optional, longitude=optional,
                 altitude_m=optional, speed_mps=optional, course_deg=optional))
def test_every_path_is_either_known_or_unknown_and_never_none(fix):
    reading = fix_signals(fix, "gps")
    assert sorted([s.path for s in reading.known] + reading.unknown) == sorted(PATHS)
    assert all(s.value is not None for s in reading.known)
