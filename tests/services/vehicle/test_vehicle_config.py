"""The vehicle service's table in the image: how it reads, what it inherits, what it refuses."""
from __future__ import annotations

import json
import tomllib

import pytest

from carnel.ipc.settings import ConfigError, process_config
from carnel.services.vehicle import VehicleConfig
from carnel.services.vehicle.config import DEFAULT_MAX_AGE_S

IMAGE = """
[process.vehicle]
module = "carnel.services.vehicle"

[process.vehicle.config.defaults]
max_age_s = 3.0

[process.vehicle.config.signals."Vehicle.Speed"]
sources = ["can", "obd", "gps"]
type = "number"
unit = "km/h"
deadband = 0.5
min_interval_s = 0.1
max_age_s = 2.0

[process.vehicle.config.signals."Vehicle.Powertrain.CombustionEngine.Speed"]
sources = ["can", "obd"]
deadband = 25
"""


def config_from(table: dict) -> VehicleConfig:
    return process_config(VehicleConfig, {"CARNEL_CONFIG": json.dumps(table)})


def image_config() -> VehicleConfig:
    return config_from(tomllib.loads(IMAGE)["process"]["vehicle"]["config"])


def test_a_signals_rules_come_from_its_table_then_defaults_then_built_in_values():
    config = image_config()
    speed = config.rules_for("Vehicle.Speed")
    assert (speed.sources, speed.type, speed.unit) == (("can", "obd", "gps"), "number", "km/h")
    assert (speed.deadband, speed.min_interval_ns, speed.max_age_ns) == (0.5, 10**8, 2 * 10**9)
    rpm = config.rules_for("Vehicle.Powertrain.CombustionEngine.Speed")
    assert (rpm.sources, rpm.type, rpm.unit, rpm.deadband) == (("can", "obd"), None, "", 25)
    assert (rpm.min_interval_ns, rpm.max_age_ns) == (0, 3 * 10**9)
    other = config.rules_for("Vehicle.Cabin.Door.Row1.DriverSide.IsOpen")
    assert (other.sources, other.deadband, other.max_age_ns) == (None, 0.0, 3 * 10**9)


def test_without_a_config_every_signal_gets_the_built_in_rules():
    rules = process_config(VehicleConfig, {}).rules_for("Vehicle.Speed")
    assert (rules.sources, rules.deadband, rules.min_interval_ns) == (None, 0.0, 0)
    assert rules.max_age_ns == DEFAULT_MAX_AGE_S * 10**9


def speed(**rules: object) -> dict:
    return {"signals": {"Vehicle.Speed": rules}}


IN_SPEED = r"- at `config.signals\[...\]"  # msgspec does not name a dict's key


@pytest.mark.parametrize(("table", "message"), [
    ({"signals": {"Speed": {}}}, "a signal path is Vehicle.<name>"),
    ({"signals": {"Vehicle.Speed ": {}}}, "Vehicle.Speed "),
    (speed(sources=["can", "can"]), "lists a source twice"),
    (speed(deadband=-1), rf">= 0.0 {IN_SPEED}.deadband`"),
    (speed(max_age_s=0), rf"> 0.0 {IN_SPEED}.max_age_s`"),
    (speed(type="float"), rf"Invalid enum value 'float' {IN_SPEED}.type`"),
    (speed(deadbnad=1), "unknown field `deadbnad`"),
    ({"defaults": {"unit": "km/h"}}, "unknown field `unit` - at `config.defaults`"),
    ({"poll_interval_s": 0}, "at `config.poll_interval_s`"),
])
def test_config_errors_name_what_is_wrong(table, message):
    with pytest.raises(ConfigError, match=message):
        config_from(table)
