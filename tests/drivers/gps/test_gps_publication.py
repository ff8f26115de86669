"""What goes on `gps.fix`: valid fixes as GpsFix, and each loss of fix exactly once."""
from __future__ import annotations

import datetime

from hypothesis import given
from hypothesis import strategies as st

from carnel.drivers.gps import (
    Fix,
    FixLost,
    FixPublication,
    FixQuality,
    FixType,
    PositionMode,
    gps_fix,
)

T0 = 1_279_471_807.25


def fix(**overrides) -> Fix:
    fields = dict(
        received_at=T0, time=datetime.time(16, 50, 7), date=datetime.date(2010, 7, 18),
        lat=41.726763333, lon=-83.63463, altitude_m=204.3, geoid_separation_m=-33.7,
        speed_mps=0.283, course_deg=36.58, quality=FixQuality.DGPS, fix_type=FixType.FIX_3D,
        mode=PositionMode.DIFFERENTIAL, satellites_used=6, hdop=1.5, pdop=2.8, vdop=2.4,
        talker="GP",
    )
    return Fix(**{**fields, **overrides})


def lost(at: float = T0 + 1) -> FixLost:
    return FixLost(received_at=at, time=datetime.time(16, 50, 8), reported_by="RMC")


def test_a_fix_becomes_a_valid_gps_fix_with_its_utc_time_in_nanoseconds() -> None:
    message = gps_fix(fix(), 1_279_471_807_250_000_000)
    assert message.valid
    assert (message.latitude, message.longitude, message.altitude_m) == (41.726763333, -83.63463,
                                                                        204.3)
    assert (message.speed_mps, message.course_deg) == (0.283, 36.58)
    assert (message.quality, message.mode, message.satellites, message.hdop) == (2, 3, 6, 1.5)
    assert message.time_ns == 1_279_471_807_000_000_000
    assert message.timestamp_ns == 1_279_471_807_250_000_000
    assert message.talker == "GP"


def test_a_fix_without_a_date_has_no_utc_time() -> None:
    assert gps_fix(fix(date=None), 0).time_ns is None


def test_without_gga_the_quality_comes_from_the_mode_letter() -> None:
    assert gps_fix(fix(quality=None, mode=PositionMode.DIFFERENTIAL), 0).quality == 2
    assert gps_fix(fix(quality=None, mode=PositionMode.AUTONOMOUS), 0).quality == 1
    assert gps_fix(fix(quality=None, mode=None), 0).quality == 1


def test_without_gsa_an_altitude_means_a_3d_fix() -> None:
    assert gps_fix(fix(fix_type=None), 0).mode == 3
    assert gps_fix(fix(fix_type=None, altitude_m=None), 0).mode == 2


def test_a_loss_is_published_once_and_keeps_the_last_position() -> None:
    publication = FixPublication()
    messages = publication.update([fix(), lost(), lost(T0 + 2)])
    assert [message.valid for message in messages] == [True, False]
    loss = messages[1]
    assert (loss.latitude, loss.longitude, loss.altitude_m) == (41.726763333, -83.63463, 204.3)
    assert (loss.speed_mps, loss.satellites, loss.quality, loss.mode) == (None, None, 0, 1)
    assert loss.timestamp_ns == round((T0 + 1) * 1e9)


def test_no_fix_at_start_is_published_so_that_a_stale_retained_fix_is_replaced() -> None:
    [message] = FixPublication().update([lost()])
    assert not message.valid and message.latitude is None


def test_a_lost_device_ends_a_valid_fix_once() -> None:
    publication = FixPublication()
    publication.update([fix()])
    [message] = publication.device_lost(42)
    assert not message.valid and message.timestamp_ns == 42
    assert publication.device_lost(43) == []
    assert publication.update([lost()]) == []
    assert [message.valid for message in publication.update([fix()])] == [True]


@given(st.lists(st.sampled_from(["fix", "lost", "device_lost"]), max_size=30))
def test_every_fix_is_published_and_losses_never_twice_in_a_row(steps) -> None:
    publication = FixPublication()
    published = []
    for step in steps:
        if step == "fix":
            published += publication.update([fix()])
        elif step == "lost":
            published += publication.update([lost()])
        else:
            published += publication.device_lost(1)
    assert sum(message.valid for message in published) == steps.count("fix")
    validity = [message.valid for message in published]
    assert all(a or b for a, b in zip(validity, validity[1:]))
