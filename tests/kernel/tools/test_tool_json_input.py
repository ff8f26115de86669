"""`carnel pub` and `carnel call` take the message as a JSON argument or, for `-`, from stdin, with
their options on either side of it."""
from __future__ import annotations

import io

import msgspec
import pytest

from carnel.ipc.schemas.bus import Empty
from carnel.ipc.schemas.vehicle import Signal, SignalQuery
from carnel.kernel import cli
from carnel.kernel.tools import call, pub
from carnel.kernel.tools.session import EXIT_OK, EXIT_USAGE

SPEED = Signal(path="Vehicle.Speed", value=50.0, unit="km/h")
# Larger than Linux lets one argument be (MAX_ARG_STRLEN, 128 KiB): only stdin can carry it.
LARGE = Signal(path="Vehicle.Speed", value=1.0, source="x" * 200_000)


@pytest.fixture
def sent(monkeypatch) -> list[tuple[str, bytes]]:
    """The subject and payload each command would send, instead of a session with a kernel."""
    sends = []

    def send(_main, _directory, subject, payload, *_rest) -> int:
        sends.append((subject, payload))
        return EXIT_OK

    monkeypatch.setattr(pub, "run_tool", send)
    monkeypatch.setattr(call, "run_tool", send)
    return sends


def carnel(tmp_path, *args: str) -> int:
    return cli.main(["--run-dir", str(tmp_path), *args])


def stdin_holding(monkeypatch, data: bytes) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))


@pytest.mark.parametrize("message", [SPEED, LARGE])
def test_pub_reads_the_message_from_stdin_for_a_dash(tmp_path, monkeypatch, sent, message):
    stdin_holding(monkeypatch, msgspec.json.encode(message) + b"\n")
    assert carnel(tmp_path, "pub", "vehicle.Speed", "-") == EXIT_OK
    assert sent == [("vehicle.Speed", msgspec.msgpack.encode(message))]


def test_call_reads_the_request_from_stdin_for_a_dash(tmp_path, monkeypatch, sent):
    query = SignalQuery(paths=["Vehicle.Speed"] * 20_000)
    stdin_holding(monkeypatch, msgspec.json.encode(query))
    assert carnel(tmp_path, "call", "vehicle.get", "-") == EXIT_OK
    assert sent == [("vehicle.get", msgspec.msgpack.encode(query))]


PUB, CALL = ["pub", "vehicle.Speed"], ["call", "vehicle.get"]


@pytest.mark.parametrize(("command", "text", "says"), [
    (PUB, "{value", "that is not JSON: "),
    (CALL, "", "that is not JSON: "),
    (PUB, '{"path": "a", "value": 1, "unitt": "km/h"}', "which has no field `unitt`"),
    (CALL, '{"paths": [{"pathz": 1}]}', "Expected `str`, got `object` - at `$.paths[0]`"),
    (PUB, '{"value": 1}', "missing required field `path`"),
    (PUB, '{"path": "a", "value": 1e400}', "Number out of range - at `$.value`"),
    (PUB, '{"path": "a", "value": 123456789012345678901234567890}', "an integer in that JSON "
     "is too large"),
    (PUB, '{"path": "a", "value": 1, "extra": ' + "[" * 100_000 + "}", "nested too deeply"),
    (["call", "demo.get", "--type", "SignalQuery"], '{"path": "a"}', "which has no field `path`"),
])
def test_json_from_stdin_is_refused_as_the_same_json_argument_is(tmp_path, monkeypatch, capsys,
                                                                sent, command, text, says):
    given = carnel(tmp_path, *command, text)
    said = capsys.readouterr().err
    assert given == EXIT_USAGE and said.startswith(f"carnel {command[0]}: ") and says in said
    stdin_holding(monkeypatch, text.encode())
    assert carnel(tmp_path, *command, "-") == given
    assert capsys.readouterr().err == said
    assert sent == []


def test_stdin_that_is_not_utf8_is_not_json(tmp_path, monkeypatch, capsys, sent):
    stdin_holding(monkeypatch, b'{"path": "caf\xe9", "value": 1}')
    assert carnel(tmp_path, "pub", "vehicle.Speed", "-") == EXIT_USAGE
    assert capsys.readouterr().err.startswith("carnel pub: that is not JSON: 'utf-8' codec")


def test_a_dash_with_stdin_closed_is_a_usage_error(tmp_path, monkeypatch, capsys, sent):
    monkeypatch.setattr("sys.stdin", None)
    assert carnel(tmp_path, "pub", "vehicle.Speed", "-") == EXIT_USAGE
    assert capsys.readouterr().err == ("carnel pub: - reads the JSON from stdin, which is "
                                       "closed\n")


def test_call_takes_its_options_before_the_json_as_after_it(tmp_path, sent):
    query = '{"paths": ["Vehicle.Speed"]}'
    assert carnel(tmp_path, "call", "demo.get", "--type", "SignalQuery", "--timeout", "2",
                  query) == EXIT_OK
    assert carnel(tmp_path, "call", "--timeout", "2", "demo.get", query, "--type",
                  "SignalQuery") == EXIT_OK
    expected = ("demo.get", msgspec.msgpack.encode(SignalQuery(paths=["Vehicle.Speed"])))
    assert sent == [expected, expected]


def test_pub_takes_its_options_before_the_json_as_after_it(tmp_path, sent):
    speed = msgspec.json.encode(SPEED).decode()
    assert carnel(tmp_path, "pub", "demo.speed", "--retain", "--type", "Signal", speed) == EXIT_OK
    assert sent == [("demo.speed", msgspec.msgpack.encode(SPEED))]


def test_call_still_defaults_to_an_empty_request_and_refuses_a_second_json(tmp_path, capsys,
                                                                          sent):
    assert carnel(tmp_path, "call", "trip.reset", "--timeout", "2") == EXIT_OK
    assert sent == [("trip.reset", msgspec.msgpack.encode(Empty()))]
    with pytest.raises(SystemExit) as refused:
        carnel(tmp_path, "call", "trip.reset", "{}", "{}")
    assert refused.value.code == EXIT_USAGE
    assert "unrecognized arguments: {}" in capsys.readouterr().err
