"""`carnel fuzz`: drive a running process with generated and mutated messages, report crashes."""
from __future__ import annotations

import importlib.util
import random
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import trio

from carnel.ipc.client import BusClient
from carnel.ipc.errors import CallError
from carnel.ipc.schemas.bus import BusStats, Empty
from carnel.ipc.schemas.kernel import ProcessList
from carnel.kernel.access import access_control
from carnel.kernel.image import (
    Image, ImageError, bundled_image, bundled_images, find_image, load_image)
from carnel.kernel.tools.bus import call, failed, run_tool
from carnel.kernel.tools.console import ExamplesFormatter, positive_float
from carnel.kernel.tools.fuzzing.targets import Plan, plan
from carnel.kernel.tools.session import (
    EXIT_FAILED, EXIT_OK, EXIT_USAGE, ToolError, operator_session)

if TYPE_CHECKING:
    from carnel.kernel.tools.fuzzing.campaign import Campaign

NAME = "fuzz"


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        NAME, help="fuzz a running process with generated and mutated messages",
        description="Send process NAME of the running image messages generated from the "
        "schemas and mutated from valid ones (fields dropped, retyped or pushed to extremes, "
        "bytes cut and flipped), on the subjects its image table lets it subscribe to and "
        "the methods it provides, for --seconds. Reports replies by code, every crash (a "
        "restart or a failure, with the kernel's exit reason and the messages sent just "
        "before, as carnel pub/call lines where JSON can carry them) and every restart. "
        "Ctrl-C stops early and still reports. Exits 1 if anything crashed. The same --seed "
        "sends the same messages.",
        epilog="example: carnel fuzz trip --seconds 30\n"
               "         carnel fuzz nav --image my-image.toml --seed 7",
        formatter_class=ExamplesFormatter)
    p.add_argument("name", metavar="NAME", help="a process of the running image")
    p.add_argument("--seconds", type=positive_float, default=10.0, metavar="N",
                   help="how long to send for (default: 10)")
    p.add_argument("--seed", type=int, metavar="S", help="seed for the messages (default: random)")
    p.add_argument("--image", metavar="IMAGE",
                   help="the running image, as carnel boot takes it: a bundled image name or a "
                   "manifest path; its [process.NAME] table says what NAME may receive "
                   "(default: the image the kernel booted)")
    p.add_argument("--timeout", type=positive_float, default=2.0, metavar="S",
                   help="seconds to wait for each reply (default: 2)")


def run(args, directory: Path) -> int:
    if importlib.util.find_spec("hypothesis") is None:
        raise ToolError("carnel fuzz generates its messages with Hypothesis: pip install "
                        "hypothesis")
    run_seed = args.seed if args.seed is not None else random.randrange(2**32)
    return run_tool(_fuzz, directory, args, run_seed)


def running_image(listing: ProcessList, arg: str | None) -> Image:
    """The running image, to read its process tables: the image given, else the file the kernel
    booted from, else the bundled image of its name."""
    if arg is not None:
        image = _usage_error_if_bad(find_image, arg)
    elif listing.image_file:
        try:
            image = load_image(listing.image_file)
        except ImageError as exc:
            raise ToolError(f"cannot read the running image's file: {exc}; pass the image "
                            "with --image", EXIT_USAGE) from None
    elif listing.image in bundled_images():
        image = _usage_error_if_bad(bundled_image, listing.image)
    else:
        raise ToolError(f"image {listing.image!r} is not a bundled one: pass its file with "
                        "--image, so that its process tables say what to send", EXIT_USAGE)
    if image.name != listing.image:
        given = listing.image_file if arg is None else f"--image {arg}"
        raise ToolError(f"{given} is image {image.name!r}, but the kernel runs "
                        f"{listing.image!r}", EXIT_USAGE)
    return image


def _usage_error_if_bad(read: Callable[[str], Image], arg: str) -> Image:
    try:
        return read(arg)
    except ImageError as exc:
        raise ToolError(str(exc), EXIT_USAGE) from None


async def _plan(client: BusClient, name: str, image_arg: str | None) -> Plan:
    """What to send `name`: its image table's grants, made concrete with the subjects on the bus."""
    listing = await call(client, "kernel.ps", Empty(), ProcessList)
    process = next((p for p in listing.processes if p.name == name), None)
    if process is None:
        raise ToolError(f"no process named {name!r} in image {listing.image}", EXIT_USAGE)
    if process.state != "ready":
        raise ToolError(f"{name} is {process.state}, not ready: carnel start {name}")
    grants = access_control(running_image(listing, image_arg)).processes[name].grants
    stats = await call(client, "kernel.stats", Empty(), BusStats)
    targets = plan(grants.subscribe, grants.provide, (s.subject for s in stats.subjects))
    if not targets.targets:
        raise ToolError(f"nothing to send {name}: "
                        + "; ".join(targets.not_fuzzed or ["it receives nothing"]))
    return targets


async def _fuzz(directory: Path, args, run_seed: int) -> int:
    # These need Hypothesis, which `carnel` itself does not.
    from carnel.kernel.tools.fuzzing.campaign import Campaign
    from carnel.kernel.tools.fuzzing.findings import Findings, format_report
    from carnel.kernel.tools.fuzzing.inputs import InputSource

    async with operator_session(directory, NAME) as client:
        try:
            targets = await _plan(client, args.name, args.image)
            findings = Findings(process=args.name, seed=run_seed, not_fuzzed=targets.not_fuzzed)
            campaign = Campaign(client, findings, InputSource(targets.targets, run_seed),
                                request_timeout=args.timeout)
            # Opened before the start line, so that a Ctrl-C from whoever has read it is caught.
            with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                print(f"carnel fuzz: {args.name} for {args.seconds:g} s, seed {run_seed}, on "
                      + ", ".join(t.subject for t in targets.targets), file=sys.stderr,
                      flush=True)
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(_interrupt_on_signal, signals, campaign)
                    await campaign.run(args.seconds)
                    nursery.cancel_scope.cancel()
        except CallError as exc:
            raise failed(exc) from None
    # Interrupted or not, as record and replay do: the report of what was done, and the exit
    # code it calls for.
    print(format_report(findings))
    return EXIT_FAILED if findings.crashes else EXIT_OK


async def _interrupt_on_signal(signals, campaign: Campaign) -> None:
    async for signum in signals:
        campaign.interrupt(f"interrupted by {signal.Signals(signum).name}")
        return
