from __future__ import annotations

import pytest
from obd_rig import Rig

from carnel.drivers.obd import (AdapterConfig, AdapterReady, Dtc, DtcKind, DtcsRead, ElmSession,
                                ElmSettings, Initialise, NegativeResponseError, PendingStyle,
                                PidRead, ReadDtcs, ReadPid, ReadSupportedPids, ReadVin,
                                RequestFailed, ResponsePending, SimulatedEcu, SupportedPidsRead,
                                UsageError, VehicleState, VinRead)


def ready_session(settings: ElmSettings | None = None) -> ElmSession:
    """A session initialised over a scripted dialogue, left waiting for nothing."""
    session = ElmSession(settings)
    script = {
        b"ATZ\r": b"ATZ\r\r\rELM327 v1.5\r\r>",
        b"ATE0\r": b"ATE0\rOK\r\r>",
        b"0100\r": b"SEARCHING...\r7E8 06 41 00 BE 3F A8 13 \r\r>",
        b"ATDPN\r": b"A6\r\r>",
    }
    step = session.submit(Initialise(), 0.0)
    while step.send:
        step = session.receive(script.get(step.send, b"OK\r\r>"), 0.0)
    assert session.ready
    return session


def ask(session: ElmSession, request, answer: bytes, now: float = 1.0) -> list:
    step = session.submit(request, now)
    assert step.send
    return list(session.receive(answer, now).events)


def test_initialisation_walks_the_at_dialogue_and_reports_the_protocol() -> None:
    rig = Rig.build()
    events = rig.run(Initialise())
    sent = [command for command, _ in rig.transcript]
    assert sent == [b"ATZ\r", b"ATE0\r", b"ATL0\r", b"ATS0\r", b"ATH1\r", b"ATSP0\r", b"0100\r", b"ATDPN\r"]
    (ready,) = events
    assert isinstance(ready, AdapterReady)
    assert ready.version == "ELM327 v1.5"
    assert ready.protocol.number == "6" and ready.protocol.automatic


def test_a_clone_that_refuses_ats_still_initialises() -> None:
    rig = Rig.build(config=AdapterConfig(refused=frozenset({"S0"})))
    assert isinstance(rig.run(Initialise())[0], AdapterReady)
    assert isinstance(rig.run(ReadPid(0x0C))[0], PidRead)


def test_a_refused_required_setting_fails_initialisation() -> None:
    rig = Rig.build(config=AdapterConfig(refused=frozenset({"H1"})))
    (failed,) = rig.run(Initialise())
    assert isinstance(failed, RequestFailed) and failed.error.reason == "setup_rejected"
    assert not rig.session.ready


ECUS = VehicleState.typical().ecus


@pytest.mark.parametrize(("vehicle", "protocol", "reason"), [
    (VehicleState(ECUS, connected=False), "6", "unable_to_connect"),
    (VehicleState(ECUS, connected=False), "3", "bus_init_error"),
    (VehicleState(ECUS, bus_fault="CAN ERROR"), "6", "can_error"),
])
def test_a_vehicle_that_does_not_answer_fails_initialisation_with_the_adapters_reason(
        vehicle: VehicleState, protocol: str, reason: str) -> None:
    settings = ElmSettings(protocol="0" if protocol == "6" else protocol)
    rig = Rig.build(vehicle, AdapterConfig(protocol=protocol), settings)
    (failed,) = rig.run(Initialise())
    assert isinstance(failed, RequestFailed)
    assert failed.error.reason == reason
    assert rig.session.error_counts[reason] == 1


def test_requests_before_initialisation_are_a_usage_error() -> None:
    with pytest.raises(UsageError) as caught:
        ElmSession().submit(ReadPid(0x0C), 0.0)
    assert caught.value.reason == "not_initialised"


def test_requests_queued_behind_initialisation_run_after_it() -> None:
    rig = Rig.build()
    session = rig.session
    first = session.submit(Initialise(), 0.0)
    assert session.submit(ReadPid(0x0D), 0.0).send == b""
    events = rig.drain(first)
    assert [type(event) for event in events] == [AdapterReady, PidRead]


def test_the_queue_is_bounded() -> None:
    session = ready_session(ElmSettings(max_queue=2))
    session.submit(ReadPid(0x0C), 0.0)
    session.submit(ReadPid(0x0C), 0.0)
    session.submit(ReadPid(0x0C), 0.0)
    with pytest.raises(UsageError) as caught:
        session.submit(ReadPid(0x0C), 0.0)
    assert caught.value.reason == "queue_full"


def test_several_ecus_answering_one_pid_are_all_reported() -> None:
    session = ready_session()
    (read,) = ask(session, ReadPid(0x0D), b"7E8 03 41 0D 32 \r7E9 03 41 0D 33 \r\r>")
    assert isinstance(read, PidRead)
    assert [(r.ecu, r.value.value) for r in read.readings] == [(0x7E8, 50), (0x7E9, 51)]


def test_supported_pids_follow_the_bitmap_chain() -> None:
    rig = Rig.build().initialised()
    (read,) = rig.run(ReadSupportedPids())
    assert isinstance(read, SupportedPidsRead)
    assert {0x04, 0x05, 0x0C, 0x0D, 0x42, 0x46, 0x5C} <= read.pids
    assert [c for c, _ in rig.transcript][-3:] == [b"0100\r", b"0120\r", b"0140\r"]


@pytest.mark.parametrize(("answer", "reason"), [
    (b"NO DATA\r\r>", "no_data"), (b"CAN ERROR\r\r>", "can_error"), (b"BUFFER FULL\r\r>", "buffer_full"),
    (b"STOPPED\r\r>", "stopped"), (b"?\r\r>", "unknown_command"),
    (b"BUS INIT: ...ERROR\r\r>", "bus_init_error"), (b"UNABLE TO CONNECT\r\r>", "unable_to_connect"),
    (b"7E8 03 41 0C 1A\r\r>", "short_payload"), (b"garbage\r\r>", "unparsable_line"),
])
def test_adapter_conditions_fail_the_request_with_a_stable_reason(answer: bytes, reason: str) -> None:
    session = ready_session()
    (failed,) = ask(session, ReadPid(0x0C), answer)
    assert isinstance(failed, RequestFailed)
    assert failed.error.reason == reason
    assert session.error_counts[reason] == 1
    assert session.deadline is None


@pytest.mark.parametrize(("nrc", "name"), [
    (0x11, "service_not_supported"), (0x12, "subfunction_not_supported"),
    (0x31, "request_out_of_range"), (0x22, "conditions_not_correct"), (0xEE, "unknown"),
])
def test_negative_responses_are_typed_with_the_nrc_name(nrc: int, name: str) -> None:
    session = ready_session()
    (failed,) = ask(session, ReadVin(), f"7E8 03 7F 09 {nrc:02X}\r\r>".encode())
    assert isinstance(failed, RequestFailed)
    error = failed.error
    assert isinstance(error, NegativeResponseError)
    assert (error.service, error.nrc, error.nrc_name, error.ecu) == (0x09, nrc, name, 0x7E8)
    assert error.reason == f"nrc_{name}"


def test_response_pending_moves_the_deadline_and_is_not_an_error() -> None:
    session = ready_session(ElmSettings(pending_timeout=5.0))
    step = session.submit(ReadPid(0x0C), 10.0)
    assert step.deadline == pytest.approx(12.0)
    step = session.receive(b"7E8 03 7F 01 78\r", 11.0)
    (pending,) = step.events
    assert isinstance(pending, ResponsePending) and pending.ecu == 0x7E8
    assert step.deadline == pytest.approx(16.0)
    assert session.expire(15.0).events == ()
    (read,) = session.receive(b"7E8 04 41 0C 1A F8\r\r>", 15.5).events
    assert isinstance(read, PidRead) and read.readings[0].value.value == 1726
    assert "nrc_response_pending" not in session.error_counts


def test_response_pending_past_its_deadline_fails_with_its_own_reason() -> None:
    session = ready_session(ElmSettings(pending_timeout=5.0))
    session.submit(ReadPid(0x0C), 10.0)
    session.receive(b"7E8 03 7F 01 78\r", 11.0)
    step = session.expire(16.0)
    (failed,) = step.events
    assert isinstance(failed, RequestFailed) and failed.error.reason == "response_pending_timeout"
    assert step.send == b"\r"


def test_pending_answers_are_waited_out_through_the_simulator_in_both_adapter_styles() -> None:
    for style in PendingStyle:
        ecu = SimulatedEcu(values={0x0C: 3000}, busy_replies=3)
        rig = Rig.build(VehicleState((ecu,)), AdapterConfig(pending_style=style)).initialised()
        events = rig.run(ReadPid(0x0C))
        assert sum(isinstance(event, ResponsePending) for event in events) == 3
        assert isinstance(events[-1], PidRead) and events[-1].readings[0].value.value == 3000


def test_pending_is_bounded_in_total() -> None:
    session = ready_session(ElmSettings(pending_timeout=5.0, pending_limit=12.0))
    session.submit(ReadPid(0x0C), 0.0)
    now, failed = 0.0, None
    while failed is None:
        now += 4.0
        step = session.receive(b"7E8 03 7F 01 78\r\r>", now)
        failed = next((e for e in step.events if isinstance(e, RequestFailed)), None)
        assert now < 20
    assert failed.error.reason == "response_pending_timeout"


def test_a_silent_adapter_times_out_then_the_session_resynchronises() -> None:
    session = ready_session()
    step = session.submit(ReadPid(0x0C), 0.0)
    assert session.expire(1.0).events == ()
    step = session.expire(step.deadline)
    (failed,) = step.events
    assert failed.error.reason == "timeout"
    assert step.send == b"\r"
    # the busy adapter prints STOPPED and its prompt: that is discarded, and the queue goes on
    session.submit(ReadPid(0x0D), 3.0)
    step = session.receive(b"7E8 04 41 0C 1A\rSTOPPED\r\r>", 3.0)
    assert step.send == b"010D\r"
    (read,) = session.receive(b"7E8 03 41 0D 32\r\r>", 3.1).events
    assert isinstance(read, PidRead)


def test_an_adapter_that_never_answers_again_is_reported_unresponsive() -> None:
    session = ready_session(ElmSettings(resync_attempts=2))
    step = session.submit(ReadPid(0x0C), 0.0)
    step = session.expire(step.deadline)
    session.submit(ReadPid(0x0D), 0.0)
    step = session.expire(step.deadline)
    assert step.send == b"\r"
    step = session.expire(step.deadline)
    (failed,) = step.events
    assert failed.error.reason == "adapter_unresponsive"
    assert not session.ready and session.deadline is None


def test_a_stale_prompt_before_the_reset_banner_is_skipped() -> None:
    session = ElmSession()
    step = session.submit(Initialise(), 0.0)
    assert step.send == b"ATZ\r"
    assert session.receive(b">", 0.1).send == b""
    assert session.receive(b"\r\rELM327 v2.1\r\r>", 0.5).send == b"ATE0\r"


def test_lines_nobody_asked_for_are_counted_not_raised() -> None:
    session = ready_session()
    assert session.receive(b"7E8 03 41 0D 32\r\r>", 5.0).events == ()
    assert session.error_counts["unsolicited_line"] == 1


def test_dtcs_of_every_kind_and_every_ecu() -> None:
    stored = (Dtc("P0301"), Dtc("C0123"), Dtc("B1004"), Dtc("U0100"))
    engine = SimulatedEcu(values={0x0C: 800}, stored_dtcs=stored, pending_dtcs=(Dtc("P0420"),))
    other = SimulatedEcu(can_id=0x7E9, address=0x18, values={0x0D: 0}, stored_dtcs=(Dtc("P0700"),))
    rig = Rig.build(VehicleState((engine, other))).initialised()
    (read,) = rig.run(ReadDtcs())
    assert isinstance(read, DtcsRead)
    assert {(r.ecu, r.dtcs) for r in read.reports} == {(0x7E8, stored), (0x7E9, (Dtc("P0700"),))}
    (pending,) = rig.run(ReadDtcs(DtcKind.PENDING))
    assert pending.dtcs == (Dtc("P0420"),)
    (permanent,) = rig.run(ReadDtcs(DtcKind.PERMANENT))
    assert permanent.dtcs == ()


def test_no_data_to_a_dtc_request_means_no_codes() -> None:
    session = ready_session()
    (read,) = ask(session, ReadDtcs(), b"NO DATA\r\r>")
    assert isinstance(read, DtcsRead) and read.reports == ()


def test_the_vin_comes_from_the_ecu_that_has_one() -> None:
    rig = Rig.build().initialised()
    (read,) = rig.run(ReadVin())
    assert isinstance(read, VinRead)
    assert (read.vin, read.ecu) == ("1HGCM82633A004352", 0x7E8)
    assert rig.session.error_counts["nrc_service_not_supported"] == 1


def test_a_vin_that_is_not_one_is_a_typed_failure() -> None:
    session = ready_session()
    (failed,) = ask(session, ReadVin(), b"7E8 10 14 49 02 01 31 44 34\r7E8 21 47 50 30 30 52 35 35\r"
                                        b"7E8 22 42 31 32 33 34 35 49\r\r>")
    assert isinstance(failed, RequestFailed) and failed.error.reason == "bad_vin"


def test_an_adapter_that_babbles_without_a_prompt_is_bounded() -> None:
    session = ready_session()
    session.submit(ReadPid(0x0C), 0.0)
    session.receive(b"7E8 03 41 0D 32\r" * 1500, 0.5)
    assert session.error_counts["response_too_long"] == 1500 - 1024
    (read,) = session.receive(b">", 0.6).events
    assert isinstance(read, RequestFailed)
