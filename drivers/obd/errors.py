"""The OBD driver's typed errors: every failure carries a stable `reason` a caller can count."""
from __future__ import annotations


class ObdError(Exception):
    """Base of the OBD driver's errors.

    `reason` is a stable snake_case token (`no_data`, `isotp_sequence`, `nrc_request_out_of_range`)
    meant for counters and tests; `detail` is for the person reading the log.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail

    # Errors travel inside frozen events, which compare by value; so do the errors.
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ObdError) or type(other) is not type(self):
            return NotImplemented
        return (self.reason, self.detail) == (other.reason, other.detail)

    def __hash__(self) -> int:
        return hash((type(self), self.reason, self.detail))


class AdapterError(ObdError):
    """What the adapter or the vehicle sent made a request fail (NO DATA, garbage, a bad frame)."""


class NegativeResponseError(AdapterError):
    """An ECU refused the request with a negative response (`7F <service> <nrc>`)."""

    def __init__(self, service: int, nrc: int, ecu: int | None = None) -> None:
        self.service = service
        self.nrc = nrc
        self.nrc_name = NRC_NAMES.get(nrc, "unknown")
        self.ecu = ecu
        where = "" if ecu is None else f" from ECU {ecu:X}"
        super().__init__(f"nrc_{self.nrc_name}",
                         f"service {service:02X} refused with NRC {nrc:02X}{where}")


class UsageError(ObdError):
    """The caller asked the session for something it cannot do in its current state."""


class DriveFileError(ObdError):
    """A line of a simulated drive file that cannot be used; `detail` names the line."""


# ISO 14229-1 Annex A.1; OBD ECUs (SAE J1979 / ISO 15031-5) use the same codes.
NRC_NAMES: dict[int, str] = {
    0x10: "general_reject",
    0x11: "service_not_supported",
    0x12: "subfunction_not_supported",
    0x13: "incorrect_message_length_or_invalid_format",
    0x14: "response_too_long",
    0x21: "busy_repeat_request",
    0x22: "conditions_not_correct",
    0x24: "request_sequence_error",
    0x25: "no_response_from_subnet_component",
    0x26: "failure_prevents_execution",
    0x31: "request_out_of_range",
    0x33: "security_access_denied",
    0x35: "invalid_key",
    0x36: "exceeded_number_of_attempts",
    0x37: "required_time_delay_not_expired",
    0x70: "upload_download_not_accepted",
    0x71: "transfer_data_suspended",
    0x72: "general_programming_failure",
    0x73: "wrong_block_sequence_counter",
    0x78: "response_pending",
    0x7E: "subfunction_not_supported_in_active_session",
    0x7F: "service_not_supported_in_active_session",
    0x81: "rpm_too_high",
    0x82: "rpm_too_low",
    0x83: "engine_is_running",
    0x84: "engine_is_not_running",
    0x88: "vehicle_speed_too_high",
    0x89: "vehicle_speed_too_low",
    0x92: "voltage_too_high",
    0x93: "voltage_too_low",
}

RESPONSE_PENDING = 0x78
