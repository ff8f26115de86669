"""The vehicle signal broker: merges what the drivers report into the car's current state."""
from carnel.services.vehicle.config import SignalConfig, SignalDefaults, VehicleConfig
from carnel.services.vehicle.model import Rejection, SignalTable

__all__ = ["Rejection", "SignalConfig", "SignalDefaults", "SignalTable", "VehicleConfig"]
