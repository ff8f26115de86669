"""The signal table by example: what is published when, which source wins, what is refused."""
from __future__ import annotations

import math

from vehicle_tables import MS, S, speed, table

from carnel.ipc.schemas.vehicle import Signal, SignalValues

RANKED = {"Vehicle.Speed": {"sources": ["can", "obd", "gps"], "max_age_s": 1.0}}


def test_first_value_is_published_and_an_unchanged_one_is_not():
    signals = table()
    assert signals.report(speed(50.0), "can", 0) == speed(50.0)
    assert signals.report(speed(50.0), "can", 10 * MS) is None


def test_move_within_the_deadband_is_held_back_until_the_total_move_exceeds_it():
    signals = table(signals={"Vehicle.Speed": {"deadband": 0.5}})
    assert signals.report(speed(50.0), "can", 0) is not None
    assert signals.report(speed(50.3), "can", 1) is None
    assert signals.report(speed(50.5), "can", 2) is None
    # Measured from the value last published, so a slow creep is published eventually.
    assert signals.report(speed(50.6), "can", 3) == speed(50.6)


def test_booleans_and_strings_are_published_on_any_change_whatever_the_deadband():
    signals = table(defaults={"deadband": 10.0})
    door = "Vehicle.Cabin.Door.Row1.DriverSide.IsOpen"
    gear = "Vehicle.Powertrain.Transmission.SelectedGearName"
    assert signals.report(speed(False, path=door, unit=""), "can", 0) is not None
    assert signals.report(speed(True, path=door, unit=""), "can", 1).value is True
    assert signals.report(speed("P", path=gear, unit=""), "can", 2) is not None
    assert signals.report(speed("D", path=gear, unit=""), "can", 3).value == "D"


def test_change_held_back_by_the_rate_limit_is_published_when_the_interval_ends():
    signals = table(signals={"Vehicle.Speed": {"min_interval_s": 0.1}})
    assert signals.report(speed(10.0), "can", 0) is not None
    assert signals.report(speed(11.0), "can", 30 * MS) is None
    assert signals.report(speed(12.0), "can", 60 * MS) is None
    assert signals.poll(99 * MS) == []
    assert signals.poll(100 * MS) == [speed(12.0)]
    assert signals.poll(300 * MS) == []


def test_report_after_the_interval_publishes_a_held_change_itself_and_once():
    signals = table(signals={"Vehicle.Speed": {"min_interval_s": 0.1}})
    signals.report(speed(10.0), "can", 0)
    assert signals.report(speed(11.0), "can", 50 * MS) is None
    assert signals.report(speed(12.0), "can", 120 * MS) == speed(12.0)
    assert signals.poll(130 * MS) == []
    assert signals.poll(500 * MS) == []


def test_held_change_that_moved_back_is_not_published():
    signals = table(signals={"Vehicle.Speed": {"min_interval_s": 0.1}})
    signals.report(speed(10.0), "can", 0)
    signals.report(speed(11.0), "can", 50 * MS)
    signals.report(speed(10.0), "can", 60 * MS)
    assert signals.poll(200 * MS) == []


def test_lower_priority_source_is_ignored_while_the_better_one_is_fresh():
    signals = table(signals=RANKED)
    signals.report(speed(50.0), "can", 0)
    assert signals.report(speed(48.0, source="gps"), "gps", 10 * MS) is None
    assert signals.values(["Vehicle.Speed"]).signals == [speed(50.0)]


def test_better_source_takes_over_at_once():
    signals = table(signals=RANKED)
    signals.report(speed(48.0, source="gps"), "gps", 0)
    assert signals.report(speed(50.0), "can", 10 * MS) == speed(50.0)


def test_next_source_takes_over_when_the_winner_goes_stale_and_gives_way_when_it_is_back():
    signals = table(signals=RANKED)
    signals.report(speed(50.0), "can", 0)
    signals.report(speed(48.0, source="gps"), "gps", 0)
    signals.report(speed(49.0, source="gps"), "gps", 900 * MS)
    assert signals.poll(1000 * MS) == []
    assert signals.poll(1001 * MS) == [speed(49.0, source="gps")]
    assert signals.report(speed(51.0), "can", 1100 * MS) == speed(51.0)


def test_source_that_came_back_goes_stale_again():
    signals = table(signals=RANKED)
    signals.report(speed(50.0), "can", 0)
    assert signals.poll(2 * S)[0].stale
    assert signals.report(speed(50.0), "can", 3 * S) == speed(50.0)
    assert signals.poll(5 * S)[0].stale


def test_signal_is_published_stale_once_when_no_source_is_fresh():
    signals = table(signals=RANKED)
    signals.report(speed(50.0, timestamp_ns=7), "can", 0)
    stale = Signal(path="Vehicle.Speed", value=50.0, unit="km/h", timestamp_ns=7, source="can",
                   stale=True)
    assert signals.poll(S + 1) == [stale]
    assert signals.poll(5 * S) == []
    assert signals.values([]).signals == [stale]
    assert signals.report(speed(50.0), "can", 6 * S) == speed(50.0)


def test_when_every_source_is_stale_the_newest_value_is_shown():
    signals = table(signals=RANKED)
    signals.report(speed(50.0), "can", 0)
    signals.report(speed(47.0, source="gps"), "gps", 500 * MS)
    published = signals.poll(2 * S)
    assert [(s.value, s.source, s.stale) for s in published] == [(47.0, "gps", True)]


def test_kept_value_counts_its_age_and_is_stale_at_once_when_too_old():
    signals = table(signals=RANKED)
    assert signals.report(speed(50.0), "can", 10 * S, age_ns=2 * S) == Signal(
        path="Vehicle.Speed", value=50.0, unit="km/h", source="can", stale=True)
    assert signals.report(speed(48.0, source="gps"), "gps", 10 * S, age_ns=600 * MS) == speed(
        48.0, source="gps")
    assert signals.poll(10 * S + 400 * MS) == []
    assert signals.poll(10 * S + 401 * MS)[0].stale


def test_kept_value_expires_by_its_own_age_whatever_the_entry_said_before():
    signals = table(signals=RANKED)
    signals.report(speed(50.0), "can", 0)
    signals.report(speed(50.0), "can", 0, age_ns=800 * MS)
    assert signals.poll(201 * MS)[0].stale


def test_lost_source_is_stale_at_once_and_the_next_one_takes_over():
    signals = table(signals={**RANKED, "Vehicle.Powertrain.CombustionEngine.Speed": {}})
    signals.report(speed(50.0), "can", 0)
    signals.report(speed(48.0, source="obd"), "obd", 0)
    signals.report(speed(2000, path="Vehicle.Powertrain.CombustionEngine.Speed", unit="rpm"),
                   "can", 0)
    published = signals.source_lost("can", 10 * MS)
    assert [(s.path, s.source, s.stale) for s in published] == [
        ("Vehicle.Speed", "obd", False),
        ("Vehicle.Powertrain.CombustionEngine.Speed", "can", True),
    ]
    assert signals.source_lost("can", 20 * MS) == []
    assert signals.source_lost("nobody", 20 * MS) == []


def test_a_source_can_withdraw_one_value():
    signals = table(signals=RANKED)
    signals.report(speed(50.0, source="gps"), "gps", 0)
    withdrawn = signals.mark_stale("Vehicle.Speed", "gps", 10 * MS)
    assert (withdrawn.value, withdrawn.stale) == (50.0, True)
    assert signals.mark_stale("Vehicle.Speed", "gps", 20 * MS) is None
    assert signals.mark_stale("Vehicle.Speed", "can", 20 * MS) is None
    assert signals.mark_stale("Vehicle.Unknown", "gps", 20 * MS) is None


def test_signal_the_image_does_not_name_takes_any_source_first_heard_first():
    signals = table(defaults={"max_age_s": 1.0})
    assert signals.report(speed(50.0, source="sim"), "sim", 0) is not None
    assert signals.report(speed(51.0, source="can"), "can", 0) is None
    signals.report(speed(52.0, source="can"), "can", 500 * MS)
    assert signals.poll(S + 1) == [speed(52.0, source="can")]


def test_source_is_the_authenticated_sender_not_the_payloads_claim():
    signals = table()
    published = signals.report(speed(50.0, source="can"), "obd", 0)
    assert published.source == "obd"


def test_unit_left_out_by_the_source_is_the_signals_own():
    signals = table(signals={"Vehicle.Speed": {"unit": "km/h"}})
    assert signals.report(speed(50.0, unit=""), "can", 0).unit == "km/h"


def test_bad_reports_are_refused_and_counted_and_the_good_ones_still_count():
    signals = table(signals={"Vehicle.Speed": {"sources": ["can"], "type": "number",
                                               "unit": "km/h"}})
    assert signals.report(speed(50.0, source="gps"), "gps", 0) is None
    assert signals.report(speed("fast"), "can", 0) is None
    assert signals.report(speed(True), "can", 0) is None
    assert signals.report(speed(math.nan), "can", 0) is None
    assert signals.report(speed(math.inf), "can", 0) is None
    assert signals.report(speed(31.0, unit="mph"), "can", 0) is None
    assert signals.report(speed(1.0, path="Vehicle..Speed"), "can", 0) is None
    assert signals.report(speed(1.0, path="Speed"), "can", 0) is None
    assert signals.report(speed(50.0), "can", 0) == speed(50.0)
    assert signals.rejects == {"unlisted_source": 1, "wrong_type": 2, "not_finite": 2,
                               "wrong_unit": 1, "bad_path": 2}
    assert (signals.last_rejection.reason, signals.last_rejection.path) == ("bad_path", "Speed")


def test_type_and_unit_of_an_unnamed_signal_are_fixed_by_its_first_report():
    signals = table()
    signals.report(speed(50.0), "can", 0)
    assert signals.report(speed("fast"), "can", 1) is None
    assert signals.report(speed(31, unit="mph"), "can", 2) is None
    assert signals.report(speed(51), "can", 3) == speed(51)
    assert signals.rejects == {"wrong_type": 1, "wrong_unit": 1}


def test_boolean_signal_takes_a_dbc_flags_0_and_1():
    running = "Vehicle.Powertrain.CombustionEngine.IsRunning"
    signals = table(signals={running: {"type": "boolean"}})
    assert signals.report(speed(1, path=running, unit=""), "can", 0).value is True
    assert signals.report(speed(0, path=running, unit=""), "can", 1).value is False
    assert signals.report(speed(2, path=running, unit=""), "can", 2) is None
    assert signals.report(speed(1.0, path=running, unit=""), "can", 3) is None
    assert signals.rejects == {"wrong_type": 2}


def test_value_of_no_signal_type_is_refused_even_as_the_first():
    signals = table()
    assert signals.report(speed(None), "can", 0) is None
    assert signals.rejects == {"wrong_type": 1}


def test_table_stops_growing_at_its_limit():
    signals = table(max_signals=2)
    for index in range(3):
        signals.report(speed(1.0, path=f"Vehicle.Signal{index}"), "can", 0)
    assert signals.values(["Vehicle.Signal2"]).unknown == ["Vehicle.Signal2"]
    assert signals.rejects == {"too_many_signals": 1}


def test_values_answers_known_paths_and_names_the_unknown_ones():
    signals = table(signals=RANKED)
    signals.report(speed(50.0), "can", 0)
    rpm = speed(2000, path="Vehicle.Powertrain.CombustionEngine.Speed", unit="rpm")
    signals.report(rpm, "can", 0)
    assert signals.values(["Vehicle.Speed", "Vehicle.Nothing"]) == SignalValues(
        signals=[speed(50.0)], unknown=["Vehicle.Nothing"])
    assert signals.values([]) == SignalValues(signals=[speed(50.0), rpm])


def test_values_are_the_latest_even_when_publication_is_held_back():
    signals = table(signals={"Vehicle.Speed": {"deadband": 5.0}})
    signals.report(speed(50.0), "can", 0)
    signals.report(speed(52.0), "can", 1)
    assert signals.values(["Vehicle.Speed"]).signals == [speed(52.0)]


def test_polling_before_anything_can_expire_publishes_nothing():
    signals = table()
    assert signals.poll(0) == []
    signals.report(speed(50.0), "can", 0)
    assert signals.poll(S) == []
