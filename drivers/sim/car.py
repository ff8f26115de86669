"""The simulated car's specification and the kinematics that follow from it.

A mid-size petrol hatchback with a six-speed automatic: the figures are typical of the class,
not of any one model.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

GRAVITY_MPS2 = 9.81
AIR_DENSITY_KGPM3 = 1.2


@dataclass(frozen=True, slots=True)
class WheelSpeeds:
    front_left_kmh: float
    front_right_kmh: float
    rear_left_kmh: float
    rear_right_kmh: float


@dataclass(frozen=True, slots=True)
class CarSpec:
    mass_kg: float = 1450.0
    drag_area_m2: float = 0.68  # Cd x frontal area
    rolling_resistance: float = 0.011
    tyre_radius_m: float = 0.31  # 205/55 R16 under load
    gear_ratios: tuple[float, ...] = (4.17, 2.34, 1.52, 1.14, 0.87, 0.69)
    final_drive: float = 3.7
    driveline_efficiency: float = 0.9
    # Gear changes by road speed, with hysteresis: up from gear n at upshift_kmh[n-1], down
    # from gear n+1 at downshift_kmh[n-1].
    upshift_kmh: tuple[float, ...] = (15.0, 25.0, 36.0, 47.0, 60.0)
    downshift_kmh: tuple[float, ...] = (8.0, 17.0, 27.0, 38.0, 50.0)
    # Pressing harder holds a gear longer, as an automatic's shift map does.
    upshift_delay_kmh_per_pct: float = 0.25
    upshift_delay_from_pct: float = 20.0
    idle_rpm: float = 800.0
    cold_idle_rpm: float = 1150.0
    # Torque the converter lets the engine rev to before the wheels catch up, per % throttle.
    converter_rpm_per_pct: float = 9.0
    peak_torque_nm: float = 250.0
    peak_torque_from_rpm: float = 1500.0
    idle_torque_nm: float = 120.0
    tank_l: float = 50.0
    thermostat_c: float = 90.0
    wheelbase_m: float = 2.65
    track_m: float = 1.55
    steering_ratio: float = 15.0

    def rpm_per_mps(self, gear: int) -> float:
        """Engine revolutions per minute for each m/s of road speed in `gear` (1-based)."""
        wheel_rpm_per_mps = 60.0 / (2.0 * math.pi * self.tyre_radius_m)
        return wheel_rpm_per_mps * self.gear_ratios[gear - 1] * self.final_drive

    def road_load_n(self, speed_mps: float) -> float:
        """Force to hold a speed on the level: rolling resistance and drag."""
        if speed_mps <= 0.0:
            return 0.0
        rolling = self.mass_kg * GRAVITY_MPS2 * self.rolling_resistance
        return rolling + 0.5 * AIR_DENSITY_KGPM3 * self.drag_area_m2 * speed_mps ** 2

    def max_torque_nm(self, rpm: float) -> float:
        """Full-load torque of the turbocharged engine: builds from idle to a plateau."""
        rise = (rpm - self.idle_rpm) / (self.peak_torque_from_rpm - self.idle_rpm)
        rise = min(max(rise, 0.0), 1.0)
        return self.idle_torque_nm + (self.peak_torque_nm - self.idle_torque_nm) * rise

    def steering_wheel_deg(self, curvature_per_m: float) -> float:
        """Steering wheel angle for a path curvature (bicycle model), positive to the left."""
        return math.degrees(math.atan(self.wheelbase_m * curvature_per_m)) * self.steering_ratio

    def wheel_speeds(self, speed_mps: float, curvature_per_m: float) -> WheelSpeeds:
        """Each wheel's speed: in a bend the outer wheels cover more ground than the inner."""
        half_track = self.track_m / 2.0
        left = speed_mps * (1.0 - curvature_per_m * half_track) * 3.6
        right = speed_mps * (1.0 + curvature_per_m * half_track) * 3.6
        return WheelSpeeds(left, right, left, right)


SIM_CAR = CarSpec()
