from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from carnel.drivers.obd.reader import Line, LineReader, Overflow, Prompt


def test_lines_end_with_cr_lf_or_both_and_blank_lines_vanish() -> None:
    items = LineReader().feed(b"ATZ\r\r\rELM327 v1.5\r\n\r\n41 0D 32 \n\r>")
    assert items == [Line("ATZ"), Line("ELM327 v1.5"), Line("41 0D 32"), Prompt()]


def test_nul_padding_from_clones_is_ignored() -> None:
    assert LineReader().feed(b"\x00\x00OK\r\r>") == [Line("OK"), Prompt()]


def test_a_prompt_ends_a_partial_line() -> None:
    assert LineReader().feed(b"NO DATA>") == [Line("NO DATA"), Prompt()]


def test_an_endless_line_is_dropped_and_reported() -> None:
    reader = LineReader(max_line=8)
    items = reader.feed(b"0123456789ABCDEF\r")
    assert isinstance(items[0], Overflow)
    assert Line("0123456789ABCDEF") not in items


@given(st.binary(max_size=300), st.lists(st.integers(0, 300), max_size=10))
def test_any_split_of_the_stream_reads_the_same(data: bytes, cuts: list[int]) -> None:
    whole = LineReader().feed(data)
    reader = LineReader()
    pieces: list = []
    edges = sorted({0, len(data), *(min(cut, len(data)) for cut in cuts)})
    for start, end in zip(edges, edges[1:]):
        pieces += reader.feed(data[start:end])
    assert pieces == whole
