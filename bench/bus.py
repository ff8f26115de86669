"""Bus throughput and latency, every case against its baselines in one run.

    python bench/bus.py [--quick] [--json] [--cases ...] [--sizes ...] [--rounds N]
                        [--router-cpu auto|off|N] [--io-threads N]

Cases, all on ipc://, all moving the same multipart message ([header][payload]) with the same
sender and receiver loops, each side in its own process:

  direct       raw pyzmq DEALER -> DEALER, no broker
  cproxy       libzmq's own C forwarder (zmq.proxy between two DEALERs) between the two:
               the ceiling for any broker
  router_ext   the kernel's router, compiled hot path, as the kernel runs it: every client
               authenticated (ZAP, PLAIN) and every message checked against access lists
  router_open  the same router with authentication and access control off: what they cost
  router_pure  the kernel's router, pure-Python twin (authenticated, access lists on)
  sdk          a typed Struct published by one Service, decoded and handed to another's handler

Throughput counts messages delivered to the receiver; a router drops for a receiver that
cannot keep up (a broker that blocks, like zmq.proxy, slows the sender instead), so drops are
reported beside it. A client of the kernel reports the bytes it has taken, as a Service does
(one small message per eighth of its window): the kernel drops past the window for a client
that does not. Beside the broker's CPU per message, its page faults per message: pages the OS
mapped and zeroed for it, which a broker that keeps its buffers does not pay again. Round trips
are ping-pong: direct and cproxy bounce the frames back, the router cases publish the answer on
another subject, the SDK case is `call()` to a provider.

Each case sends its messages in rounds and reports the median round, with the spread of the
rounds beside it: at 1 MiB one round takes a fraction of a second and two runs of the same
case can differ by a third on these machines. Round trips are timed in blocks. Every case's
processes are up at once and the cases take turns, round by round and block by block, so a
ratio compares cases measured in the same minutes rather than one after the other.
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import msgspec
import zmq

HERE = Path(__file__).resolve()
CASES = ("direct", "cproxy", "router_ext", "router_open", "router_pure", "sdk")
# Who may do what in the router cases: each client role gets just what it uses.
ACCESS_IMAGE = """
[image]
name = "bench"

[process.bench-send]
module = "bench"
publish = ["bench.data"]
call = ["bench.echo"]

[process.bench-recv]
module = "bench"
subscribe = ["bench.data"]
provide = ["bench"]

[process.bench-ping]
module = "bench"
publish = ["bench.ping"]
subscribe = ["bench.pong"]

[process.bench-echo]
module = "bench"
subscribe = ["bench.ping"]
publish = ["bench.pong"]
"""
SIZES = (64, 2**20)
# Once a round's messages stop coming, how long until the rest count as dropped: far longer
# than the queues on the way take to drain.
ROUND_IDLE_MS = 500
# Round trips are timed in this many blocks, the cases taking turns.
PING_BLOCKS = 10


class Payload(msgspec.Struct, frozen=True, kw_only=True, tag="bench"):
    """What the SDK case sends: typed, so it is really encoded and decoded."""

    index: int
    body: bytes


# -- roles: each runs in its own process -----------------------------------------------------------


def header_for(subject: str) -> bytes:
    from carnel.ipc import _impl
    from carnel.ipc.wire import Kind

    return _impl.pack_header(Kind.PUB, subject)


def credential() -> tuple[bytes, bytes] | None:
    """The credential the router role issued to this client role, if authentication is on."""
    user, secret = os.environ.get("BENCH_USER"), os.environ.get("BENCH_SECRET")
    return (user.encode(), secret.encode()) if user and secret else None


def join(sock: zmq.Socket, name: str, subscribe: list[str]) -> TakenReports:
    """The handshake a raw client does with the kernel: HELLO, then SUBs, each acknowledged."""
    from carnel.ipc import _impl
    from carnel.ipc.schemas.bus import Hello, Welcome
    from carnel.ipc.wire import Kind

    sock.send_multipart([_impl.pack_header(Kind.HELLO, "hello", msg_id=1),
                         msgspec.msgpack.encode(Hello(name=name, pid=os.getpid()))])
    welcome = msgspec.msgpack.decode(sock.recv_multipart()[1], type=Welcome)
    for i, pattern in enumerate(subscribe, start=2):
        sock.send_multipart([_impl.pack_header(Kind.SUB, pattern, msg_id=i), b""])
        sock.recv_multipart()
    return TakenReports(sock, welcome.max_unread)


class TakenReports:
    """What a client of the kernel owes it, as the SDK pays it: the running total of publication
    bytes it has taken, every eighth of its window. Past the window the kernel drops for it."""

    def __init__(self, sock: zmq.Socket, window: int) -> None:
        from carnel.ipc import _impl
        from carnel.ipc.wire import Kind

        self.sock = sock
        self.every = window // 8 if window else float("inf")
        self.due = self.every  # the total at which the next report is due
        self.header = _impl.pack_header(Kind.CONTROL, "taken")

    def report(self, total: int) -> None:
        from carnel.ipc.schemas.bus import Taken

        self.sock.send_multipart([self.header, msgspec.msgpack.encode(Taken(total=total))])
        self.due = total + self.every


def role_router(endpoint: str, secure: bool, router_cpu: str, io_threads: int) -> None:
    import trio
    from carnel.kernel.access import AccessControl, access_control
    from carnel.kernel.credentials import CredentialStore
    from carnel.kernel.image import parse_image
    from carnel.kernel.placement import router_cpu as resolve_cpu
    from carnel.kernel.router import Router, RouterSettings
    from carnel.kernel.zap import ZapHandler

    async def main() -> None:
        ctx = zmq.Context(io_threads=io_threads)  # as the kernel makes it from [bus] io_threads
        image = parse_image(ACCESS_IMAGE, "bench.toml")
        access = access_control(image) if secure else AccessControl.allow_all()
        cpu = resolve_cpu(int(router_cpu) if router_cpu.isdigit() else router_cpu)
        router = Router(ctx, RouterSettings(endpoint=endpoint, heartbeat_ms=600_000,
                                            authenticate=secure, cpu=cpu), access=access)
        store = CredentialStore()
        secrets = {spec.name: store.issue(spec.name).decode() for spec in image.processes}
        async with trio.open_nursery() as nursery:
            if secure:
                await nursery.start(ZapHandler(ctx, store).run)
            await nursery.start(router.run)
            print(f"ready {json.dumps(secrets if secure else {})}", flush=True)
            await trio.to_thread.run_sync(sys.stdin.read)
            nursery.cancel_scope.cancel()

    trio.run(main)


def role_cproxy(front: str, back: str) -> None:
    # DEALER on both sides: frames pass through unchanged, as they do between two DEALERs.
    ctx = zmq.Context.instance()
    frontend = ctx.socket(zmq.DEALER)
    frontend.bind(front)
    backend = ctx.socket(zmq.DEALER)
    backend.bind(back)
    print("ready", flush=True)
    try:
        zmq.proxy(frontend, backend)
    except zmq.ContextTerminated:
        pass


def dealer(endpoint: str, bind: bool) -> zmq.Socket:
    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 1000)
    plain = credential()
    if plain is not None:
        sock.plain_username, sock.plain_password = plain
    (sock.bind if bind else sock.connect)(endpoint)
    return sock


def role_send(endpoint: str, bind: bool, count: int, size: int, broker: bool) -> None:
    """Send `count` messages each time the orchestrator says go."""
    sock = dealer(endpoint, bind)
    if broker:
        join(sock, "bench-send", [])
    header = header_for("bench.data")
    payload = b"p" * size
    print("ready", flush=True)
    send = sock.send_multipart
    while sys.stdin.readline():
        for _ in range(count):
            send([header, payload], copy=False)
        print("sent", flush=True)


def role_receive(endpoint: str, bind: bool, count: int, broker: bool) -> None:
    """Drain in batches (NOBLOCK until EAGAIN), then poll: the loop every case shares.

    One round each time the orchestrator says go, and its result: a round ends with its
    `count`th message, or once nothing more arrives (the rest was dropped on the way: count
    what came).
    """
    sock = dealer(endpoint, bind)
    # Only the kernel needs reports: for the others, the first is never due.
    reports = join(sock, "bench-recv", ["bench.data"]) if broker else None
    due = reports.due if reports else float("inf")
    taken = 0  # over every round, as the kernel counts
    print("ready", flush=True)
    poller = zmq.Poller()
    poller.register(sock, zmq.POLLIN)
    recv = sock.recv_multipart
    while sys.stdin.readline():
        got = 0
        nbytes = 0
        first = last = 0.0
        idle_ms = 10_000  # until the round's first message
        while got < count:
            try:
                frames = recv(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                if not poller.poll(idle_ms):
                    break
                idle_ms = ROUND_IDLE_MS
                continue
            if not got:
                first = time.perf_counter()
            got += 1
            size = len(frames[-1].buffer)
            nbytes += size
            taken += size
            if taken >= due:
                reports.report(taken)
                due = reports.due
            last = time.perf_counter()
        print(json.dumps({"received": got, "bytes": nbytes, "seconds": last - first}),
              flush=True)


def role_echo(endpoint: str, bind: bool, broker: bool) -> None:
    sock = dealer(endpoint, bind)
    pong = reports = None
    if broker:
        reports = join(sock, "bench-echo", ["bench.ping"])
        pong = header_for("bench.pong")
    taken = 0
    print("ready", flush=True)
    while True:
        frames = sock.recv_multipart(copy=False)
        if pong is not None:
            frames = [pong, *frames[1:]]
            taken += len(frames[-1])
            if taken >= reports.due:
                reports.report(taken)
        sock.send_multipart(frames, copy=False)


def role_ping(endpoint: str, bind: bool, size: int, broker: bool) -> None:
    """Each line from the orchestrator is a number of round trips to time: their samples, in us."""
    sock = dealer(endpoint, bind)
    reports = join(sock, "bench-ping", ["bench.pong"]) if broker else None
    due = reports.due if reports else float("inf")
    header = header_for("bench.ping")
    payload = b"p" * size
    taken = 0
    print("ready", flush=True)
    while line := sys.stdin.readline():
        samples = []
        for _ in range(int(line)):
            start = time.perf_counter_ns()
            sock.send_multipart([header, payload], copy=False)
            sock.recv_multipart(copy=False)
            samples.append((time.perf_counter_ns() - start) / 1000)
            taken += size
            if taken >= due:  # between round trips, outside their timing
                reports.report(taken)
                due = reports.due
        print(json.dumps({"samples": samples}), flush=True)


def role_sdk(endpoint: str, part: str, count: int, size: int) -> None:
    """One Service each side: the sender's lines are "send" (a round of `count` publications)
    or a number of `call()`s to time; the receiver's lines each start a round."""
    import trio
    from carnel.ipc import Service
    from carnel.ipc.settings import Credential, ProcessSettings

    svc = Service(f"bench-{part}")
    got = {"n": 0, "bytes": 0, "first": 0.0, "last": 0.0, "done": trio.Event()}

    if part == "recv":
        @svc.subscribe("bench.data")
        async def on_data(msg: Payload) -> None:
            if not got["n"]:
                got["first"] = time.perf_counter()
            got["n"] += 1
            got["bytes"] += len(msg.body)
            got["last"] = time.perf_counter()
            if got["n"] >= count:
                got["done"].set()

        @svc.provide("bench.echo")
        async def echo(msg: Payload) -> Payload:
            return msg

    async def receive_round() -> None:
        """As role_receive's rounds: `count` messages, or what came before they stopped."""
        got.update(n=0, bytes=0, first=0.0, last=0.0, done=trio.Event())
        idle = 10.0
        while not got["done"].is_set():
            before = got["n"]
            with trio.move_on_after(idle):
                await got["done"].wait()
            if got["n"] == before:
                break
            idle = ROUND_IDLE_MS / 1000
        print(json.dumps({"received": got["n"], "bytes": got["bytes"],
                          "seconds": got["last"] - got["first"]}), flush=True)

    async def send(line: str) -> None:
        msg = Payload(index=0, body=b"p" * size)
        if line == "send":
            for i in range(count):
                await svc.publish("bench.data", Payload(index=i, body=msg.body))
            print("sent", flush=True)
            return
        samples = []
        for _ in range(int(line)):
            start = time.perf_counter_ns()
            await svc.call("bench.echo", msg, Payload, timeout=10)
            samples.append((time.perf_counter_ns() - start) / 1000)
        print(json.dumps({"samples": samples}), flush=True)

    async def main() -> None:
        plain = credential()
        settings = ProcessSettings(name=svc.name, bus=endpoint, log_format="json",
                                   credential=Credential(plain[0].decode(), plain[1])
                                   if plain else None)
        async with trio.open_nursery() as nursery:
            await nursery.start(svc.serve, settings)
            print("ready", flush=True)
            while line := (await trio.to_thread.run_sync(sys.stdin.readline)).strip():
                await (receive_round() if part == "recv" else send(line))
            nursery.cancel_scope.cancel()

    trio.run(main)


# -- the orchestrator ------------------------------------------------------------------------------


class Proc:
    def __init__(self, *args: str, env: dict | None = None) -> None:
        self.p = subprocess.Popen(
            [sys.executable, str(HERE), "--role", *args], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True, env={**os.environ, **(env or {})},
        )

    def expect(self, word: str) -> str:
        line = self.p.stdout.readline()
        if not line.startswith(word):
            raise SystemExit(f"bench: a helper process said {line!r}, expected {word!r}")
        return line

    def say(self, line: str) -> None:
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()

    def result(self) -> dict:
        return json.loads(self.p.stdout.readline())

    def stop(self) -> None:
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait()


def cpu_seconds(pid: int) -> float:
    """CPU time of a process, all its threads (libzmq's I/O threads included), to the
    nanosecond: /proc/<pid>/stat counts in clock ticks, too coarse for a short round."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as stat:
                total += int(stat.read().split()[0])
        except FileNotFoundError:  # the thread ended meanwhile
            pass
    return total / 1e9


def page_faults(pid: int) -> int:
    """Minor page faults of a process so far, all its threads (minflt in /proc/<pid>/stat)."""
    with open(f"/proc/{pid}/stat") as stat:
        return int(stat.read().rsplit(")", 1)[1].split()[7])


@dataclass(frozen=True)
class RouterOptions:
    """The kernel router's [bus] settings that the command line can change."""

    cpu: str = "auto"
    io_threads: int = 1


class CaseRun:
    """One case's processes for one payload size, started once and then driven round by round.

    Throughput has a broker (none for direct), a sender and a receiver; round trips have a
    broker of their own, a pinger and an echo (the SDK case: one Service each side does both).
    Every case's processes are up at once and idle until told to go, so the rounds of all cases
    alternate and share whatever the machine is doing meanwhile.
    """

    def __init__(self, case: str, size: int, count: int, tmp: str, router: RouterOptions) -> None:
        self.case, self.size, self.count, self.tmp = case, size, count, tmp
        self.router = router
        self.procs: list[Proc] = []
        self.rounds: list[dict] = []
        self.samples: list[float] = []
        self.broker_cpu = 0.0
        self.broker_faults = 0

    def start(self) -> None:
        size, count = str(self.size), str(self.count)
        self.broker, send_ep, recv_ep, secrets = self._broker("data")
        as_ = functools.partial(self._as, secrets)
        if self.case == "sdk":
            self.receiver = self._start("sdk", send_ep, "recv", count, size, env=as_("bench-recv"))
            self.sender = self._start("sdk", send_ep, "send", count, size, env=as_("bench-send"))
            self.pinger = self.sender
            return
        joins = str(int(self.case.startswith("router")))  # a raw client's handshake with the kernel
        bind = str(int(self.case == "direct"))
        self.receiver = self._start("receive", recv_ep, bind, count, joins,
                                    env=as_("bench-recv"))
        self.sender = self._start("send", send_ep, "0", count, size, joins,
                                  env=as_("bench-send"))
        _, send_ep, recv_ep, secrets = self._broker("rtt")
        as_ = functools.partial(self._as, secrets)
        self._start("echo", recv_ep, bind, joins, env=as_("bench-echo"))
        self.pinger = self._start("ping", send_ep, "0", size, joins, env=as_("bench-ping"))

    def throughput_round(self) -> None:
        before = cpu_seconds(self.broker.p.pid) if self.broker else 0.0
        faults_before = page_faults(self.broker.p.pid) if self.broker else 0
        self.receiver.say("go")
        self.sender.say("send")
        self.sender.expect("sent")
        self.rounds.append(self.receiver.result())
        if self.broker:
            self.broker_cpu += cpu_seconds(self.broker.p.pid) - before
            self.broker_faults += page_faults(self.broker.p.pid) - faults_before

    def round_trips(self, count: int) -> list[float]:
        self.pinger.say(str(count))
        return self.pinger.result()["samples"]

    def stop(self) -> None:
        for proc in self.procs:
            proc.stop()

    def result(self) -> dict:
        rates = [r["received"] / r["seconds"] if r["seconds"] else 0.0 for r in self.rounds]
        median = sorted(range(len(rates)), key=rates.__getitem__)[len(rates) // 2]
        delivered = sum(r["received"] for r in self.rounds)
        seconds = self.rounds[median]["seconds"] or float("nan")
        return {
            "case": self.case, "size": self.size,
            "msgs_per_s": round(rates[median]),
            "mb_per_s": round(self.rounds[median]["bytes"] / seconds / 1e6, 1),
            "rounds_msgs_per_s": [round(rate) for rate in rates],
            "delivered": delivered, "sent": self.count * len(self.rounds),
            # What the broker could forward with a whole core: the ceiling once the endpoints
            # (Python loops here) are not the bottleneck.
            "broker_cpu_us_per_msg": round(self.broker_cpu / delivered * 1e6, 2)
            if self.broker_cpu and delivered else None,
            "broker_faults_per_msg": round(self.broker_faults / delivered, 1)
            if self.broker and delivered else None,
            "rtt_p50_us": round(statistics.median(self.samples), 1),
            "rtt_p99_us": round(statistics.quantiles(self.samples, n=100)[98], 1),
        }

    def _start(self, *args: str, env: dict | None = None) -> Proc:
        proc = Proc(*args, env=env)
        self.procs.append(proc)
        proc.expect("ready")
        return proc

    def _broker(self, purpose: str) -> tuple[Proc | None, str, str, dict[str, str]]:
        """A broker for this case: its process, the endpoints its senders and its receivers
        use, and the credentials it issued (by client name)."""
        a = f"ipc://{self.tmp}/{self.case}-{self.size}-{purpose}-a.sock"
        b = f"ipc://{self.tmp}/{self.case}-{self.size}-{purpose}-b.sock"
        if self.case == "direct":
            return None, a, a, {}
        if self.case == "cproxy":
            return self._start("cproxy", a, b), a, b, {}
        secure = self.case != "router_open"
        proc = Proc("router", a, str(int(secure)), self.router.cpu, str(self.router.io_threads),
                    env={"CARNEL_PURE": "1"} if self.case == "router_pure" else None)
        self.procs.append(proc)
        return proc, a, a, json.loads(proc.expect("ready").split(" ", 1)[1])

    @staticmethod
    def _as(secrets: dict[str, str], name: str) -> dict | None:
        return {"BENCH_USER": name, "BENCH_SECRET": secrets[name]} if name in secrets else None


def measure(cases: list[str], size: int, count: int, rounds: int, pings: int, tmp: str,
            router: RouterOptions, say=lambda text: None) -> list[dict]:
    """Every case at one size: throughput rounds, then round trips in blocks, the cases taking
    turns (in a rotating order) so that no case gets the machine's quiet or busy spell alone."""
    runs = [CaseRun(case, size, count, tmp, router) for case in cases]
    try:
        for run in runs:
            say(f"{size} B: starting {run.case}")
            run.start()
        for i in range(rounds):
            say(f"{size} B: throughput round {i + 1}/{rounds}")
            for run in runs[i % len(runs):] + runs[:i % len(runs)]:
                run.throughput_round()
        for run in runs:
            run.round_trips(max(1, pings // 10))  # warm-up, not counted
        for i in range(PING_BLOCKS):
            say(f"{size} B: round trips {i + 1}/{PING_BLOCKS}")
            for run in runs[i % len(runs):] + runs[:i % len(runs)]:
                run.samples += run.round_trips(max(1, pings // PING_BLOCKS))
        return [run.result() for run in runs]
    finally:
        for run in runs:
            run.stop()


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--role":
        import logging

        from carnel.ipc import logs

        logs.configure("json", stream=sys.stderr, level=logging.WARNING)
        role, *args = sys.argv[2:]
        if role == "router":
            role_router(args[0], args[1] == "1", args[2], int(args[3]))
        elif role == "cproxy":
            role_cproxy(*args)
        elif role == "send":
            role_send(args[0], args[1] == "1", int(args[2]), int(args[3]), args[4] == "1")
        elif role == "receive":
            role_receive(args[0], args[1] == "1", int(args[2]), args[3] == "1")
        elif role == "echo":
            role_echo(args[0], args[1] == "1", args[2] == "1")
        elif role == "ping":
            role_ping(args[0], args[1] == "1", int(args[2]), args[3] == "1")
        elif role == "sdk":
            role_sdk(args[0], args[1], int(args[2]), int(args[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer messages: under 60 s")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated subset")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)),
                        help=f"comma-separated subset of {', '.join(map(str, SIZES))}")
    parser.add_argument("--rounds", type=int, default=None,
                        help="throughput rounds per case, the median reported "
                             "(default 3 at 64 B and 9 at 1 MiB; with --quick 1 and 3)")
    parser.add_argument("--router-cpu", default="auto",
                        help="the kernel router's [bus] router_cpu: auto (as the kernel boots "
                             "by default), off, or a CPU number")
    parser.add_argument("--io-threads", type=int, default=1, choices=range(1, 9), metavar="N",
                        help="the kernel router's [bus] io_threads (default 1, as the kernel "
                             "boots by default)")
    opts = parser.parse_args()
    if opts.router_cpu not in ("auto", "off") and not opts.router_cpu.isdigit():
        parser.error(f"--router-cpu: auto, off or a CPU number, not {opts.router_cpu!r}")
    cases = opts.cases.split(",")
    sizes = [int(size) for size in opts.sizes.split(",")]
    unknown = sorted(set(cases) - set(CASES)) + sorted(set(sizes) - set(SIZES))
    if unknown:
        parser.error(f"unknown case or size: {', '.join(map(str, unknown))}")
    counts = {64: 100_000 if opts.quick else 500_000, 2**20: 300 if opts.quick else 2000}
    # A 1 MiB round is short and swings most from round to round (the router and the C
    # forwarder measured 0.91x-1.09x of each other over 3 rounds, 0.99x-1.03x over 25), so it
    # takes the most rounds, and even --quick takes three.
    rounds = {64: 1 if opts.quick else 3, 2**20: 3 if opts.quick else 9}
    if opts.rounds is not None:
        rounds = dict.fromkeys(SIZES, opts.rounds)
    pings = {64: 1000 if opts.quick else 5000, 2**20: 100 if opts.quick else 500}
    results = []
    progress = (lambda text: None) if opts.json else (
        lambda text: print(f"  {text} ...", file=sys.stderr, flush=True))
    with tempfile.TemporaryDirectory(prefix="carnel-bench-") as tmp:
        for size in sizes:
            measured = measure(cases, size, counts[size], rounds[size], pings[size], tmp,
                               RouterOptions(opts.router_cpu, opts.io_threads), progress)
            results += measured
            if opts.json:
                for result in measured:
                    print(json.dumps(result), flush=True)
    if not opts.json:
        print_table(results)


def print_table(results: list[dict]) -> None:
    by = {(r["case"], r["size"]): r for r in results}
    print(f"{'case':<12} {'size':>8} {'msgs/s':>9} {'rounds':>7} {'MB/s':>7} {'delivered':>15} "
          f"{'p50 us':>7} {'p99 us':>8} {'broker us/msg':>13} {'faults':>6}   "
          f"{'msgs/s':>7} {'capacity':>8} {'rtt p50':>7}")
    print(f"{'':<12} {'':>8} {'(median)':>9} {'spread':>7} {'':>7} {'':>15} {'':>7} {'':>8} "
          f"{'(CPU)':>13} {'/msg':>6}   {'vs C proxy':>16} {'vs direct':>9}")
    for r in results:
        proxy = by.get(("cproxy", r["size"]))
        direct = by.get(("direct", r["size"]))
        thr = r["msgs_per_s"] / proxy["msgs_per_s"] if proxy else float("nan")
        cap = (proxy["broker_cpu_us_per_msg"] / r["broker_cpu_us_per_msg"]
               if proxy and r["broker_cpu_us_per_msg"] else float("nan"))
        rtt = r["rtt_p50_us"] / direct["rtt_p50_us"] if direct else float("nan")
        cpu = r["broker_cpu_us_per_msg"]
        faults = r["broker_faults_per_msg"]
        each = r["rounds_msgs_per_s"]
        spread = f"±{(max(each) - min(each)) / 2 / r['msgs_per_s']:.0%}" if len(each) > 1 else "-"
        print(f"{r['case']:<12} {r['size']:>8} {r['msgs_per_s']:>9} {spread:>7} {r['mb_per_s']:>7} "
              f"{r['delivered']:>7}/{r['sent']:<7} {r['rtt_p50_us']:>7} {r['rtt_p99_us']:>8} "
              f"{cpu if cpu is not None else '-':>13} {faults if faults is not None else '-':>6}   "
              f"{thr:>6.2f}x {cap:>7.2f}x {rtt:>8.2f}x")
    for size in sorted({r["size"] for r in results}):
        ext, open_ = by.get(("router_ext", size)), by.get(("router_open", size))
        if ext and open_:
            print(f"authentication and access control at {size} B: on / off = "
                  f"{ext['msgs_per_s'] / open_['msgs_per_s']:.2f}x throughput, "
                  f"{open_['rtt_p50_us'] / ext['rtt_p50_us']:.2f}x round trip (higher is better)")
    ext, pure = by.get(("router_ext", 64)), by.get(("router_pure", 64))
    if ext and pure and ext["broker_cpu_us_per_msg"]:
        print(f"\nrouter hot path at 64 B, CPU per message: pure / ext = "
              f"{pure['broker_cpu_us_per_msg'] / ext['broker_cpu_us_per_msg']:.2f}x")


if __name__ == "__main__":
    main()
