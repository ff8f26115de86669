"""Bus recordings in MCAP, the log format of ROS 2 and Foxglove: layout, writing, reading, replay
timing and summaries, for `carnel record`, `carnel replay` and `carnel info`.

The reader and the writer load the mcap library, which only those commands need: they are
imported when first asked for, so that every other `carnel` command starts without it.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from carnel.kernel.tools.recording.layout import (
    STDIN, STDIN_IS_A_TERMINAL, BusMessage, recording_name)
from carnel.kernel.tools.recording.summary import Tally, format_summary, human_bytes, plural
from carnel.kernel.tools.recording.timing import Pace

if TYPE_CHECKING:
    from carnel.kernel.tools.recording.reader import RecordingError, RecordingReader
    from carnel.kernel.tools.recording.writer import RecordingWriter

_LOADED_ON_USE = {
    "RecordingError": "reader",
    "RecordingReader": "reader",
    "RecordingWriter": "writer",
}

__all__ = [
    "STDIN",
    "STDIN_IS_A_TERMINAL",
    "BusMessage",
    "Pace",
    "RecordingError",
    "RecordingReader",
    "RecordingWriter",
    "Tally",
    "format_summary",
    "human_bytes",
    "plural",
    "recording_name",
]


def __getattr__(name: str):
    module = _LOADED_ON_USE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
