"""`carnel boot`: load an image, set up logging, run the kernel in the foreground."""
from __future__ import annotations

import faulthandler
import os
import signal
import sys
from pathlib import Path

import trio

from carnel.ipc import logs
from carnel.ipc.settings import SOCKET_PATH_MAX
from carnel.kernel.image import ImageError, find_image
from carnel.kernel.kernel import BootError, Kernel

LOG_LIMIT = 16 * 2**20  # rotate the JSON log past this, keeping one previous file


def open_log(directory: Path):
    log_dir = directory / "log"
    log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = log_dir / "carnel.log"
    if path.exists() and path.stat().st_size > LOG_LIMIT:
        path.replace(log_dir / "carnel.log.1")
    return path.open("a", encoding="utf-8")


def boot(image_arg: str, directory: Path) -> int:
    try:
        image = find_image(image_arg)
    except ImageError as exc:
        print(f"carnel boot: {exc}", file=sys.stderr)
        return 2
    sock = os.fsencode(directory / "bus.sock")
    if len(sock) > SOCKET_PATH_MAX:
        print(f"carnel boot: the bus socket would be {os.fsdecode(sock)}, {len(sock)} bytes: a "
              f"Unix socket's path may have at most {SOCKET_PATH_MAX}; choose a shorter run "
              "directory (--run-dir or $CARNEL_RUN_DIR)", file=sys.stderr)
        return 2
    try:
        json_log = open_log(directory)
    except OSError as exc:
        print(f"carnel boot: cannot write the run directory {directory}: {exc}", file=sys.stderr)
        return 1
    # `kill -USR1 <kernel>` prints every thread's stack: the first thing to look at in a hang.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    with json_log:
        # Under systemd (JOURNAL_STREAM is set when stderr is the journal) one JSON object a
        # line, which journalctl -o cat and log shippers read; on a terminal, readable lines.
        fmt = "json" if os.environ.get("JOURNAL_STREAM") else "console"
        logs.configure(fmt, json_file=json_log)
        kernel = Kernel(image, directory)
        try:
            return trio.run(kernel.run)
        except BootError as exc:
            print(f"carnel boot: {exc}", file=sys.stderr)
            return 1
