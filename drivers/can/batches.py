"""Frames to the messages the driver publishes: one SignalBatch per frame, on the frame's subject."""

from __future__ import annotations

from cantools.database import Database, Message
from cantools.database.conversion import BaseConversion, LinearConversion

from carnel.drivers.can.errors import DecoderConfigError
from carnel.drivers.can.frame import CanFrame
from carnel.drivers.can.signals import EXTENDED_KEY, DecoderConfig, SignalDecoder, frame_key
from carnel.ipc.schemas.vehicle import Signal, SignalBatch
from carnel.ipc.subjects import SubjectError, validate_subject

SUBJECT_PREFIX = "can.signals."
# msgpack's integers: a whole-number value outside them cannot be published.
_INT_MIN, _INT_MAX = -(1 << 63), (1 << 64) - 1


class BatchBuilder:
    """Decodes a frame's mapped signals into a SignalBatch for `can.signals.<DBC message name>`.

    A frame without mapped signals gives None and is counted in `rejections` (SignalDecoder's).
    A mapping whose message name cannot be a subject token, or whose signal can take whole-number
    values beyond 64 bits, is refused up front with DecoderConfigError.
    """

    def __init__(self, database: Database, config: DecoderConfig, *, source: str) -> None:
        self.decoder = SignalDecoder(database, config)
        self.rejections = self.decoder.rejections
        self._source = source
        self._subjects: dict[int, str] = {}
        for mapping in config.signals:
            message = database.get_message_by_name(mapping.message)
            _check_value_range(message, mapping.signal)
            subject = SUBJECT_PREFIX + message.name
            try:
                validate_subject(subject)
            except SubjectError as exc:
                raise DecoderConfigError("bad_subject", f"message {message.name!r}: {exc.detail}") from None
            self._subjects[frame_key(message.frame_id, message.is_extended_frame)] = subject

    def build(self, frame: CanFrame, timestamp_ns: int) -> tuple[str, SignalBatch] | None:
        """The subject and batch for a frame, or None when it carries no mapped signal."""
        decoded = self.decoder.decode(frame)
        if not decoded:
            return None
        source = self._source
        signals = [
            Signal(path=item.name, value=item.value, unit=item.unit, timestamp_ns=timestamp_ns, source=source)
            for item in decoded
        ]
        key = frame.arbitration_id | EXTENDED_KEY if frame.is_extended else frame.arbitration_id
        return self._subjects[key], SignalBatch(signals=signals)


def _check_value_range(message: Message, signal_name: str) -> None:
    signal = message.get_signal_by_name(signal_name)
    conversion = BaseConversion.factory(
        scale=signal.conversion.scale, offset=signal.conversion.offset, choices=None, is_float=signal.is_float
    )
    if signal.is_float or isinstance(conversion, LinearConversion):
        return  # float values: a double holds any of them
    if signal.is_signed:
        low, high = -(1 << (signal.length - 1)), (1 << (signal.length - 1)) - 1
    else:
        low, high = 0, (1 << signal.length) - 1
    ends = (low * conversion.scale + conversion.offset, high * conversion.scale + conversion.offset)
    if min(ends) < _INT_MIN or max(ends) > _INT_MAX:
        raise DecoderConfigError(
            "value_out_of_range",
            f"{message.name}.{signal.name} reaches {min(ends)}..{max(ends)}, beyond a Signal's 64-bit integers",
        )
