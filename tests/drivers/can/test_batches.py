from __future__ import annotations

from pathlib import Path

import cantools
import msgspec
import pytest
from cantools.database import Database, Message
from cantools.database.can import Message as DbcMessage
from cantools.database.can import Signal as DbcSignal
from hypothesis import given
from hypothesis import strategies as st

from carnel.drivers.can import CanFrame, DecoderConfig, DecoderConfigError, SignalMapping
from carnel.drivers.can.batches import BatchBuilder
from carnel.ipc.schemas.vehicle import SignalBatch

REAL_DBCS = ["vw_mlb.dbc", "ford_lincoln_base_pt.dbc", "toyota_prius_2010_pt.dbc", "tesla_model3_party.dbc"]


@pytest.fixture(scope="module")
def databases(opendbc_sdist: Path) -> dict[str, Database]:
    return {name: cantools.database.load_file(opendbc_sdist / "opendbc" / "dbc" / name) for name in REAL_DBCS}


def map_all(database: Database) -> DecoderConfig:
    return DecoderConfig(
        signals=tuple(
            SignalMapping(message=m.name, signal=s.name, output=f"{m.name}.{s.name}")
            for m in database.messages
            for s in m.signals
        )
    )


@pytest.fixture(scope="module")
def builders(databases: dict[str, Database]) -> dict[str, BatchBuilder]:
    return {name: BatchBuilder(database, map_all(database), source="can") for name, database in databases.items()}


def frame_for(message: Message, data: bytes) -> CanFrame:
    return CanFrame(
        timestamp=1.0,
        arbitration_id=message.frame_id,
        is_extended=message.is_extended_frame,
        is_fd=message.length > 8,
        data=data,
    )


def test_extended_message_is_published_under_its_name_and_a_standard_id_of_the_same_number_is_not(
    databases: dict[str, Database], builders: dict[str, BatchBuilder]
) -> None:
    database, builder = databases["vw_mlb.dbc"], builders["vw_mlb.dbc"]
    message = next(m for m in database.messages if m.is_extended_frame)
    data = bytes(range(message.length))
    subject, batch = builder.build(frame_for(message, data), 123)
    assert subject == f"can.signals.{message.name}"
    expected = message.decode(data, decode_choices=False)
    assert {s.path: s.value for s in batch.signals} == {
        f"{message.name}.{name}": value for name, value in expected.items()
    }
    assert {(s.timestamp_ns, s.source) for s in batch.signals} == {(123, "can")}
    standard = CanFrame(timestamp=1.0, arbitration_id=message.frame_id & 0x7FF, data=data)
    if not any(not m.is_extended_frame and m.frame_id == standard.arbitration_id for m in database.messages):
        assert builder.build(standard, 123) is None
        assert builder.rejections["unknown_id"] >= 1


@given(st.data())
def test_every_batch_of_a_real_dbc_encodes_and_decodes_back(
    databases: dict[str, Database], builders: dict[str, BatchBuilder], data: st.DataObject
) -> None:
    name = data.draw(st.sampled_from(REAL_DBCS))
    message = data.draw(st.sampled_from(databases[name].messages))
    payload = data.draw(st.binary(min_size=message.length, max_size=message.length))
    built = builders[name].build(frame_for(message, payload), 7)
    if built is None:
        return  # a multiplexer value the DBC does not define: counted as decode_failed
    subject, batch = built
    assert subject == f"can.signals.{message.name}"
    assert msgspec.msgpack.decode(msgspec.msgpack.encode(batch), type=SignalBatch) == batch


def wide_signals() -> Database:
    return cantools.database.load_string(
        'VERSION ""\nBU_: ECU\n'
        "BO_ 256 WIDE: 16 ECU\n"
        ' SG_ Blob : 0|80@1+ (1,0) [0|0] "" ECU\n'
        ' SG_ Rest : 80|48@1+ (1,0) [0|0] "" ECU\n'
        "BO_ 257 DOUBLED: 8 ECU\n"
        ' SG_ Counter : 0|64@1+ (2,0) [0|0] "" ECU\n'
        "BO_ 258 SCALED: 8 ECU\n"
        ' SG_ Odometer : 0|64@1+ (0.1,0) [0|0] "km" ECU\n'
        "BO_ 259 SIGNED: 8 ECU\n"
        ' SG_ Raw : 0|64@1- (1,0) [0|0] "" ECU\n',
        "dbc",
    )


@pytest.mark.parametrize(("message", "signal"), [("WIDE", "Blob"), ("DOUBLED", "Counter")])
def test_signal_whose_whole_values_outgrow_64_bits_is_refused(message: str, signal: str) -> None:
    config = DecoderConfig(signals=(SignalMapping(message=message, signal=signal, output="v"),))
    with pytest.raises(DecoderConfigError) as caught:
        BatchBuilder(wide_signals(), config, source="can")
    assert caught.value.reason == "value_out_of_range"


def test_wide_signals_with_float_or_64_bit_values_are_accepted() -> None:
    config = DecoderConfig(
        signals=(
            SignalMapping(message="WIDE", signal="Rest", output="rest"),
            SignalMapping(message="SCALED", signal="Odometer", output="odometer"),
            SignalMapping(message="SIGNED", signal="Raw", output="raw"),
        )
    )
    builder = BatchBuilder(wide_signals(), config, source="can")
    for arbitration_id, data in ((256, b"\xff" * 16), (258, b"\xff" * 8), (259, b"\x00" * 7 + b"\x80")):
        frame = CanFrame(timestamp=0.0, arbitration_id=arbitration_id, is_fd=len(data) > 8, data=data)
        _, batch = builder.build(frame, 0)
        assert msgspec.msgpack.decode(msgspec.msgpack.encode(batch), type=SignalBatch) == batch


def test_message_name_that_cannot_be_a_subject_is_refused() -> None:
    database = Database(
        messages=[
            DbcMessage(frame_id=1, name="Engine Data", length=1, signals=[DbcSignal(name="rpm", start=0, length=8)])
        ]
    )
    with pytest.raises(DecoderConfigError) as caught:
        BatchBuilder(
            database,
            DecoderConfig(signals=(SignalMapping(message="Engine Data", signal="rpm", output="v"),)),
            source="can",
        )
    assert caught.value.reason == "bad_subject"
