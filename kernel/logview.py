"""`carnel logs`: print the kernel's JSON log, one process or all, optionally following it."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

FOLLOW_POLL_S = 0.2


def format_line(fields: dict) -> str:
    head = f"{fields.pop('timestamp', '')} {fields.pop('process', '?'):<10} " \
           f"{fields.pop('level', 'info'):<7} {fields.pop('event', '')}"
    rest = " ".join(f"{k}={v}" for k, v in fields.items())
    return f"{head} {rest}".rstrip()


def show_logs(directory: Path, name: str | None, follow: bool) -> int:
    path = directory / "log" / "carnel.log"
    if not path.exists():
        print(f"carnel logs: no log at {path}: has a kernel run here? (carnel boot)",
              file=sys.stderr)
        return 3
    with path.open(encoding="utf-8", errors="replace") as source:
        try:
            while True:
                line = source.readline()
                if not line:
                    if not follow:
                        return 0
                    sys.stdout.flush()
                    time.sleep(FOLLOW_POLL_S)
                    continue
                try:
                    fields = json.loads(line)
                except ValueError:
                    continue  # a line cut by a crash mid-write
                if name is None or fields.get("process") == name:
                    print(format_line(fields))
        except KeyboardInterrupt:
            return 0
