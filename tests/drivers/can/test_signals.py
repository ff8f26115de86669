from __future__ import annotations

import re
from pathlib import Path

import cantools
import msgspec
import pytest
from cantools.database import Database, DecodeError, Message
from cantools.database.namedsignalvalue import NamedSignalValue
from hypothesis import given
from hypothesis import strategies as st

from carnel.drivers.can import (
    CanFrame,
    DecodedSignal,
    DecoderConfig,
    DecoderConfigError,
    SignalDecoder,
    SignalMapping,
    parse_candump_line,
)

# DBC files modelled on real vehicles and real products (see conftest.py for their sources).
OPENDBC_FILES = [
    "tesla_model3_party.dbc",
    "tesla_model3_vehicle.dbc",
    "toyota_prius_2010_pt.dbc",
    "ford_lincoln_base_pt.dbc",
    "vw_mlb.dbc",
    "gm_global_a_high_voltage_management.dbc",
    "bmw_e9x_e8x.dbc",
]
CANTOOLS_FILES = ["abs.dbc", "msxii_system_can.dbc"]


@pytest.fixture(scope="session")
def real_databases(opendbc_sdist: Path, cantools_sdist: Path) -> dict[str, Database]:
    paths = [opendbc_sdist / "opendbc" / "dbc" / name for name in OPENDBC_FILES]
    paths += [cantools_sdist / "tests" / "files" / "dbc" / name for name in CANTOOLS_FILES]
    return {path.name: cantools.database.load_file(path) for path in paths}


def map_everything(database: Database) -> DecoderConfig:
    return DecoderConfig(
        signals=tuple(
            SignalMapping(message=message.name, signal=signal.name, output=f"{message.name}.{signal.name}")
            for message in database.messages
            for signal in message.signals
        )
    )


@pytest.fixture(scope="session")
def full_decoders(real_databases: dict[str, Database]) -> dict[str, SignalDecoder]:
    return {name: SignalDecoder(database, map_everything(database)) for name, database in real_databases.items()}


def frame_for(message: Message, data: bytes, timestamp: float = 1.0) -> CanFrame:
    return CanFrame(
        timestamp=timestamp,
        arbitration_id=message.frame_id,
        is_extended=message.is_extended_frame,
        is_fd=message.length > 8,
        data=data,
    )


@given(st.data())
def test_decoded_values_match_cantools_on_real_dbc_files(
    real_databases: dict[str, Database], full_decoders: dict[str, SignalDecoder], data: st.DataObject
) -> None:
    name = data.draw(st.sampled_from(sorted(real_databases)))
    message = data.draw(st.sampled_from(real_databases[name].messages))
    payload = data.draw(st.binary(min_size=message.length, max_size=message.length))
    decoder = full_decoders[name]
    failed_before = decoder.rejections["decode_failed"]
    ours = {signal.name: signal for signal in decoder.decode(frame_for(message, payload))}
    try:
        scaled = message.decode(payload, decode_choices=False)
    except DecodeError:
        assert ours == {}
        assert decoder.rejections["decode_failed"] == failed_before + 1
        return
    raw = message.decode(payload, decode_choices=False, scaling=False)
    named = message.decode(payload, decode_choices=True)
    assert set(ours) == {f"{message.name}.{signal}" for signal in scaled}
    for signal_name, value in scaled.items():
        decoded = ours[f"{message.name}.{signal_name}"]
        assert decoded.value == value and type(decoded.value) is type(value)
        assert decoded.raw == raw[signal_name]
        choice = named[signal_name]
        assert decoded.choice == (choice.name if isinstance(choice, NamedSignalValue) else None)
        assert decoded.unit == (message.get_signal_by_name(signal_name).unit or "")
        assert decoded.timestamp == 1.0


def prius(real_databases: dict[str, Database]) -> Database:
    return real_databases["toyota_prius_2010_pt.dbc"]


def test_mapped_signals_come_out_under_their_output_names(real_databases: dict[str, Database]) -> None:
    database = prius(real_databases)
    decoder = SignalDecoder(
        database,
        DecoderConfig(
            signals=(
                SignalMapping(message="WHEEL_SPEEDS", signal="WHEEL_SPEED_FL", output="vehicle.wheel_speed.front_left"),
                SignalMapping(message="GEAR_PACKET", signal="GEAR", output="vehicle.gear"),
            )
        ),
    )
    wheel_speeds = database.get_message_by_name("WHEEL_SPEEDS")
    raw_fl = 0x2A5E
    data = wheel_speeds.encode(
        {"WHEEL_SPEED_FR": 0, "WHEEL_SPEED_FL": raw_fl, "WHEEL_SPEED_RR": 0, "WHEEL_SPEED_RL": 0},
        scaling=False,
        strict=False,
    )
    (speed,) = decoder.decode(frame_for(wheel_speeds, data, timestamp=12.25))
    assert speed == DecodedSignal(
        name="vehicle.wheel_speed.front_left",
        value=raw_fl * 0.0062 - 67.67,
        raw=raw_fl,
        unit="mph",
        choice=None,
        timestamp=12.25,
    )
    gear_packet = database.get_message_by_name("GEAR_PACKET")
    gear_signal = gear_packet.get_signal_by_name("GEAR")
    raw_gear, gear_name = next(iter(gear_signal.choices.items()))
    data = gear_packet.encode({"CAR_MOVEMENT": 0, "GEAR": raw_gear, "COUNTER": 0, "CHECKSUM": 0}, scaling=False)
    (gear,) = decoder.decode(frame_for(gear_packet, data))
    assert (gear.name, gear.value, gear.choice) == ("vehicle.gear", raw_gear, str(gear_name))


def test_multiplexed_signal_comes_out_only_when_selected(real_databases: dict[str, Database]) -> None:
    database = real_databases["tesla_model3_party.dbc"]
    decoder = SignalDecoder(
        database,
        DecoderConfig(
            signals=(
                SignalMapping(message="VCFRONT_LVPowerState", signal="VCFRONT_parkLVState", output="power.park"),
                SignalMapping(message="VCFRONT_LVPowerState", signal="VCFRONT_cpLVRequest", output="power.charge_port"),
            )
        ),
    )
    message = database.get_message_by_name("VCFRONT_LVPowerState")
    page_0 = bytes([0x00, 0b10]) + bytes(6)
    page_1 = bytes([0x01, 0b01]) + bytes(6)
    assert [(s.name, s.raw) for s in decoder.decode(frame_for(message, page_0))] == [("power.park", 2)]
    assert [(s.name, s.raw) for s in decoder.decode(frame_for(message, page_1))] == [("power.charge_port", 1)]


BATTERY_LINE = re.compile(r"^\s+vcan0\s+401\s+\[6\]((?:\s+[0-9A-F]{2}){6})\s*$", re.MULTILINE)


def test_real_solar_car_battery_frames_decode_through_the_multiplexer(
    real_databases: dict[str, Database], cantools_sdist: Path
) -> None:
    database = real_databases["msxii_system_can.dbc"]
    battery = database.get_message_by_name("BATTERY_VT")
    voltages = tuple(
        SignalMapping(message="BATTERY_VT", signal=f"MODULE_VOLTAGE_{index:02d}", output=f"battery.module{index}.voltage")
        for index in range(36)
    )
    decoder = SignalDecoder(database, DecoderConfig(signals=voltages))
    # A capture of the car's battery bus, quoted as input in cantools' command-line test.
    source = (cantools_sdist / "tests" / "test_command_line.py").read_text(encoding="utf-8")
    payloads = list(dict.fromkeys(bytes.fromhex(match.group(1)) for match in BATTERY_LINE.finditer(source)))
    assert len(payloads) == 36
    decoded = [decoder.decode(frame_for(battery, payload)) for payload in payloads]
    assert [signals[0].name for signals in decoded] == [f"battery.module{index}.voltage" for index in range(36)]
    assert decoded[0][0].value == 39064
    assert all(len(signals) == 1 for signals in decoded)


def test_extended_frame_does_not_decode_as_the_standard_message_with_the_same_number(
    real_databases: dict[str, Database], cantools_sdist: Path
) -> None:
    database = real_databases["abs.dbc"]
    config = DecoderConfig(signals=(SignalMapping(message="BREMSE_33", signal="whlspeed_FL", output="vehicle.wheel_speed.fl"),))
    decoder = SignalDecoder(database, config)
    # cantools' plot test feeds abs.dbc this line; its 8-digit id makes it an extended frame.
    line = "(1609395080.446193) vcan0 00000343#B504CB04AE04BC04"
    assert line in (cantools_sdist / "tests" / "test_plot.py").read_text(encoding="utf-8")
    extended = parse_candump_line(line)
    assert decoder.decode(extended) == []
    assert decoder.rejections["unknown_id"] == 1
    standard = CanFrame(timestamp=extended.timestamp, arbitration_id=0x343, data=extended.data)
    (speed,) = decoder.decode(standard)
    assert (speed.value, speed.unit) == (18.828125, "m/s")


def test_frames_that_cannot_be_decoded_are_counted_per_reason(real_databases: dict[str, Database]) -> None:
    database = real_databases["msxii_system_can.dbc"]
    decoder = SignalDecoder(
        database, DecoderConfig(signals=(SignalMapping(message="BATTERY_VT", signal="MODULE_VOLTAGE_00", output="v0"),))
    )
    frames = [
        CanFrame(timestamp=0.0, arbitration_id=0x7FF, data=bytes(8)),
        CanFrame(timestamp=0.0, arbitration_id=0x401, data=bytes(8)),
        CanFrame(timestamp=0.0, arbitration_id=0x401, data=bytes(5)),
        CanFrame(timestamp=0.0, arbitration_id=0x401, is_remote=True, remote_length=6),
        CanFrame(timestamp=0.0, arbitration_id=0x4, is_error=True, data=bytes(8)),
        CanFrame(timestamp=0.0, arbitration_id=0x401, data=bytes([0x3F, 0, 0, 0, 0, 0])),
    ]
    assert all(decoder.decode(frame) == [] for frame in frames)
    assert decoder.rejections.snapshot() == {
        "decode_failed": 1,
        "error_frame": 1,
        "length_mismatch": 2,
        "remote_frame": 1,
        "unknown_id": 1,
    }


def test_frame_of_a_known_but_unmapped_message_is_counted_apart(real_databases: dict[str, Database]) -> None:
    database = prius(real_databases)
    decoder = SignalDecoder(database, DecoderConfig(signals=(SignalMapping(message="SPEED", signal="SPEED", output="v"),)))
    brake = database.get_message_by_name("BRAKE")
    assert decoder.decode(frame_for(brake, bytes(brake.length))) == []
    assert decoder.rejections.snapshot() == {"not_mapped": 1}


@pytest.mark.parametrize(
    ("mapping", "reason"),
    [
        (SignalMapping(message="NO_SUCH_MESSAGE", signal="SPEED", output="vehicle.speed"), "unknown_message"),
        (SignalMapping(message="SPEED", signal="NO_SUCH_SIGNAL", output="vehicle.speed"), "unknown_signal"),
    ],
)
def test_mapping_that_does_not_match_the_dbc_is_refused(
    real_databases: dict[str, Database], mapping: SignalMapping, reason: str
) -> None:
    with pytest.raises(DecoderConfigError) as caught:
        SignalDecoder(prius(real_databases), DecoderConfig(signals=(mapping,)))
    assert caught.value.reason == reason


def test_one_output_name_for_two_signals_is_refused(real_databases: dict[str, Database]) -> None:
    config = DecoderConfig(
        signals=(
            SignalMapping(message="SPEED", signal="SPEED", output="vehicle.speed"),
            SignalMapping(message="SPEED", signal="ENCODER", output="vehicle.speed"),
        )
    )
    with pytest.raises(DecoderConfigError) as caught:
        SignalDecoder(prius(real_databases), config)
    assert caught.value.reason == "duplicate_output"


def test_config_comes_from_plain_data(real_databases: dict[str, Database]) -> None:
    config = msgspec.convert(
        {"signals": [{"message": "SPEED", "signal": "SPEED", "output": "vehicle.speed"}]}, DecoderConfig
    )
    decoder = SignalDecoder(prius(real_databases), config)
    speed_message = prius(real_databases).get_message_by_name("SPEED")
    data = speed_message.encode({"ENCODER": 0, "SPEED": 100, "CHECKSUM": 0}, scaling=False)
    (speed,) = decoder.decode(frame_for(speed_message, data))
    assert (speed.name, speed.raw, speed.unit) == ("vehicle.speed", 100, "mph")
