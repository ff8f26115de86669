"""`carnel info`: what a recording holds, whether finished or cut short."""
from __future__ import annotations

import argparse
from pathlib import Path

import msgspec

from carnel.kernel.tools.console import reader_may_leave
from carnel.kernel.tools import recording
from carnel.kernel.tools.recording import Tally, format_summary
from carnel.kernel.tools.session import EXIT_OK, EXIT_USAGE, ToolError

NAME = "info"

DESCRIPTION = """\
Summarise a recording made by carnel record: its duration, how many messages it holds, and per
subject the count, rate, message type, publishers, retained flag and attachments. A recording
whose recorder was killed has no summary section; it is read to its last whole chunk and shown
as cut short. Needs no running kernel."""

EXAMPLE = """\
example:
  carnel info drive.mcap
  file         drive.mcap (311.4 kB)
  state        complete
  start        2026-03-02 09:14:05.120 UTC
  duration     52.301 s
  messages     5230 (402.7 kB of payload)
  attachments  0 (0 B)

  SUBJECT        MESSAGES  RATE    TYPE                               SOURCES  RETAINED  ATTACHMENTS
  vehicle.Speed  523       9.99/s  carnel.ipc.schemas.vehicle.Signal  vehicle  yes       -"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(NAME, help="summarise a recording", description=DESCRIPTION,
                              epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", type=Path, metavar="FILE.mcap",
                   help="a recording; - reads one from stdin (carnel record -o - ... | carnel "
                        "info -)")
    p.add_argument("--json", action="store_true", help="one JSON object instead of text")


def run(args, directory: Path) -> int:
    tally = Tally()
    try:
        with recording.RecordingReader(args.file) as reader:
            for msg in reader:
                tally.add(msg)
            size = (reader.bytes_read if args.file == recording.STDIN
                    else args.file.stat().st_size)
            summary = tally.summary(recording.recording_name(args.file), size, reader.complete,
                                    reader.types)
    except recording.RecordingError as exc:
        raise ToolError(str(exc), EXIT_USAGE) from None
    with reader_may_leave():
        print(msgspec.json.encode(summary).decode() if args.json else format_summary(summary))
    return EXIT_OK
