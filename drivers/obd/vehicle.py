"""A simulated vehicle's ECUs: what each answers to an OBD-II request, as payload bytes.

Used by the simulated adapter (simulator.py); kept apart so that the answers (SAE J1979
semantics) and the adapter's printing (ELM327 formatting) can be read and changed separately.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

from carnel.drivers.obd.dtc import Dtc
from carnel.drivers.obd.errors import RESPONSE_PENDING, UsageError
from carnel.drivers.obd.pids import BITMAP_PIDS, encode_bitmap, encode_pid, spec_for

# ISO 3779 sample VIN used throughout public VIN documentation.
SAMPLE_VIN = "1HGCM82633A004352"


class PendingStyle(Enum):
    """How an adapter handles an ECU's 7F xx 78 (response pending)."""

    WAIT = "wait"      # prints it and keeps listening for the answer (ELM327 on CAN)
    PROMPT = "prompt"  # prints it and its prompt; the answer comes to the next identical request


@dataclass(frozen=True, slots=True)
class SimulatedEcu:
    """One ECU: its addresses, mode 01 values by PID, trouble codes, VIN and refusals.

    `can_id` is its 11-bit CAN response identifier; `address` its source address on the
    29-bit CAN and legacy protocols. `refusals` maps a service to the NRC the ECU answers it
    with; `busy_replies` is how many 7F xx 78 precede each of its answers.
    """

    can_id: int = 0x7E8
    address: int = 0x10
    values: Mapping[int, float] = field(default_factory=dict)
    stored_dtcs: tuple[Dtc, ...] = ()
    pending_dtcs: tuple[Dtc, ...] = ()
    permanent_dtcs: tuple[Dtc, ...] = ()
    vin: str | None = None
    refusals: Mapping[int, int] = field(default_factory=dict)
    busy_replies: int = 0

    def __post_init__(self) -> None:
        for pid in self.values:
            spec_for(pid)
        if self.vin is not None and len(self.vin.encode("ascii", "replace")) != 17:
            raise UsageError("bad_vin", f"a VIN has 17 characters, not {self.vin!r}")

    @property
    def supported(self) -> frozenset[int]:
        """Every mode 01 PID this ECU answers, bitmap PIDs included (J1979: 00 always)."""
        pids = set(self.values) | {0x00}
        highest = max(self.values, default=0)
        pids |= {base for base in BITMAP_PIDS if base < highest}
        return frozenset(pids)


@dataclass(frozen=True, slots=True)
class VehicleState:
    """The simulated vehicle: its ECUs, and whether its bus answers at all.

    `connected` False is the ignition off (UNABLE TO CONNECT); `bus_fault` is a message the
    adapter prints instead of any answer, e.g. "CAN ERROR" or "BUS INIT: ...ERROR".
    """

    ecus: tuple[SimulatedEcu, ...]
    connected: bool = True
    bus_fault: str | None = None

    @classmethod
    def typical(cls, *, speed_kmh: float = 50, rpm: float = 2000, coolant_c: float = 90,
                dtcs: tuple[Dtc, ...] = (), vin: str | None = SAMPLE_VIN) -> VehicleState:
        """An engine ECU with the common PIDs, plus a transmission ECU that also answers speed."""
        engine = SimulatedEcu(
            can_id=0x7E8, address=0x10,
            values={0x04: 35.3, 0x05: coolant_c, 0x0B: 45, 0x0C: rpm, 0x0D: speed_kmh, 0x0F: 25,
                    0x10: 12.5, 0x11: 18.0, 0x1F: 600, 0x2F: 62.7, 0x33: 101, 0x42: 14.2,
                    0x46: 18, 0x5C: 95},
            stored_dtcs=dtcs, vin=vin)
        transmission = SimulatedEcu(can_id=0x7E9, address=0x18, values={0x0D: speed_kmh},
                                    refusals={0x09: 0x11})
        return cls((engine, transmission))


def answer(ecu: SimulatedEcu, request: bytes, counted_dtcs: bool) -> list[bytes]:
    """The payloads `ecu` sends for `request`: none when it stays silent (an unsupported PID).

    Legacy protocols carry at most 7 data bytes a frame, so a DTC list or VIN there is several
    payloads, each repeating the service (J1979); on CAN it is one payload (`counted_dtcs`
    adds the code count CAN answers carry).
    """
    service = request[0]
    if service in ecu.refusals:
        return [bytes((0x7F, service, ecu.refusals[service]))]
    if service == 0x01 and len(request) >= 2:
        return _mode01(ecu, request[1])
    if service in (0x03, 0x07, 0x0A):
        dtcs = {0x03: ecu.stored_dtcs, 0x07: ecu.pending_dtcs, 0x0A: ecu.permanent_dtcs}[service]
        return _dtcs(service, dtcs, counted_dtcs)
    if service == 0x09 and len(request) >= 2:
        return _mode09(ecu, request[1], counted_dtcs)
    return [bytes((0x7F, service, 0x11))]


def pending_reply(request: bytes) -> bytes:
    return bytes((0x7F, request[0], RESPONSE_PENDING))


def _mode01(ecu: SimulatedEcu, pid: int) -> list[bytes]:
    if pid not in ecu.supported:
        return []
    if pid in BITMAP_PIDS:
        return [bytes((0x41, pid)) + encode_bitmap(pid, ecu.supported)]
    return [bytes((0x41, pid)) + encode_pid(pid, ecu.values[pid])]


def _dtcs(service: int, dtcs: tuple[Dtc, ...], counted: bool) -> list[bytes]:
    codes = b"".join(dtc.to_bytes() for dtc in dtcs)
    positive = service + 0x40
    if counted:
        return [bytes((positive, len(dtcs))) + codes]
    frames = [codes[i:i + 6] for i in range(0, len(codes), 6)] or [b""]
    return [bytes((positive,)) + frame.ljust(6, b"\x00") for frame in frames]


def _mode09(ecu: SimulatedEcu, pid: int, can: bool) -> list[bytes]:
    if ecu.vin is None:
        return []
    if pid == 0x00:
        return [bytes((0x49, 0x00, 0x40, 0x00, 0x00, 0x00))]
    if pid != 0x02:
        return []
    vin = ecu.vin.encode("ascii", "replace")
    if can:
        return [bytes((0x49, 0x02, 0x01)) + vin]
    padded = vin.rjust(20, b"\x00")
    return [bytes((0x49, 0x02, n + 1)) + padded[4 * n:4 * n + 4] for n in range(5)]
