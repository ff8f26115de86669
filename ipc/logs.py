"""structlog set-up shared by the kernel and every process: JSON for machines, colour for people."""
from __future__ import annotations

import json
import logging
import sys
from typing import TextIO

import structlog


class JsonCopy:
    """A processor that appends each event as one JSON line to a file, then passes it on."""

    def __init__(self, sink: TextIO) -> None:
        self.sink = sink

    def __call__(self, logger, method_name, event_dict):
        self.sink.write(json.dumps(event_dict, default=str) + "\n")
        self.sink.flush()
        return event_dict


def configure(fmt: str = "console", stream: TextIO | None = None, level: int = logging.INFO,
              json_file: TextIO | None = None) -> None:
    """One JSON object a line (`fmt="json"`) or readable console lines; optionally a JSON file too."""
    stream = stream or sys.stderr
    renderer = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=stream.isatty())
    )
    processors = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
    ]
    if json_file is not None:
        processors.append(JsonCopy(json_file))
    structlog.configure(
        processors=[*processors, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=True,
    )
