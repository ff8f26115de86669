"""parse_sentence on real receivers' sentences, one type at a time, and on each rejection reason.

The sentences are quoted from the GPSD logs in data/gpsd (see SOURCES.md). Where GPSD's own
regression output decodes the same sentence, its value is the one asserted.
"""
from __future__ import annotations

import datetime

import pytest

from carnel.drivers.gps import (
    GGA,
    GLL,
    GNS,
    GSA,
    GSV,
    RMC,
    VTG,
    ZDA,
    FixQuality,
    FixType,
    NmeaError,
    PositionMode,
    Reason,
    SatelliteInView,
    checksum,
    parse_sentence,
)


def test_gga_from_a_garmin_decodes_as_gpsd_does():
    gga = parse_sentence(
        b"$GPGGA,165007.000,4143.6058,N,08338.0778,W,1,06,1.5,204.3,M,-33.7,M,,0000*67")
    assert isinstance(gga, GGA)
    assert gga.talker == "GP"
    assert gga.time == datetime.time(16, 50, 7)
    assert gga.lat == pytest.approx(41.726763333, abs=1e-9)
    assert gga.lon == pytest.approx(-83.634630000, abs=1e-9)
    assert gga.quality is FixQuality.GPS
    assert gga.satellites_used == 6
    assert gga.hdop == 1.5
    assert gga.altitude_m == 204.3
    assert gga.geoid_separation_m == -33.7
    assert gga.dgps_age_s is None
    assert gga.dgps_station == "0000"


def test_gga_without_a_fix_has_quality_invalid_and_no_position():
    gga = parse_sentence(b"$GPGGA,,,,,,0,,,,,,,,*66")
    assert isinstance(gga, GGA)
    assert gga.quality is FixQuality.INVALID
    assert (gga.time, gga.lat, gga.lon, gga.satellites_used) == (None, None, None, None)


def test_gga_reads_mediateks_no_fix_placeholder_at_the_pole():
    gga = parse_sentence(
        b"$GPGGA,235946.005,8960.000000,N,00000.000000,E,0,0,,137.000,M,13.000,M,,*49")
    assert isinstance(gga, GGA)
    assert gga.lat == 90.0
    assert gga.time == datetime.time(23, 59, 46, 5000)


def test_gga_with_a_gn_talker_from_a_ublox_f9p():
    gga = parse_sentence(
        b"$GNGGA,003956.00,4552.65403,S,17030.00668,E,1,12,0.64,14.2,M,1.8,M,,*56")
    assert isinstance(gga, GGA)
    assert gga.talker == "GN"
    assert gga.lat == pytest.approx(-45.877567167, abs=1e-9)
    assert gga.lon == pytest.approx(170.500111333, abs=1e-9)


def test_rmc_nmea_4_11_with_mode_and_navigational_status():
    rmc = parse_sentence(
        b"$GPRMC,022021.00,A,3644.759368,S,17444.072860,E,0.0,301.9,071020,18.3,E,A,V*6E")
    assert isinstance(rmc, RMC)
    assert rmc.valid is True
    assert rmc.time == datetime.time(2, 20, 21)
    assert rmc.date == datetime.date(2020, 10, 7)
    assert rmc.lat == pytest.approx(-(36 + 44.759368 / 60), abs=1e-12)
    assert rmc.lon == pytest.approx(174 + 44.072860 / 60, abs=1e-12)
    assert rmc.speed_knots == 0.0
    assert rmc.course_deg == 301.9
    assert rmc.magnetic_variation_deg == 18.3
    assert rmc.mode is PositionMode.AUTONOMOUS
    assert rmc.nav_status == "V"


def test_rmc_nmea_2_0_without_mode_and_with_westerly_variation():
    rmc = parse_sentence(b"$GPRMC,125106,V,3854.5087,N,07726.4523,W,0.0,0.0,241011,10.5,W,S*28")
    assert isinstance(rmc, RMC)
    assert rmc.valid is False
    assert rmc.magnetic_variation_deg == -10.5
    assert rmc.mode is PositionMode.SIMULATED
    assert rmc.date == datetime.date(2011, 10, 24)


def test_rmc_two_digit_years_from_80_are_the_twentieth_century():
    rmc = parse_sentence(
        b"$GPRMC,235946.005,V,8960.000000,N,00000.000000,E,0.000,0.00,050180,,,N*47")
    assert isinstance(rmc, RMC)
    assert rmc.date == datetime.date(1980, 1, 5)


def test_vtg_with_unit_letters_and_mode():
    vtg = parse_sentence(b"$GPVTG,301.9,T,283.6,M,0.0,N,0.0,K,A*27")
    assert vtg == VTG(talker="GP", course_true_deg=301.9, course_magnetic_deg=283.6,
                      speed_knots=0.0, speed_kmh=0.0, mode=PositionMode.AUTONOMOUS)


def test_vtg_in_nmea_1_5_form_without_unit_letters():
    body = b"GPVTG,054.7,034.4,005.5,010.2"
    vtg = parse_sentence(b"$" + body + b"*" + f"{checksum(body):02X}".encode())
    assert vtg == VTG(talker="GP", course_true_deg=54.7, course_magnetic_deg=34.4,
                      speed_knots=5.5, speed_kmh=10.2, mode=None)


def test_gsa_lists_the_satellites_used_and_the_dops():
    gsa = parse_sentence(b"$GPGSA,A,3,31,16,29,23,20,32,,,,,,,2.8,1.5,2.4*36")
    assert gsa == GSA(talker="GP", selection="A", fix_type=FixType.FIX_3D,
                      prns=(31, 16, 29, 23, 20, 32), pdop=2.8, hdop=1.5, vdop=2.4, system_id=None)


def test_gsa_nmea_4_11_carries_the_system_id():
    gsa = parse_sentence(b"$GNGSA,A,3,13,16,21,15,10,29,27,20,,,,,1.05,0.64,0.83,1*03")
    assert isinstance(gsa, GSA)
    assert gsa.system_id == 1
    assert len(gsa.prns) == 8


def test_gsa_without_a_fix():
    gsa = parse_sentence(b"$GPGSA,A,1,,,,,,,,,,,,,,,,*32")
    assert isinstance(gsa, GSA)
    assert gsa.fix_type is FixType.NONE
    assert gsa.prns == ()


def test_gsa_of_a_sirf_trig_ignores_its_non_standard_last_field():
    gsa = parse_sentence(b"$GPGSA,A,3,25,32,,,,,,,,,,,5.1,1.3,4.9,3.3*3D")
    assert isinstance(gsa, GSA)
    assert gsa.system_id is None
    assert gsa.vdop == 4.9


def test_gsv_lists_satellites_and_skips_empty_padding_blocks():
    gsv = parse_sentence(b"$GPGSV,3,3,11,25,20,108,00,27,08,281,00,28,17,339,39,,,,*4C")
    assert gsv == GSV(
        talker="GP", message_count=3, message_number=3, satellites_in_view=11,
        satellites=(
            SatelliteInView(prn=25, elevation_deg=20, azimuth_deg=108, snr_db=0),
            SatelliteInView(prn=27, elevation_deg=8, azimuth_deg=281, snr_db=0),
            SatelliteInView(prn=28, elevation_deg=17, azimuth_deg=339, snr_db=39),
        ),
        signal_id=None,
    )


def test_gsv_nmea_4_11_with_a_signal_id_and_an_untracked_position():
    gsv = parse_sentence(b"$GPGSV,4,4,13,46,,,50,1*61")
    assert isinstance(gsv, GSV)
    assert gsv.satellites == (
        SatelliteInView(prn=46, elevation_deg=None, azimuth_deg=None, snr_db=50),)
    assert gsv.signal_id == "1"


def test_gsv_with_no_satellites():
    gsv = parse_sentence(b"$GPGSV,1,1,00*79")
    assert isinstance(gsv, GSV)
    assert (gsv.satellites_in_view, gsv.satellites) == (0, ())


def test_gll_valid_with_mode():
    gll = parse_sentence(b"$GNGLL,4552.65403,S,17030.00668,E,003956.00,A,A*6C")
    assert isinstance(gll, GLL)
    assert gll.valid is True
    assert gll.time == datetime.time(0, 39, 56)
    assert gll.mode is PositionMode.AUTONOMOUS
    assert gll.lat == pytest.approx(-45.877567167, abs=1e-9)


def test_gll_void_without_a_position():
    gll = parse_sentence(b"$GPGLL,,,,,030851.00,V,N*45")
    assert gll == GLL(talker="GP", lat=None, lon=None, time=datetime.time(3, 8, 51),
                      valid=False, mode=PositionMode.NOT_VALID)


def test_gll_in_nmea_1_5_form_has_no_time_or_status():
    body = b"GPGLL,3348.452,N,11821.142,W"
    gll = parse_sentence(b"$" + body + b"*" + f"{checksum(body):02X}".encode())
    assert isinstance(gll, GLL)
    assert (gll.time, gll.valid, gll.mode) == (None, None, None)
    assert gll.lon == pytest.approx(-(118 + 21.142 / 60))


def test_zda_gives_the_full_date():
    zda = parse_sentence(b"$GPZDA,081411.000,26,05,2014,,*5D")
    assert zda == ZDA(talker="GP", time=datetime.time(8, 14, 11),
                      date=datetime.date(2014, 5, 26), zone_hours=None, zone_minutes=None)


def test_gns_of_a_sirf_trig_before_its_first_fix():
    gns = parse_sentence(b"$GNGNS,074150.799,,,,,NNNN,00,,,0.0,,0000*63")
    assert isinstance(gns, GNS)
    assert gns.modes == (PositionMode.NOT_VALID,) * 4
    assert gns.satellites_used == 0
    assert gns.geoid_separation_m == 0.0
    assert gns.dgps_station == "0000"


def test_any_talker_is_accepted_for_a_known_type():
    for talker in (b"GP", b"GN", b"GL", b"GA", b"GB", b"BD", b"GQ", b"IN"):
        body = talker + b"GLL,,,,,030851.00,V,N"
        sentence = parse_sentence(b"$" + body + b"*" + f"{checksum(body):02X}".encode())
        assert sentence.talker == talker.decode()


def test_checksum_is_the_xor_of_the_body():
    assert checksum(b"GPGSV,1,1,00") == 0x79
    assert checksum(b"") == 0
    long_body = bytes(range(32, 127)) * 3
    expected = 0
    for byte in long_body:
        expected ^= byte
    assert checksum(long_body) == expected


def test_lowercase_checksum_digits_are_accepted():
    gsa = parse_sentence(b"$GNGSA,A,3,82,66,81,,,,,,,,,,1.05,0.64,0.83,2*0c")
    assert isinstance(gsa, GSA)
    assert gsa.system_id == 2


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"$GPGGA,165007.000,4143.6058,N,08338.0778,W,1,06,1.5,204.3,M,-33.7,M,,0000*66",
         Reason.CHECKSUM),
        (b"$GPGGA,165007.000,4143.6058,N,08338.0778,W,1,06,1.5,204.3,M,-33.7,M,,0000",
         Reason.CHECKSUM),
        (b"$GPGSV,1,1,00*7G", Reason.CHECKSUM),
        (b"$GPGGA,132820.60,4134.49821229,N,09345.03351845,W,2,09,1.0,278.020,M,-31.442,M,"
         b"7.6,0133*7E", Reason.TOO_LONG),
        (b"GPGSV,1,1,00*79", Reason.MALFORMED),
        (b"", Reason.MALFORMED),
        (b"$PGRME,9.1,M,15.0,M,12.0,M*21", Reason.UNSUPPORTED),
        (b"$POLYN,TIME,RESTART_OCCURRED", Reason.UNSUPPORTED),
        (b"$GPRMB,V,,,,,,,,,,,,A,S*0E", Reason.UNSUPPORTED),
        (b"!AIVDM,2,2,9,B,`88888888888880,2*76", Reason.UNSUPPORTED),
        (b"$GPGSA,A,1,,,,*32", Reason.MALFORMED),
        (b"$GPRMC,000231.099,A,4829.0005,N,00022.0015,E,0.15,212.28,2208-1,,,A*73",
         Reason.BAD_FIELD),
        (b"$GPRMC,000416.984,V,36000.0000,N,72000.0000,E,0.000000,,260120,,*3B", Reason.BAD_FIELD),
    ],
)
def test_rejections_carry_a_stable_reason(line, reason):
    with pytest.raises(NmeaError) as caught:
        parse_sentence(line)
    assert caught.value.reason is reason
    assert caught.value.detail


def test_a_longer_limit_accepts_a_receiver_that_exceeds_82_characters():
    line = b"$GPGGA,202640.000,4404.1306,N,12118.8515,W,2,10,0.98,1127.7,M,-19.6,M,0000,0000*6C"
    with pytest.raises(NmeaError) as caught:
        parse_sentence(line)
    assert caught.value.reason is Reason.TOO_LONG
    gga = parse_sentence(line, max_length=90)
    assert isinstance(gga, GGA)
    assert gga.quality is FixQuality.DGPS


def _framed(body: bytes) -> bytes:
    return b"$" + body + b"*" + f"{checksum(body):02X}".encode()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"GPGGA,256007.000,4143.6058,N,08338.0778,W,1,06,1.5,204.3,M,-33.7,M,,", "time"),
        (b"GPGGA,165007.000,4143.6058,X,08338.0778,W,1,06,1.5,204.3,M,-33.7,M,,",
         "lat_hemisphere"),
        (b"GPGGA,165007.000,4163.6058,N,08338.0778,W,1,06,1.5,204.3,M,-33.7,M,,", "lat"),
        (b"GPGGA,165007.000,4143.6058,N,18338.0778,W,1,06,1.5,204.3,M,-33.7,M,,", "lon"),
        (b"GPGGA,165007.000,4143.6058,N,08338.0778,W,9,06,1.5,204.3,M,-33.7,M,,", "quality"),
        (b"GPGGA,165007.000,4143.6058,N,08338.0778,W,1,06,nan,204.3,M,-33.7,M,,", "hdop"),
        (b"GPGGA,165007.000,4143.6058,N,08338.0778,W,1,x6,1.5,204.3,M,-33.7,M,,",
         "satellites_used"),
        (b"GPRMC,165007.000,Q,4143.6058,N,08338.0778,W,0.55,36.58,180710,,,A", "status"),
        (b"GPRMC,165007.000,A,4143.6058,N,08338.0778,W,0.55,36.58,310210,,,A", "date"),
        (b"GPRMC,165007.000,A,4143.6058,N,08338.0778,W,-0.55,36.58,180710,,,A", "speed"),
        (b"GPRMC,165007.000,A,4143.6058,N,08338.0778,W,0.55,36.58,180710,,,Z", "mode"),
        (b"GPGSA,A,4,31,16,29,23,20,32,,,,,,,2.8,1.5,2.4", "fix_type"),
        (b"GPGSV,3,4,10,16,74,173,27", "message_number"),
        (b"GPGSV,3,1,10,16,74,1x3,27", "azimuth"),
        (b"GPZDA,081411.000,30,02,2014,,", "date"),
    ],
)
def test_bad_fields_are_named_in_the_detail(body, field):
    with pytest.raises(NmeaError) as caught:
        parse_sentence(_framed(body))
    assert caught.value.reason is Reason.BAD_FIELD
    assert caught.value.detail.startswith(field + "=")


def test_a_leap_second_reads_as_the_last_instant_before_it():
    gga = parse_sentence(_framed(b"GPGGA,235960.00,,,,,0,,,,,,,,"))
    assert isinstance(gga, GGA)
    assert gga.time == datetime.time(23, 59, 59, 999_999)


def test_control_characters_inside_a_checksummed_sentence_are_malformed():
    with pytest.raises(NmeaError) as caught:
        parse_sentence(_framed(b"GPGGA,165007.000,\t,,,,0,,,,,,,,"))
    assert caught.value.reason is Reason.MALFORMED
