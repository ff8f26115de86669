"""The gps driver's process: `python -m carnel.drivers.gps`, configured by the image."""
from carnel.drivers.gps.config import GpsConfig
from carnel.drivers.gps.service import build_service
from carnel.ipc import run
from carnel.ipc.settings import ConfigError, process_config

try:
    config = process_config(GpsConfig)
except ConfigError as exc:
    raise SystemExit(f"gps: {exc}") from None
run(build_service(config))
