"""The vehicle signal broker process: `python -m carnel.services.vehicle`."""
from carnel.ipc import run
from carnel.ipc.settings import ConfigError, process_config
from carnel.services.vehicle.config import VehicleConfig
from carnel.services.vehicle.service import VehicleBroker

try:
    config = process_config(VehicleConfig)
except ConfigError as exc:
    raise SystemExit(f"vehicle: {exc}") from None
run(VehicleBroker(config).service)
