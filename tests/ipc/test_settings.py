"""A process's own config from the image: typed, with errors that name the field."""
from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from carnel.ipc.settings import ConfigError, config_path, process_config


class SerialConfig(msgspec.Struct, forbid_unknown_fields=True):
    port: str = "/dev/ttyUSB0"
    baud: int = 9600


def env(config: object) -> dict[str, str]:
    return {"CARNEL_CONFIG": json.dumps(config)}


def test_config_decodes_into_the_process_type_with_defaults() -> None:
    assert process_config(SerialConfig, env({"baud": 4800})) == SerialConfig(baud=4800)
    assert process_config(SerialConfig, {}) == SerialConfig()


@pytest.mark.parametrize(("config", "message"), [
    ({"baud": "fast"}, "Expected `int`, got `str` - at `config.baud`"),
    ({"speed": 1}, "Object contains unknown field `speed` - at `config`"),
])
def test_config_error_names_the_field(config: object, message: str) -> None:
    with pytest.raises(ConfigError, match=f"^{message}$"):
        process_config(SerialConfig, env(config))


def test_relative_config_paths_are_relative_to_the_image() -> None:
    environ = {"CARNEL_IMAGE_DIR": "/etc/carnel"}
    assert config_path("drive.nmea", environ) == Path("/etc/carnel/drive.nmea")
    assert config_path("/data/drive.nmea", environ) == Path("/data/drive.nmea")
    assert config_path("drive.nmea", {}) == Path("drive.nmea")
