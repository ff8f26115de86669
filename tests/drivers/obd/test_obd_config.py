"""The `[process.obd.config]` table: what an image writes, and errors that name the field."""
from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

from carnel.drivers.obd.adapters import TcpAdapter, adapter_for
from carnel.drivers.obd.config import ObdConfig
from carnel.drivers.obd.poller import PollRate
from carnel.drivers.obd.serial_port import SerialAdapter
from carnel.drivers.obd.simulated_adapter import SimulatorAdapter
from carnel.ipc.settings import ConfigError, process_config

IMAGE = """
[process.obd.config]
source = "serial"
device = "/dev/rfcomm0"
baud = 115200
protocol = "6"
diagnostics_period_s = 120.0

[process.obd.config.poll]
vehicle_speed = 10.0
engine_speed = 10.0
coolant_temperature = 1.0
"5C" = 0.5
"""


def from_image(toml: str) -> ObdConfig:
    """What the kernel hands the process for a table, decoded the way the process does."""
    table = tomllib.loads(toml)["process"]["obd"]["config"]
    return process_config(ObdConfig, {"CARNEL_CONFIG": json.dumps(table)})


def test_an_image_table_names_the_adapter_and_the_rates_by_pid_name_or_number() -> None:
    config = from_image(IMAGE)
    assert (config.source, config.device, config.baud) == ("serial", "/dev/rfcomm0", 115200)
    assert config.elm_settings().protocol == "6"
    assert config.poll_rates() == (PollRate(0x0D, 0.1), PollRate(0x0C, 0.1), PollRate(0x05, 1.0),
                                   PollRate(0x5C, 2.0))


def test_without_a_config_it_replays_the_bundled_drive_and_polls_the_common_pids() -> None:
    config = process_config(ObdConfig, {})
    assert config.source == "simulator" and config.drive == "sim/drive.obd.jsonl"
    assert {rate.pid for rate in config.poll_rates()} >= {0x05, 0x0C, 0x0D}


@pytest.mark.parametrize(("table", "message"), [
    ({"source": "can"}, "Invalid enum value 'can' - at `config.source`"),
    ({"baud": 12345}, "baud 12345 is not one of"),
    ({"port": 0}, "Expected `int` >= 1 - at `config.port`"),
    ({"protocol": "A"}, "protocol 'A' is not one of"),
    ({"poll": {"speed": 10.0}}, "poll: 'speed' is neither a PID name"),
    ({"poll": {"0D": 10.0, "vehicle_speed": 5.0}}, "are the same PID"),
    ({"poll": {"vehicle_speed": 0.0}}, "Expected `float` > 0.0 - at `config.poll[...]`"),
    ({"poll": {"00": 1.0}}, "poll: '00' is neither"),
    ({"simulated_dtcs": ["X0301"]}, "is not a J2012 code"),
    ({"baudrate": 9600}, "unknown field `baudrate`"),
])
def test_a_config_that_does_not_fit_is_refused_naming_what_is_wrong(table: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        process_config(ObdConfig, {"CARNEL_CONFIG": json.dumps(table)})


def test_each_source_opens_its_adapter_with_paths_relative_to_the_image(monkeypatch) -> None:
    monkeypatch.setenv("CARNEL_IMAGE_DIR", "/etc/carnel")
    log = object()
    assert adapter_for(ObdConfig(source="serial", device="/dev/ttyUSB1", baud=9600), log) == \
        SerialAdapter("/dev/ttyUSB1", 9600)
    assert adapter_for(ObdConfig(source="tcp", host="10.0.0.5"), log) == TcpAdapter("10.0.0.5", 35000)
    simulator = adapter_for(ObdConfig(simulated_dtcs=["P0301"]), log)
    assert isinstance(simulator, SimulatorAdapter)
    assert simulator.path == Path("/etc/carnel/sim/drive.obd.jsonl")
    assert [dtc.code for dtc in simulator.stored_dtcs] == ["P0301"]
