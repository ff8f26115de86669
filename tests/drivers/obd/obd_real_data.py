"""Real ECU answers, fetched at test time from the ELM327-emulator package on PyPI.

Its `car` scenario (elm/obd_message.py) holds answers captured from a real car's ECUs, frame
by frame (CAN header, PCI byte, data). The package is CC BY-NC-SA 4.0, which rules out
copying an excerpt into this repository, so the sdist is downloaded into pytest's cache on
first use and checked against a pinned digest (tests/public_data.py). Only the data is read: the
module is parsed as text, never imported or run.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from public_data import Sdist, fetch_sdist

ELM327_EMULATOR = Sdist("elm327-emulator", "4.0.0",
                        "8da16f79ac0137d5a6dc73f164062868978c4774fefe0a2410f4512866e90123",
                        "elm327_emulator-4.0.0")
MEMBER = "elm/obd_message.py"


@dataclass(frozen=True)
class RealFrame:
    """One CAN frame as the ECU sent it: identifier and the 8 data bytes' meaningful part."""

    can_id: int
    data: bytes


@dataclass(frozen=True)
class RealAnswer:
    """Every frame a request got back in one capture, from one or more ECUs."""

    name: str
    request: bytes
    frames: tuple[RealFrame, ...]


def fetch_source(root: Path) -> str:
    """The text of obd_message.py, from the pinned sdist unpacked under `root`."""
    tree = fetch_sdist(ELM327_EMULATOR, root)
    return (tree / MEMBER).read_text(encoding="utf-8")


_ADDRESS = re.compile(r'^(ECU_R?_?ADDR_\w+) = "([0-9A-F]{3})"', re.M)
_ENTRY = re.compile(r"\n        '(\w+)': \{")
_REQUEST = re.compile(r"'Request': '\^([0-9A-F]+)' \+ ELM_FOOTER")
_FRAME = re.compile(r"HD\((\w+)\)\s*\+\s*SZ\('([0-9A-F]{2})'\)\s*\+\s*DT\('([0-9A-F ]+)'\)")


def car_answers(source: str) -> list[RealAnswer]:
    """Every static answer of the `car` scenario, one RealAnswer per captured response."""
    addresses = {name: int(value, 16) for name, value in _ADDRESS.findall(source)}
    start = source.index("\n    'car': {")
    end = re.compile(r"\n    '\w+': \{").search(source, start + 1)
    scenario = re.sub(r"#[^\n]*", "", source[start:end.start() if end else len(source)])
    pieces = _ENTRY.split(scenario)[1:]
    answers = []
    for name, body in zip(pieces[::2], pieces[1::2]):
        request = _REQUEST.search(body)
        if request is None or "'Response':" not in body:
            continue
        response = body.split("'Response':", 1)[1]
        for element in re.split(r",\s*\n", response):
            frames = tuple(RealFrame(addresses[header], bytes.fromhex(pci + data))
                           for header, pci, data in _FRAME.findall(element))
            if frames:
                answers.append(RealAnswer(name, bytes.fromhex(request[1]), frames))
    return answers
