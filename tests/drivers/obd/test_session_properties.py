"""Properties of the session: against the simulated adapter in every format, and against noise."""
from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st
from obd_rig import Rig, bytewise

from carnel.drivers.obd import (PIDS, AdapterConfig, Dtc, DtcsRead, ElmSession, ElmSettings,
                                Initialise, ObdError, PidRead, ReadDtcs, ReadPid, ReadSupportedPids,
                                ReadVin, RequestFailed, SimulatedEcu, SupportedPidsRead, UsageError,
                                VehicleState, VinRead)
from carnel.drivers.obd.events import (AdapterReady, ResponsePending)

EVENT_TYPES = (AdapterReady, PidRead, SupportedPidsRead, DtcsRead, VinRead, ResponsePending, RequestFailed)
DTCS = (Dtc("P0301"), Dtc("P0420"), Dtc("C0035"), Dtc("B1342"), Dtc("U0121"))
FORMATS = list(itertools.product([False, True], repeat=4))
PROTOCOLS = ["6", "7", "3"]


def vehicle() -> VehicleState:
    return VehicleState.typical(speed_kmh=87, rpm=2450.5, coolant_c=92, dtcs=DTCS)


def check_full_conversation(rig: Rig) -> None:
    ready = rig.run(Initialise())
    assert isinstance(ready[-1], AdapterReady), ready
    (supported,) = rig.run(ReadSupportedPids())
    assert isinstance(supported, SupportedPidsRead)
    assert {0x0C, 0x0D, 0x05, 0x42, 0x5C} <= supported.pids
    (rpm,) = rig.run(ReadPid(0x0C))
    assert isinstance(rpm, PidRead) and rpm.readings[0].value.value == 2450.5
    (speed,) = rig.run(ReadPid(0x0D))
    assert sorted(reading.value.value for reading in speed.readings) == [87, 87]
    (dtcs,) = rig.run(ReadDtcs())
    assert isinstance(dtcs, DtcsRead) and dtcs.dtcs == tuple(sorted(DTCS))
    (vin,) = rig.run(ReadVin())
    assert isinstance(vin, VinRead) and vin.vin == "1HGCM82633A004352"
    unexpected = set(rig.session.error_counts) - {"nrc_service_not_supported"}
    assert not unexpected, dict(rig.session.error_counts)


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize(("echo", "linefeeds", "spaces", "headers"), FORMATS)
def test_the_session_reads_everything_in_every_format(
        protocol: str, echo: bool, linefeeds: bool, spaces: bool, headers: bool) -> None:
    settings = ElmSettings(echo=echo, linefeeds=linefeeds, spaces=spaces, headers=headers)
    check_full_conversation(Rig.build(vehicle(), AdapterConfig(protocol=protocol), settings))


@given(st.sampled_from(PROTOCOLS), st.sampled_from(FORMATS), st.sampled_from(FORMATS),
       st.sets(st.sampled_from(["E0", "E1", "L0", "L1", "S0", "S1"])), st.sampled_from([None, 0x00, 0xAA]))
def test_clones_that_ignore_formatting_commands_are_read_all_the_same(
        protocol: str, power_up: tuple[bool, ...], asked: tuple[bool, ...], refused: set[str],
        padding: int | None) -> None:
    echo, linefeeds, spaces, headers = power_up
    config = AdapterConfig(protocol=protocol, echo=echo, linefeeds=linefeeds, spaces=spaces,
                           headers=headers, refused=frozenset(refused), can_padding=padding)
    echo, linefeeds, spaces, headers = asked
    settings = ElmSettings(echo=echo, linefeeds=linefeeds, spaces=spaces, headers=headers)
    rig = Rig.build(vehicle(), config, settings)
    if refused & {f"E{int(echo)}", f"L{int(linefeeds)}"}:
        # ATE and ATL must be obeyed: a clone that refuses them fails initialisation, typed.
        (failed,) = rig.run(Initialise())
        assert isinstance(failed, RequestFailed) and failed.error.reason == "setup_rejected"
        return
    check_full_conversation(rig)


@given(st.sampled_from(PROTOCOLS), st.sampled_from(FORMATS), st.data())
def test_answers_split_at_any_byte_give_the_same_events(
        protocol: str, formatting: tuple[bool, ...], data: st.DataObject) -> None:
    echo, linefeeds, spaces, headers = formatting
    settings = ElmSettings(echo=echo, linefeeds=linefeeds, spaces=spaces, headers=headers)
    requests = [Initialise(), ReadSupportedPids(), ReadPid(0x0C), ReadDtcs(), ReadVin()]

    def splitter(answer: bytes) -> list[bytes]:
        cuts = data.draw(st.lists(st.integers(0, len(answer)), max_size=6))
        edges = sorted({0, len(answer), *cuts})
        return [answer[a:b] for a, b in zip(edges, edges[1:])]

    def run(chunker) -> list:
        rig = Rig.build(vehicle(), AdapterConfig(protocol=protocol), settings, chunker)
        return [rig.run(request) for request in requests]

    whole = run(lambda answer: [answer])
    assert run(splitter) == whole
    assert run(bytewise) == whole


@given(st.sampled_from(sorted(PIDS)), st.data(), st.sampled_from(PROTOCOLS), st.booleans())
def test_every_pid_formula_survives_the_simulator_and_back(
        pid: int, data: st.DataObject, protocol: str, headers: bool) -> None:
    spec = PIDS[pid]
    value = data.draw(st.floats(spec.minimum, spec.maximum))
    ecu = SimulatedEcu(values={0x0C: 800, pid: value})
    rig = Rig.build(VehicleState((ecu,)), AdapterConfig(protocol=protocol), ElmSettings(headers=headers))
    rig.initialised()
    (read,) = rig.run(ReadPid(pid))
    assert isinstance(read, PidRead)
    (reading,) = read.readings
    assert reading.value.unit is spec.unit
    assert abs(reading.value.value - value) <= spec.resolution / 2 + 1e-9


# Bytes an adapter might send, weighted towards what makes the parser branch.
_TOKENS = st.sampled_from([
    b"\r", b"\n", b">", b" ", b"\x00", b"7E8", b"7E9", b"18DAF110", b"486B10", b"03", b"10", b"14",
    b"21", b"22", b"41", b"0C", b"7F", b"78", b"01", b"49", b"02", b"43", b"0:", b"1:", b"014",
    b"NO DATA", b"SEARCHING...", b"BUS INIT: ...", b"OK", b"ERROR", b"?", b"STOPPED", b"A6", b"ELM327 v1.5",
    b"<DATA ERROR", b"BUFFER FULL", b"\xff", b"\x80",
])
_NOISE = st.lists(st.one_of(_TOKENS, st.binary(max_size=6)), max_size=40).map(b"".join)
_ACTIONS = st.lists(st.one_of(
    st.tuples(st.just("feed"), _NOISE),
    st.tuples(st.just("submit"), st.sampled_from([Initialise(), ReadPid(0x0C), ReadSupportedPids(),
                                                  ReadDtcs(), ReadVin()])),
    st.tuples(st.just("expire"), st.floats(0, 100)),
), max_size=30)


@given(_ACTIONS, st.booleans())
def test_any_bytes_from_the_adapter_only_ever_produce_events(actions: list, start_ready: bool) -> None:
    session = ElmSession(ElmSettings(resync_attempts=2))
    if start_ready:
        rig = Rig(session, Rig.build().adapter)
        rig.initialised()
    now = 0.0
    for kind, argument in actions:
        now += 0.5
        if kind == "feed":
            step = session.receive(argument, now)
        elif kind == "expire":
            step = session.expire(now + argument)
        else:
            try:
                step = session.submit(argument, now)
            except UsageError as error:
                assert error.reason in {"not_initialised", "queue_full"}
                continue
        assert isinstance(step.send, bytes)
        for event in step.events:
            assert isinstance(event, EVENT_TYPES)
            if isinstance(event, RequestFailed):
                assert isinstance(event.error, ObdError) and event.error.reason


@given(_NOISE, st.lists(st.integers(0, 400), max_size=8))
def test_noise_split_anywhere_gives_the_same_events(noise: bytes, cuts: list[int]) -> None:
    def events_for(chunks: list[bytes]) -> list:
        rig = Rig.build()
        rig.initialised()
        rig.session.submit(ReadPid(0x0C), 1.0)
        found = []
        for chunk in chunks:
            found += rig.session.receive(chunk, 1.0).events
        return found

    edges = sorted({0, len(noise), *(min(cut, len(noise)) for cut in cuts)})
    assert events_for([noise[a:b] for a, b in zip(edges, edges[1:])]) == events_for([noise])
