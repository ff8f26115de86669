"""The `carnel` command.

Exit codes: 0 done; 1 the kernel or a request failed; 2 a usage error; 3 no kernel is running;
130 interrupted (Ctrl-C) before it was done.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import msgspec

from carnel.ipc import _impl
from carnel.ipc.schemas.bus import BusStats, Empty
from carnel.ipc.schemas.kernel import Accepted, ProcessInfo, ProcessList, ProcessName
from carnel.ipc.settings import run_dir
from carnel.kernel import tools
from carnel.kernel.tools.bus import bus_stats, call, run_tool
from carnel.kernel.tools.console import reader_may_leave
from carnel.kernel.tools.session import (
    EXIT_OK, KernelGone, ToolError, operator_session, report)
from carnel.kernel.tools.tables import table

VERSION = "0.1.0"


def version_text() -> str:
    import zmq

    hot = {"ext": "compiled extension", "pure": "pure-Python twin"}[_impl.IMPLEMENTATION]
    return (f"carnel {VERSION}\nhot path: {_impl.IMPLEMENTATION} ({hot})\n"
            f"pyzmq {zmq.pyzmq_version()}, libzmq {zmq.zmq_version()}, "
            f"Python {sys.version.split()[0]}")


class _PrintVersion(argparse.Action):
    """--version as `carnel version` prints it: argparse's own action re-wraps it into one line."""

    def __init__(self, option_strings, dest, **kwargs) -> None:
        super().__init__(option_strings, dest, nargs=0, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        print(version_text())
        parser.exit()


class _CommandParser(argparse.ArgumentParser):
    """A command's parser. With `intermixed=True` its options may also come between its
    positionals: argparse alone takes an optional positional as left out at the first option,
    so `carnel call SUBJECT --type T JSON` would leave JSON unrecognised."""

    def __init__(self, *args, intermixed: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._intermixed = intermixed

    def parse_known_args(self, args=None, namespace=None):
        if not self._intermixed:
            return super().parse_known_args(args, namespace)
        # It parses by calling parse_known_args twice (the options, then the positionals),
        # which must then parse plainly.
        self._intermixed = False
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._intermixed = True


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="carnel",
        description="carnel: a microkernel-style service platform for a car's head unit.",
        epilog="The run directory (bus socket, logs) is $CARNEL_RUN_DIR, else "
               "$XDG_RUNTIME_DIR/carnel, else /run/carnel.",
    )
    p.add_argument("--version", action=_PrintVersion, help="show the version and which hot path "
                   "is active, and exit")
    p.add_argument("--run-dir", type=Path, help="where the kernel's bus socket and logs live")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True,
                           parser_class=_CommandParser)

    boot = sub.add_parser("boot", help="boot a system image in the foreground",
                          description="Boot a system image: start every process in dependency "
                          "order and supervise them until Ctrl-C or SIGTERM, which stop them "
                          "in reverse order (exit 0).")
    boot.add_argument("image", nargs="?", default="dev",
                      help="a bundled image name or a path to a .toml manifest (default: dev)")
    sub.add_parser("version", help="show the version and which hot path is active",
                   description="Show carnel's version, which hot path is active (the compiled "
                   "extension or the pure-Python twin; CARNEL_PURE=1 forces the twin) and the "
                   "versions of pyzmq, libzmq and Python.")
    sub.add_parser("images", help="list the bundled system images",
                   description="List the system images bundled with carnel: `carnel boot NAME` "
                   "boots one.")
    ps = sub.add_parser("ps", help="list the image's processes")
    ps.add_argument("--json", action="store_true", help="one JSON object instead of a table")
    stats = sub.add_parser("stats", help="bus statistics per process and per subject",
                           description="Messages, bytes, drops and refusals per process since "
                           "it joined the bus (a restart starts again from zero), and per subject "
                           "since the image booted. This command's own session is left out.")
    stats.add_argument("--json", action="store_true", help="one JSON object instead of tables")
    for verb in ("start", "stop", "restart"):
        cmd = sub.add_parser(verb, help=f"{verb} one process of the running image",
                             description=f"{verb.capitalize()} one process of the running image; "
                             "`carnel ps` shows its state.")
        cmd.add_argument("name", help="the process's name in the image, as `carnel ps` lists it")
    sub.add_parser("shutdown", help="stop the running image in order")
    logs_cmd = sub.add_parser("logs", help="show the kernel's log (every process's lines)")
    logs_cmd.add_argument("name", nargs="?", help="only this process's lines")
    logs_cmd.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    for tool in tools.modules():
        tool.add_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    with reader_may_leave():  # `carnel stats | head` ends quietly
        return _main(argv)
    return EXIT_OK


def _main(argv: list[str] | None) -> int:
    args = parser().parse_args(argv)
    directory = args.run_dir or run_dir()
    if args.command == "version":
        print(version_text())
        return EXIT_OK
    if args.command == "images":
        from carnel.kernel.image import bundled_images

        print("\n".join(bundled_images()))
        return EXIT_OK
    if args.command == "boot":
        from carnel.kernel.boot import boot

        return boot(args.image, directory)
    if args.command == "logs":
        from carnel.kernel.logview import show_logs

        return show_logs(directory, args.name, args.follow)
    for tool in tools.modules():
        if args.command == tool.NAME:
            try:
                return tool.run(args, directory)
            except ToolError as exc:
                return report(tool.NAME, exc)
            except KeyboardInterrupt:
                return EXIT_OK  # a watching tool (tap, top) stopped with Ctrl-C
    return control(args, directory)


def control(args, directory: Path) -> int:
    """ps, stats, start, stop, restart, shutdown: one request to the kernel as the operator."""
    command = args.command
    if command in ("start", "stop", "restart"):
        request, reply_type = ProcessName(name=args.name), Accepted
    elif command == "ps":
        request, reply_type = Empty(), ProcessList
    elif command == "stats":
        request, reply_type = Empty(), BusStats
    else:
        request, reply_type = Empty(), Accepted
    try:
        reply = run_tool(_ask_kernel, directory, command, request, reply_type)
    except KernelGone as exc:
        if command != "shutdown":
            return report(command, exc)
        # A kernel with little to stop can be gone before its answer is read: it did as asked.
        print("shutdown: the kernel has stopped")
        return EXIT_OK
    except ToolError as exc:
        return report(command, exc)
    if getattr(args, "json", False):
        print(msgspec.json.encode(reply).decode())
    elif command == "ps":
        print(format_ps(reply))
    elif command == "stats":
        print(format_stats(reply))
    else:
        print(f"{command}: {reply.detail}")
    return EXIT_OK


async def _ask_kernel(directory: Path, command: str, request, reply_type):
    async with operator_session(directory, command) as client:
        if command == "stats":
            return await bus_stats(client)
        return await call(client, f"kernel.{command}", request, reply_type)


def format_ps(listing: ProcessList) -> str:
    rows = [[
        p.name, p.state, str(p.pid or "-"),
        f"{p.uptime_s:.1f}s" if p.uptime_s is not None else "-",
        str(p.restarts), p.last_exit or "-",
        f"{p.rss_kb / 1024:.1f}M" if p.rss_kb else "-",
        str(p.msgs_in), str(p.msgs_out), str(p.drops), str(p.rejects),
    ] for p in listing.processes]
    head = f"image {listing.image} ({listing.phase}), hot path: {listing.hot_path}"
    states = {p.name: p for p in listing.processes}
    notes = [_waiting_note(p, states.get(p.waits_for), listing.operator_may_start)
             for p in listing.processes if p.waits_for]
    return "\n".join([head, table(
        ["NAME", "STATE", "PID", "UPTIME", "RESTARTS", "LAST EXIT", "RSS", "IN", "OUT", "DROPS",
         "REFUSED"], rows), *notes])


def _waiting_note(process: ProcessInfo, dependency: ProcessInfo | None,
                  operator_may_start: bool) -> str:
    how = ""
    if dependency is not None:
        ended = [dependency.state, *([dependency.last_exit] if dependency.last_exit else [])]
        how = f" ({', '.join(ended)})"
    remedy = (f"`carnel start {process.waits_for}` starts both" if operator_may_start else
              "booting the image again starts both (its [operator] may not call kernel.start)")
    return f"{process.name} waits for {process.waits_for}{how}: {remedy}"


def format_stats(stats: BusStats) -> str:
    procs = table(["PROCESS", "MSGS IN", "BYTES IN", "MSGS OUT", "BYTES OUT", "DROPS", "REFUSED"],
                   [[p.name, str(p.msgs_in), str(p.bytes_in), str(p.msgs_out), str(p.bytes_out),
                     str(p.drops), json.dumps(p.rejects) if p.rejects else "-"]
                    for p in stats.processes])
    subjects = table(["SUBJECT", "SUBSCRIBERS", "SEQ", "MSGS", "BYTES", "DROPS", "RETAINED"],
                      [[s.subject, str(s.subscribers), str(s.seq), str(s.msgs), str(s.bytes),
                        str(s.drops), "yes" if s.retained else "-"] for s in stats.subjects])
    return f"hot path: {stats.implementation}\n\n{procs}\n\n{subjects}"


if __name__ == "__main__":
    sys.exit(main())
