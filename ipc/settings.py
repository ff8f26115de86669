"""The one place that reads carnel's environment variables.

The kernel hands every process its bus endpoint and name through the environment (never argv,
which any user can read in /proc). The run directory holds the bus socket and the logs.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import msgspec

ENV_BUS = "CARNEL_BUS"
ENV_NAME = "CARNEL_NAME"
ENV_RUN_DIR = "CARNEL_RUN_DIR"
ENV_PURE = "CARNEL_PURE"
ENV_LOG_FORMAT = "CARNEL_LOG_FORMAT"
ENV_CONFIG = "CARNEL_CONFIG"
ENV_IMAGE_DIR = "CARNEL_IMAGE_DIR"

T = TypeVar("T")


class ConfigError(ValueError):
    """A process's `[process.NAME.config]` table does not fit the Struct the process expects."""


def run_dir(environ: os._Environ | dict = os.environ) -> Path:
    """$CARNEL_RUN_DIR, else $XDG_RUNTIME_DIR/carnel, else /run/carnel."""
    if environ.get(ENV_RUN_DIR):
        return Path(environ[ENV_RUN_DIR])
    if environ.get("XDG_RUNTIME_DIR"):
        return Path(environ["XDG_RUNTIME_DIR"]) / "carnel"
    return Path("/run/carnel")


def bus_endpoint(directory: Path) -> str:
    return f"ipc://{directory / 'bus.sock'}"


@dataclass(frozen=True, slots=True)
class ProcessSettings:
    """What a process spawned by the kernel is told about itself."""

    name: str
    bus: str
    log_format: str  # "json" (collected by the kernel) or "console"

    @classmethod
    def from_env(cls, default_name: str | None = None, environ=os.environ) -> ProcessSettings:
        name = environ.get(ENV_NAME) or default_name
        if not name:
            raise SystemExit(f"carnel: {ENV_NAME} is not set and the service has no name")
        bus = environ.get(ENV_BUS) or bus_endpoint(run_dir(environ))
        return cls(name=name, bus=bus, log_format=environ.get(ENV_LOG_FORMAT, "console"))


def process_config(config_type: type[T], environ=os.environ) -> T:
    """This process's `[process.NAME.config]` from the image, decoded into `config_type`.

    Without a kernel (run by hand) the config is empty, so every field needs a default to run
    that way. A mismatch raises ConfigError naming the field, e.g. "config.baud: Expected `int`".
    """
    raw = environ.get(ENV_CONFIG) or "{}"
    try:
        return msgspec.json.decode(raw, type=config_type)
    except msgspec.ValidationError as exc:
        # msgspec says "... - at `$.port`"; name the field as the image spells it.
        message = str(exc).replace("`$", "`config")
        raise ConfigError(message if " - at `" in message else f"{message} - at `config`") from None
    except msgspec.DecodeError as exc:
        raise ConfigError(f"{ENV_CONFIG} is not JSON: {exc}") from None


def config_path(value: str | os.PathLike, environ=os.environ) -> Path:
    """A path from a process's config: relative paths are relative to the image's directory."""
    path = Path(value).expanduser()
    if path.is_absolute() or not environ.get(ENV_IMAGE_DIR):
        return path
    return Path(environ[ENV_IMAGE_DIR]) / path
