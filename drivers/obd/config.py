"""The obd process's `[process.obd.config]` table: where the adapter is and what to read how often.

    [process.obd.config]
    source = "serial"            # "serial" | "tcp" | "simulator"
    device = "/dev/rfcomm0"      # serial
    baud = 38400
    host = "192.168.0.10"        # tcp (WiFi adapters)
    port = 35000
    drive = "sim/drive.obd.jsonl"  # simulator; relative to the image file
    protocol = "0"               # ELM327 protocol number, "0" searches
    diagnostics_period_s = 60.0  # trouble codes and VIN

    [process.obd.config.poll]    # Hz, by PID name (as in `obd.signals.<name>`) or number
    vehicle_speed = 10.0
    engine_speed = 10.0
    coolant_temperature = 1.0
    "5C" = 0.5

Every field has a default, so the process also runs by hand without a kernel.
"""
from __future__ import annotations

import re
from typing import Annotated, Literal

import msgspec

from carnel.drivers.obd.dtc import Dtc
from carnel.drivers.obd.elm import SELECTABLE_PROTOCOLS
from carnel.drivers.obd.errors import UsageError
from carnel.drivers.obd.pids import PIDS
from carnel.drivers.obd.poller import PollRate
from carnel.drivers.obd.serial_port import BAUD_RATES
from carnel.drivers.obd.settings import ElmSettings
from carnel.drivers.obd.vehicle import SAMPLE_VIN

_PID_NUMBER = re.compile(r"(?:0[xX])?([0-9A-Fa-f]{2})")
_PID_BY_NAME = {spec.name: spec.pid for spec in PIDS.values()}

Hertz = Annotated[float, msgspec.Meta(gt=0, le=100)]


def _default_poll() -> dict[str, float]:
    return {
        "vehicle_speed": 10.0, "engine_speed": 10.0, "engine_load": 2.0, "throttle_position": 2.0,
        "coolant_temperature": 1.0, "intake_air_temperature": 0.5, "engine_oil_temperature": 0.5,
        "control_module_voltage": 0.5, "fuel_level": 0.1, "ambient_air_temperature": 0.1,
    }


def pid_for_key(key: str) -> int:
    """The PID a poll key names: a PID name from pids.py, or its number ("0D", "0x0D")."""
    pid = _PID_BY_NAME.get(key)
    number = _PID_NUMBER.fullmatch(key)
    if pid is None and number is not None:
        pid = int(number[1], 16)
    if pid not in PIDS:
        raise UsageError("unknown_pid", f"poll: {key!r} is neither a PID name "
                                        f"({', '.join(sorted(_PID_BY_NAME))}) nor a PID number "
                                        "with a formula, like \"0D\"")
    return pid


class ObdConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The obd driver's settings; see the module docstring for an image's table."""

    source: Literal["serial", "tcp", "simulator"] = "simulator"
    device: str = "/dev/rfcomm0"
    baud: int = 38400
    host: str = "192.168.0.10"
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 35000
    drive: str = "sim/drive.obd.jsonl"
    protocol: str = "0"
    poll: dict[str, Hertz] = msgspec.field(default_factory=_default_poll)
    diagnostics_period_s: Annotated[float, msgspec.Meta(gt=0)] = 60.0
    simulated_vin: str = SAMPLE_VIN
    simulated_dtcs: list[str] = []

    def __post_init__(self) -> None:
        # msgspec reports a ValueError raised here as a validation error of the config.
        if self.baud not in BAUD_RATES:
            raise ValueError(f"baud {self.baud} is not one of {sorted(BAUD_RATES)}")
        if self.protocol not in SELECTABLE_PROTOCOLS:
            raise ValueError(f"protocol {self.protocol!r} is not one of {sorted(SELECTABLE_PROTOCOLS)}")
        try:
            self.poll_rates()
            for code in self.simulated_dtcs:
                Dtc(code)
        except UsageError as error:
            raise ValueError(error.detail) from None
        if len(self.simulated_vin) != 17:
            raise ValueError(f"simulated_vin {self.simulated_vin!r} does not have 17 characters")

    def poll_rates(self) -> tuple[PollRate, ...]:
        """One PollRate per polled PID; a PID named twice (by name and number) is an error."""
        pids: dict[int, str] = {}
        for key in self.poll:
            pid = pid_for_key(key)
            if pid in pids:
                raise UsageError("bad_rate", f"poll: {key!r} and {pids[pid]!r} are the same PID")
            pids[pid] = key
        return tuple(PollRate(pid, 1.0 / self.poll[key]) for pid, key in pids.items())

    def elm_settings(self) -> ElmSettings:
        return ElmSettings(protocol=self.protocol)
