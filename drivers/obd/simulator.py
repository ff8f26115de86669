"""A simulated ELM327 adapter as pure logic: command bytes in, the adapter's output bytes out.

It answers from a VehicleState and prints the way an ELM327 does (data sheet v2.x): echo,
linefeeds, spaces and headers as set by ATE/ATL/ATS/ATH, `SEARCHING...` on the first request
of an automatic search, the ISO 15765-4 multi-frame layouts with and without headers, and the
`>` prompt. The dev image runs it behind the same session as a real adapter.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from carnel.drivers.obd.vehicle import PendingStyle, SimulatedEcu, VehicleState, answer, pending_reply

_CAN_11BIT = frozenset("68BC")
_CAN_29BIT = frozenset("79")
_LEGACY = frozenset("12345")
_PROTOCOL_NAMES = {
    "1": "SAE J1850 PWM", "2": "SAE J1850 VPW", "3": "ISO 9141-2", "4": "ISO 14230-4 (KWP 5BAUD)",
    "5": "ISO 14230-4 (KWP FAST)", "6": "ISO 15765-4 (CAN 11/500)", "7": "ISO 15765-4 (CAN 29/500)",
    "8": "ISO 15765-4 (CAN 11/250)", "9": "ISO 15765-4 (CAN 29/250)", "B": "USER1 CAN (11* /125)",
    "C": "USER2 CAN (11* /50)",
}
# AT commands accepted with OK and otherwise ignored (timing, filters, CAN formatting).
_ACCEPTED = re.compile(r"AT(AT[0-2]|ST[0-9A-F]{2}|CAF[01]|CFC[01]|AL|NL|M[01]|D[01]|V[01]|R[01]|"
                       r"SH[0-9A-F]{3,8}|CRA[0-9A-F]*|AR|FE|WS|PC)")
_OBD_REQUEST = re.compile(r"((?:[0-9A-F]{2})+?)([0-9A-F]?)")


@dataclass(frozen=True, slots=True)
class AdapterConfig:
    """The adapter's power-up settings and its quirks.

    `protocol` is the one the vehicle's bus speaks. `refused` lists AT commands (without `AT`,
    first letter and digit, e.g. "S0") that this clone answers with `?`. `can_padding` is the byte
    ECUs pad CAN frames with (None: printed unpadded, as most adapters show it).
    """

    protocol: str = "6"
    version: str = "ELM327 v1.5"
    echo: bool = True
    linefeeds: bool = False
    spaces: bool = True
    headers: bool = False
    pending_style: PendingStyle = PendingStyle.WAIT
    refused: frozenset[str] = frozenset()
    can_padding: int | None = None


@dataclass(slots=True)
class _Formatting:
    echo: bool
    linefeeds: bool
    spaces: bool
    headers: bool
    protocol: str = "0"
    connected_protocol: str | None = None


@dataclass(slots=True)
class SimulatedElm327:
    """Feed it what a session writes; it returns what an ELM327 would print back."""

    vehicle: VehicleState
    config: AdapterConfig = field(default_factory=AdapterConfig)
    _state: _Formatting = field(init=False)
    _line: bytearray = field(init=False, default_factory=bytearray)
    _last: str = field(init=False, default="")
    _busy_sent: dict[tuple[int, bytes], int] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._state = self._defaults()

    def receive(self, data: bytes) -> bytes:
        out = bytearray()
        for byte in data:
            if byte == 0x0D:
                out += self._command(self._line.decode("latin-1"))
                self._line.clear()
            elif byte != 0x0A:
                self._line.append(byte)
        return bytes(out)

    # --- commands --------------------------------------------------------------------------------

    def _defaults(self) -> _Formatting:
        c = self.config
        return _Formatting(c.echo, c.linefeeds, c.spaces, c.headers)

    def _command(self, raw: str) -> bytes:
        echo = raw + self._eol() if self._state.echo else ""
        command = raw.replace(" ", "").upper()
        if not command:
            command = self._last
        self._last = command
        if command == "ATZ":
            self._state = self._defaults()
            self._busy_sent.clear()
            return (echo + self._eol() * 2 + self.config.version + self._eol() * 2 + ">").encode("latin-1")
        lines = self._at(command) if command.startswith("AT") else self._obd(command)
        return (echo + "".join(line + self._eol() for line in lines) + self._eol() + ">").encode("latin-1")

    def _eol(self) -> str:
        return "\r\n" if self._state.linefeeds else "\r"

    def _at(self, command: str) -> list[str]:
        body = command[2:]
        state = self._state
        if body[:2] in self.config.refused:
            return ["?"]
        toggles = {"E": "echo", "L": "linefeeds", "S": "spaces", "H": "headers"}
        if len(body) == 2 and body[0] in toggles and body[1] in "01":
            setattr(state, toggles[body[0]], body[1] == "1")
            return ["OK"]
        protocol = re.fullmatch(r"(?:SP|TP)A?([0-9A-C])", body)
        if protocol is not None:
            state.protocol = protocol[1]
            state.connected_protocol = None
            return ["OK"]
        if body == "D":
            self._state = self._defaults()
            return ["OK"]
        if body == "DPN":
            found = state.connected_protocol
            if state.protocol == "0":
                return ["A" + (found or "0")]
            return [state.protocol]
        if body == "DP":
            name = _PROTOCOL_NAMES.get(state.connected_protocol or state.protocol, "AUTO")
            return ["AUTO, " + name if state.protocol == "0" else name]
        if body == "I":
            return [self.config.version]
        if body == "@1":
            return ["OBDII to RS232 Interpreter"]
        if body == "RV":
            return ["12.6V"]
        if _ACCEPTED.fullmatch(command):
            return ["OK"]
        return ["?"]

    def _obd(self, command: str) -> list[str]:
        request = _OBD_REQUEST.fullmatch(command)
        if request is None:
            return ["?"]
        lines = self._connect()
        if self._state.connected_protocol is None:
            return lines
        if self.vehicle.bus_fault is not None:
            return lines + [self.vehicle.bus_fault]
        payload = bytes.fromhex(request[1])
        printed = [line for index, ecu in enumerate(self.vehicle.ecus)
                   for line in self._ecu_lines(index, ecu, payload)]
        return lines + (printed or ["NO DATA"])

    def _connect(self) -> list[str]:
        """The progress lines of the first request; afterwards the protocol stays connected."""
        state = self._state
        if state.connected_protocol is not None:
            return []
        wanted = self.config.protocol
        if state.protocol == "0":
            lines = ["SEARCHING..."]
        elif state.protocol in ("3", "4", "5"):  # the K-line protocols wake the ECUs first
            lines = ["BUS INIT: ...OK" if self.vehicle.connected and state.protocol == wanted
                     else "BUS INIT: ...ERROR"]
            if lines[0].endswith("ERROR"):
                return lines
        else:
            lines = []
        if not self.vehicle.connected or state.protocol not in ("0", wanted):
            return lines + ["UNABLE TO CONNECT"]
        state.connected_protocol = wanted
        return lines

    # --- one ECU's answer as printed -------------------------------------------------------------

    def _ecu_lines(self, index: int, ecu: SimulatedEcu, request: bytes) -> list[str]:
        protocol = self._state.connected_protocol or self.config.protocol
        payloads = answer(ecu, request, counted_dtcs=protocol not in _LEGACY)
        if payloads and ecu.busy_replies:
            key = (index, request)
            if self.config.pending_style is PendingStyle.WAIT:
                payloads = [pending_reply(request)] * ecu.busy_replies + payloads
            elif self._busy_sent.get(key, 0) < ecu.busy_replies:
                self._busy_sent[key] = self._busy_sent.get(key, 0) + 1
                payloads = [pending_reply(request)]
            else:
                self._busy_sent[key] = 0
        lines: list[str] = []
        for payload in payloads:
            if protocol in _LEGACY:
                lines.append(self._legacy_line(ecu, payload))
            else:
                lines += self._can_lines(ecu, payload, protocol in _CAN_29BIT)
        return lines

    def _hex(self, data: bytes) -> str:
        if self._state.spaces:
            # A real ELM327 ends each byte with a space, the last one included.
            return "".join(f"{byte:02X} " for byte in data)
        return data.hex().upper()

    def _legacy_line(self, ecu: SimulatedEcu, payload: bytes) -> str:
        if not self._state.headers:
            return self._hex(payload)
        # ISO 9141-2 header: priority 48, target 6B (tester), source; then the sum checksum
        frame = bytes((0x48, 0x6B, ecu.address)) + payload
        return self._hex(frame + bytes((sum(frame) & 0xFF,)))

    def _can_lines(self, ecu: SimulatedEcu, payload: bytes, extended: bool) -> list[str]:
        frames = _iso_tp_frames(payload, self.config.can_padding)
        if self._state.headers:
            if extended:
                header = self._hex(bytes((0x18, 0xDA, 0xF1, ecu.address)))
            else:
                header = f"{ecu.can_id:03X}" + (" " if self._state.spaces else "")
            return [header + self._hex(frame) for frame in frames]
        if len(frames) == 1:
            return [self._hex(frames[0][1:])]
        separator = ": " if self._state.spaces else ":"
        lines = [f"{len(payload):03X}"]
        for index, frame in enumerate(frames):
            data = frame[2:] if index == 0 else frame[1:]
            lines.append(f"{index & 0xF:X}{separator}{self._hex(data)}")
        return lines


def _iso_tp_frames(payload: bytes, padding: int | None) -> list[bytes]:
    """ISO 15765-2 frames for `payload`: one single frame, or a first frame and consecutive ones."""
    if len(payload) <= 7:
        frames = [bytes((len(payload),)) + payload]
    else:
        frames = [bytes((0x10 | (len(payload) >> 8), len(payload) & 0xFF)) + payload[:6]]
        rest = payload[6:]
        for index in range(0, len(rest), 7):
            frames.append(bytes((0x20 | ((index // 7 + 1) & 0x0F),)) + rest[index:index + 7])
    if padding is not None:
        frames = [frame.ljust(8, bytes((padding,))) for frame in frames]
    return frames
