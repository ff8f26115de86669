"""The bus header codec, one suite run against every implementation (pure twin and extension)."""
from __future__ import annotations


import pytest
import zmq
from hypothesis import given
from hypothesis import strategies as st

from carnel.ipc import _impl
from carnel.ipc.wire import Flag, Header, Kind, WireError

# `make test` always builds the extension, so a missing one is a failure, not a skip.
PURE = _impl.available()["pure"]


def outcome(call, *args, **kwargs):
    """What a call gives: its result, the reason it was refused for, or a caller's type error."""
    try:
        return ("ok", call(*args, **kwargs))
    except WireError as exc:
        assert exc.detail, "a refusal says what is wrong"
        return ("refused", exc.reason)
    except TypeError:  # an argument of the wrong type: a bug in the caller, not bad input
        return ("type error", None)


def packed(**fields) -> bytes:
    base = dict(kind=Kind.PUB, subject="vehicle.speed", source="gps")
    return PURE.pack_header(**(base | fields))


def raw_header(subject: bytes, source: bytes = b"gps", kind: int = Kind.PUB) -> bytes:
    """A header holding exactly these bytes, right or wrong, with every number zero."""
    return bytes([1, kind]) + bytes(34) + bytes([len(source), len(subject)]) + source + subject


def patched(raw: bytes, offset: int, value: int) -> bytes:
    out = bytearray(raw)
    out[offset] = value
    return bytes(out)


# -- strategies -----------------------------------------------------------------------------

names = st.from_regex(r"[A-Za-z0-9_-]{0,64}", fullmatch=True)
tokens = st.from_regex(r"[A-Za-z0-9_-]{1,10}", fullmatch=True)
subjects = st.lists(tokens, min_size=1, max_size=8).map(".".join).filter(lambda s: len(s) <= 255)
patterns = st.builds(
    lambda body, rest: ".".join(body + ([">"] if rest else [])),
    st.lists(st.one_of(tokens, st.just("*")), min_size=1, max_size=6),
    st.booleans(),
).filter(lambda s: len(s) <= 255)


@st.composite
def header_fields(draw) -> dict:
    kind = draw(st.sampled_from(list(Kind)))
    pattern_kind = kind in (Kind.SUB, Kind.UNSUB)
    return dict(
        kind=int(kind),
        subject=draw(st.one_of(subjects, patterns) if pattern_kind else subjects),
        flags=draw(st.integers(0, 0xFFFF)),
        seq=draw(st.integers(0, 2**32 - 1)),
        msg_id=draw(st.integers(0, 2**64 - 1)),
        corr_id=draw(st.integers(0, 2**64 - 1)),
        timestamp_ns=draw(st.integers(-(2**63), 2**63 - 1)),
        timeout_ms=draw(st.integers(0, 2**32 - 1)),
        source=draw(names),
    )


@st.composite
def mutated_headers(draw) -> bytes:
    """A valid header with a few bytes set, cut, inserted or dropped."""
    raw = bytearray(PURE.pack_header(**draw(header_fields())))
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, max(len(raw) - 1, 0)))
        op = draw(st.sampled_from(["set", "cut", "insert", "drop"]))
        if op == "set" and raw:
            # Bytes that matter: version/kind values, '.', '*', '>', a letter, non-ASCII.
            raw[pos] = draw(st.sampled_from(b"\x00\x01\x05.*>A\x80\xff") | st.integers(0, 255))
        elif op == "cut":
            del raw[pos:]
        elif op == "insert":
            raw[pos:pos] = draw(st.binary(min_size=1, max_size=4))
        elif op == "drop" and raw:
            del raw[pos]
    return bytes(raw)


header_bytes = st.one_of(
    st.binary(max_size=400),
    mutated_headers(),
    header_fields().map(lambda f: PURE.pack_header(**f)),
)
# Every edge of the numeric ranges, plus values struct.pack refuses outright.
wild_ints = st.one_of(
    st.integers(-(2**70), 2**70),
    st.sampled_from([-1, 0, 0xFF, 0x100, 0xFFFF, 0x10000, 2**32 - 1, 2**32, 2**63 - 1, 2**63,
                     2**64 - 1, 2**64, -(2**63), -(2**63) - 1, True]),
    st.floats(allow_nan=True),
    st.none(),
)
wild_kinds = st.one_of(st.integers(-2, 12), wild_ints)
wild_text = st.one_of(
    st.text(max_size=300),
    st.text(alphabet="ab_-.*>é\x00 ", max_size=12),
    subjects,
    patterns,
    names,
    st.integers(60, 70).map(lambda n: "s" * n),
    st.integers(250, 260).map(lambda n: "a" * n),
)


# -- layout and round trip ----------------------------------------------------------------------

def test_header_bytes_follow_the_documented_layout(impl):
    raw = impl.pack_header(Kind.PUB, "a.b", flags=Flag.RETAIN, seq=2, msg_id=3, corr_id=4,
                           timestamp_ns=-1, timeout_ms=5, source="gps")
    assert raw == bytes.fromhex(
        "01" "01" "0100" "02000000" "0300000000000000" "0400000000000000"
        "ffffffffffffffff" "05000000" "03" "03"
    ) + b"gps" + b"a.b"


def test_parse_reads_back_every_field(impl):
    raw = packed(kind=Kind.REQ, subject="nav.route.request", flags=3, seq=7, msg_id=2**64 - 1,
                 corr_id=9, timestamp_ns=-(2**63), timeout_ms=2**32 - 1, source="nav-ui_2")
    assert impl.parse_header(raw) == Header(1, Kind.REQ, 3, 7, 2**64 - 1, 9, -(2**63),
                                            2**32 - 1, "nav-ui_2", "nav.route.request")
    assert type(impl.parse_header(raw)) is Header


@given(fields=header_fields())
def test_pack_then_parse_round_trips(impl, fields):
    header = impl.parse_header(impl.pack_header(**fields))
    assert header._asdict() == {"version": 1} | fields


@pytest.mark.parametrize("wrap", [bytes, bytearray, memoryview, zmq.Frame,
                                  lambda b: memoryview(bytes(x for c in b for x in (c, 0)))[::2]],
                         ids=["bytes", "bytearray", "memoryview", "zmq.Frame", "strided"])
def test_parse_reads_a_header_from_any_buffer(impl, wrap):
    raw = packed(seq=42)
    assert impl.parse_header(wrap(raw)).seq == 42
    assert impl.restamp(wrap(raw), "kernel", 1) == PURE.restamp(raw, "kernel", 1)


# -- refusals ------------------------------------------------------------------------------------

GOOD = raw_header(b"vehicle.speed")
BAD_HEADERS = {
    "empty": (b"", "short"),
    "short": (GOOD[:37], "short"),
    "version 0": (patched(GOOD, 0, 0), "version"),
    "version 2": (patched(GOOD, 0, 2), "version"),
    "kind 0": (patched(GOOD, 1, 0), "kind"),
    "kind 11": (patched(GOOD, 1, 11), "kind"),
    "trailing byte": (GOOD + b"x", "length"),
    "missing byte": (GOOD[:-1], "length"),
    "source length lies": (patched(GOOD, 36, 4), "length"),
    "source byte": (raw_header(b"a.b", source=b"g.s"), "source"),
    "source too long": (raw_header(b"a.b", source=b"s" * 65), "source"),
    "subject empty": (raw_header(b""), "subject"),
    "empty token": (raw_header(b"a..b"), "subject"),
    "leading dot": (raw_header(b".ab"), "subject"),
    "trailing dot": (raw_header(b"ab."), "subject"),
    "subject byte": (raw_header(b"a b"), "subject"),
    "non-ASCII": (raw_header(b"a\xe9b"), "subject"),
    "bad source before bad subject": (raw_header(b"a b", source=b"g s"), "source"),
    "wildcard in PUB": (raw_header(b"a.*"), "wildcard"),
    "tail wildcard in PUB": (raw_header(b"a.>"), "wildcard"),
    "wildcard before a bad byte": (raw_header(b"*.a b"), "wildcard"),
    "bad byte before a wildcard": (raw_header(b"a b.*"), "subject"),
    "> not last": (raw_header(b">.a", kind=Kind.SUB), "wildcard"),
    "* inside a token": (raw_header(b"a.b*", kind=Kind.UNSUB), "subject"),
}


@pytest.mark.parametrize("raw, reason", BAD_HEADERS.values(), ids=BAD_HEADERS.keys())
def test_bad_header_is_refused_for_its_reason(impl, raw, reason):
    with pytest.raises(WireError) as refused:
        impl.parse_header(raw)
    assert refused.value.reason == reason
    assert refused.value.detail
    with pytest.raises(WireError) as refused:
        impl.restamp(raw, "kernel", 1)
    assert refused.value.reason == reason


def test_subscriptions_may_carry_wildcards(impl):
    for kind in (Kind.SUB, Kind.UNSUB):
        for pattern in ("*", ">", "a.*.c", "a.>", "*.*.>"):
            assert impl.parse_header(impl.pack_header(kind, pattern)).subject == pattern


BAD_FIELDS = {
    "kind 0": (dict(kind=0), "kind"),
    "kind 11": (dict(kind=11), "kind"),
    "non-ASCII subject": (dict(subject="vitesse.é"), "subject"),
    "non-ASCII source": (dict(source="gpsé"), "source"),
    "both non-ASCII": (dict(subject="é", source="é"), "source"),
    "source with a dot": (dict(source="g.ps"), "source"),
    "source of 65": (dict(source="s" * 65), "source"),
    "subject of 256": (dict(subject="a" * 256), "subject"),
    "wildcard in PUB": (dict(subject="a.*"), "wildcard"),
    "flags 2**16": (dict(flags=2**16), "range"),
    "negative seq": (dict(seq=-1), "range"),
    "seq 2**32": (dict(seq=2**32), "range"),
    "msg_id 2**64": (dict(msg_id=2**64), "range"),
    "negative corr_id": (dict(corr_id=-1), "range"),
    "timestamp 2**63": (dict(timestamp_ns=2**63), "range"),
    "timeout 2**32": (dict(timeout_ms=2**32), "range"),
    "float flags": (dict(flags=1.0), "range"),
}


@pytest.mark.parametrize("fields, reason", BAD_FIELDS.values(), ids=BAD_FIELDS.keys())
def test_pack_refuses_what_parse_would_refuse(impl, fields, reason):
    with pytest.raises(WireError) as refused:
        impl.pack_header(**(dict(kind=Kind.PUB, subject="a.b") | fields))
    assert refused.value.reason == reason
    assert isinstance(refused.value, ValueError)


def test_restamp_writes_source_and_seq_and_keeps_the_rest(impl):
    raw = packed(flags=1, seq=9, msg_id=5, corr_id=6, timestamp_ns=7, timeout_ms=8, source="liar")
    stamped = impl.parse_header(impl.restamp(raw, "gps-1", 2**32 - 1))
    assert stamped == impl.parse_header(raw)._replace(source="gps-1", seq=2**32 - 1)
    assert impl.parse_header(impl.restamp(packed(source=""), "", 0)).source == ""


@pytest.mark.parametrize("source, seq, reason", [
    ("gps.x", 1, "source"), ("é", 1, "source"), ("s" * 65, 1, "source"),
    ("gps", -1, "range"), ("gps", 2**32, "range"), ("gps", 1.5, "range"),
])
def test_restamp_refuses_a_source_or_seq_it_cannot_write(impl, source, seq, reason):
    with pytest.raises(WireError) as refused:
        impl.restamp(GOOD, source, seq)
    assert refused.value.reason == reason


# -- properties: anything in, the typed error or a result out; the twins agree -------------------

@given(raw=header_bytes)
def test_any_bytes_parse_or_raise_wire_error(impl, raw):
    kind, result = outcome(impl.parse_header, raw)
    assert kind in ("ok", "refused")
    if kind == "ok":
        assert type(result) is Header
        fields = result._asdict()
        del fields["version"]
        assert impl.pack_header(**fields) == raw


@given(raw=header_bytes)
def test_twins_parse_every_input_alike(impl, raw):
    assert outcome(impl.parse_header, raw) == outcome(PURE.parse_header, raw)


@given(kind=wild_kinds, subject=wild_text, source=wild_text, flags=wild_ints, seq=wild_ints,
       msg_id=wild_ints, corr_id=wild_ints, timestamp_ns=wild_ints, timeout_ms=wild_ints)
def test_twins_pack_every_input_alike(impl, kind, subject, **fields):
    assert outcome(impl.pack_header, kind, subject, **fields) == outcome(
        PURE.pack_header, kind, subject, **fields)


@given(raw=header_bytes, source=wild_text, seq=wild_ints)
def test_twins_restamp_every_input_alike(impl, raw, source, seq):
    assert outcome(impl.restamp, raw, source, seq) == outcome(PURE.restamp, raw, source, seq)
