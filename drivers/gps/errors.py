"""The GPS driver's one error type and the stable reasons it carries."""
from __future__ import annotations

import enum


class Reason(enum.StrEnum):
    """Why a sentence was rejected; the values are stable so that callers can count by them."""

    CHECKSUM = "checksum"
    TOO_LONG = "too_long"
    MALFORMED = "malformed"
    UNSUPPORTED = "unsupported"
    BAD_FIELD = "bad_field"


class NmeaError(Exception):
    """A sentence that cannot be used, with the reason to count it by and a detail to fix it by."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
