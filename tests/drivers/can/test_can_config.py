from __future__ import annotations

import json
import textwrap
import tomllib

import pytest
from hypothesis import given
from hypothesis import strategies as st

import carnel.drivers.can.config as config_module
from carnel.drivers.can.config import CanConfig
from carnel.drivers.can.signals import SignalMapping
from carnel.ipc.settings import ConfigError, process_config


def from_image(toml: str) -> CanConfig:
    """The config the kernel would hand the `can` process for an image holding `toml`."""
    table = tomllib.loads(toml)["process"]["can"]["config"]
    return process_config(CanConfig, {"CARNEL_CONFIG": json.dumps(table)})


def documented_example() -> str:
    doc = config_module.__doc__ or ""
    indented = [line for line in doc.splitlines() if line.startswith("    ")]
    return textwrap.dedent("\n".join(indented))


def test_the_documented_example_is_a_valid_config() -> None:
    config = from_image(documented_example())
    assert config == CanConfig(
        source="candump",
        file="drive.log",
        interface="can0",
        loop=True,
        rate=1.0,
        dbc="car.dbc",
        signals={"Vehicle.Speed": "ENGINE_DATA.VehicleSpeed"},
    )
    assert config.decoder_config().signals == (
        SignalMapping(message="ENGINE_DATA", signal="VehicleSpeed", output="Vehicle.Speed"),
    )
    assert config.device == "candump:drive.log"


def test_a_car_reads_its_interface_at_the_logged_rate() -> None:
    config = from_image(
        """
        [process.can.config]
        dbc = "/etc/carnel/car.dbc"
        [process.can.config.signals]
        "Vehicle.Speed" = "ENGINE_DATA.VehicleSpeed"
        "Vehicle.Powertrain.CombustionEngine.Speed" = "ENGINE_DATA.EngineSpeed"
        """
    )
    assert (config.source, config.interface, config.device) == ("socketcan", "can0", "socketcan:can0")
    assert [m.output for m in config.decoder_config().signals] == [
        "Vehicle.Speed",
        "Vehicle.Powertrain.CombustionEngine.Speed",
    ]


@pytest.mark.parametrize("rate", ['"max"', "0", "0.0"])
def test_max_and_zero_rates_mean_as_fast_as_possible(rate: str) -> None:
    config = from_image(f'[process.can.config]\nrate = {rate}\ndbc = "a.dbc"\nsignals = {{ "V" = "M.S" }}\n')
    assert config.replay_rate == 0.0


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"signals": {"V": "M.S"}}, "no_dbc: dbc names the DBC file that says how to decode frames - at `config`"),
        ({"dbc": "a.dbc"}, "no_signals: signals maps VSS paths to DBC signals; it is empty - at `config`"),
        (
            {"dbc": "a.dbc", "signals": {"V": "M.S"}, "source": "asc"},
            "no_file: source 'asc' replays a log: set file - at `config`",
        ),
        (
            {"dbc": "a.dbc", "signals": {"V": "M.S"}, "interface": ""},
            "no_interface: source 'socketcan' reads an interface: set interface - at `config`",
        ),
        (
            {"dbc": "a.dbc", "signals": {"V": "M.S.X"}},
            "bad_mapping: signals.'V' = 'M.S.X' is not 'MESSAGE.SIGNAL' (DBC names) - at `config`",
        ),
        ({"dbc": "a.dbc", "signals": {"V": "M.S"}, "rate": -1}, "Expected `float` >= 0.0 - at `config.rate`"),
        ({"dbc": "a.dbc", "signals": {"V": "M.S"}, "rate": "fast"}, "Invalid enum value 'fast' - at `config.rate`"),
        ({"dbc": "a.dbc", "signals": {"V": "M.S"}, "source": "usb"}, "Invalid enum value 'usb' - at `config.source`"),
        (
            {"dbc": "a.dbc", "signals": {"V": "M.S"}, "interfce": "can1"},
            "Object contains unknown field `interfce` - at `config`",
        ),
    ],
)
def test_a_table_that_does_not_fit_names_what_is_wrong(table: dict, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        process_config(CanConfig, {"CARNEL_CONFIG": json.dumps(table)})
    assert str(caught.value) == message


@given(st.dictionaries(st.text(max_size=12), st.text(alphabet="AB._", max_size=8), min_size=1, max_size=6))
def test_any_signal_table_decodes_to_its_mappings_or_is_refused(signals: dict[str, str]) -> None:
    try:
        config = process_config(CanConfig, {"CARNEL_CONFIG": json.dumps({"dbc": "a.dbc", "signals": signals})})
    except ConfigError as exc:
        assert str(exc).startswith("bad_mapping: ")
        return
    mappings = config.decoder_config().signals
    assert {m.output: f"{m.message}.{m.signal}" for m in mappings} == signals
    assert all(m.message and m.signal and "." not in m.signal for m in mappings)
