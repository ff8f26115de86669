"""What goes on the bus for each answer, and how failures are told and logged."""
from __future__ import annotations

import pytest
from obd_fakes import RecordingLog

from carnel.drivers.obd import (PIDS, AdapterError, DtcKind, EcuValue, Initialise,
                                NegativeResponseError, PidRead, ReadDtcs, ReadPid,
                                ReadSupportedPids, ReadVin, RequestFailed, decode_pid)
from carnel.drivers.obd.failures import FailureLog, describe_request, request_failed
from carnel.drivers.obd.messages import primary_reading, signal_batch, signals_subject
from carnel.drivers.obd.vss import VSS_PATHS
from carnel.ipc.schemas.diag import ObdRequestFailed
from carnel.ipc.subjects import validate_subject


def test_every_decodable_pid_has_a_vss_path_and_a_valid_subject() -> None:
    assert VSS_PATHS.keys() == PIDS.keys()
    for pid, path in VSS_PATHS.items():
        assert path.startswith("Vehicle.") and " " not in path
        validate_subject(signals_subject(pid))
    assert signals_subject(0x0D) == "obd.signals.vehicle_speed"


def reading(ecu: int | None, kmh: int) -> EcuValue:
    return EcuValue(ecu, decode_pid(0x0D, bytes((kmh,))))


def test_when_several_ecus_answer_the_engine_ecus_value_is_published() -> None:
    read = PidRead(ReadPid(0x0D), (reading(0x7E9, 51), reading(0x7E8, 50)))
    assert primary_reading(read).ecu == 0x7E8
    batch = signal_batch(read, at_ns=123)
    (signal,) = batch.signals
    assert (signal.path, signal.value, signal.unit, signal.timestamp_ns, signal.source) == (
        "Vehicle.Speed", 50.0, "km/h", 123, "obd")
    assert isinstance(signal.value, float)


@pytest.mark.parametrize(("request_", "text"), [
    (ReadPid(0x0C), "010C"), (ReadSupportedPids(), "0100"), (ReadDtcs(DtcKind.PENDING), "07"),
    (ReadVin(), "0902"), (Initialise(), "ATZ"),
])
def test_requests_are_told_as_the_adapter_sees_them(request_, text: str) -> None:
    assert describe_request(request_) == text


@pytest.mark.parametrize(("error", "reason"), [
    (NegativeResponseError(0x09, 0x11, 0x7E8), "negative_response"),
    (AdapterError("no_data", "NO DATA"), "no_data"),
    (AdapterError("timeout", "no prompt after 010C"), "timeout"),
    (AdapterError("response_pending_timeout", "ECU still busy"), "timeout"),
    (AdapterError("isotp_sequence", "frame 3 where 2 was due"), "adapter_error"),
])
def test_a_failed_request_becomes_the_shared_failure_form(error: AdapterError, reason: str) -> None:
    failed = request_failed(RequestFailed(ReadPid(0x0C), error))
    assert failed == ObdRequestFailed(request="010C", reason=reason, detail=str(error))


def test_the_same_failure_is_logged_at_its_first_tenth_and_hundredth_occurrence() -> None:
    log = RecordingLog()
    failures = FailureLog(log)
    speed = ObdRequestFailed(request="010D", reason="no_data")
    vin = ObdRequestFailed(request="0902", reason="negative_response")
    for _ in range(250):
        failures.note(speed)
    failures.note(vin)
    lines = [(line["request"], line["occurrences"]) for line in log.events("obd_request_failed")]
    assert lines == [("010D", 1), ("010D", 10), ("010D", 100), ("0902", 1)]
    assert failures.counts[("010D", "no_data")] == 250
