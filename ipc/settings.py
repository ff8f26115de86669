"""The one place that reads carnel's environment variables.

The kernel hands every process its bus endpoint and name through the environment (never argv,
which any user can read in /proc). The run directory holds the bus socket and the logs.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ENV_BUS = "CARNEL_BUS"
ENV_NAME = "CARNEL_NAME"
ENV_RUN_DIR = "CARNEL_RUN_DIR"
ENV_PURE = "CARNEL_PURE"
ENV_LOG_FORMAT = "CARNEL_LOG_FORMAT"


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
