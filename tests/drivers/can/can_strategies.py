"""Hypothesis strategies for CAN frames, shared by the CAN driver's tests."""
from __future__ import annotations

from hypothesis import strategies as st

from carnel.drivers.can import FD_LENGTHS, CanFrame

# Whole microseconds below 2**31 s: candump's six fraction digits and a double both hold these
# exactly, so text round trips compare equal.
timestamps = st.integers(min_value=0, max_value=2**31 * 10**6 - 1).map(lambda micros: micros / 1e6)
channels = st.sampled_from(["can0", "vcan0", "can1", "vcan-0", "slcan0"])
standard_ids = st.integers(min_value=0, max_value=0x7FF)
extended_ids = st.integers(min_value=0, max_value=0x1FFFFFFF)


@st.composite
def can_frames(draw: st.DrawFn, channel: st.SearchStrategy[str] = channels) -> CanFrame:
    """Any valid frame: classic data or remote, CAN FD, or an error frame."""
    kind = draw(st.sampled_from(["classic", "remote", "fd", "error"]))
    common = {"timestamp": draw(timestamps), "channel": draw(channel)}
    if kind == "error":
        return CanFrame(
            arbitration_id=draw(extended_ids), is_error=True, data=draw(st.binary(max_size=8)), **common
        )
    is_extended = draw(st.booleans())
    arbitration_id = draw(extended_ids if is_extended else standard_ids)
    if kind == "classic":
        return CanFrame(arbitration_id=arbitration_id, is_extended=is_extended, data=draw(st.binary(max_size=8)), **common)
    if kind == "remote":
        return CanFrame(
            arbitration_id=arbitration_id,
            is_extended=is_extended,
            is_remote=True,
            remote_length=draw(st.integers(0, 8)),
            **common,
        )
    length = draw(st.sampled_from(FD_LENGTHS))
    return CanFrame(
        arbitration_id=arbitration_id,
        is_extended=is_extended,
        is_fd=True,
        bitrate_switch=draw(st.booleans()),
        error_state_indicator=draw(st.booleans()),
        data=draw(st.binary(min_size=length, max_size=length)),
        **common,
    )
