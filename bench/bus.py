"""Bus throughput and latency, every case against its baselines in one run.

    python bench/bus.py [--quick] [--json] [--cases ...] [--sizes ...] [--rounds N]

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
reported beside it. Round trips are ping-pong: direct and cproxy bounce the frames back, the
router cases publish the answer on another subject, the SDK case is `call()` to a provider.

Each case sends its messages in rounds and reports the median round, with the spread of the
rounds beside it: at 1 MiB one round takes a fraction of a second and two runs of the same
case can differ by a third on these machines.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
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
publish = ["bench.data", "bench.ping"]
subscribe = ["bench.pong"]
call = ["bench.echo"]

[process.bench-recv]
module = "bench"
subscribe = ["bench.data", "bench.ping"]
publish = ["bench.pong"]
provide = ["bench"]
"""
SIZES = (64, 2**20)
# Once a round's messages stop coming, how long until the rest count as dropped: far longer
# than the queues on the way take to drain.
ROUND_IDLE_MS = 500


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


def join(sock: zmq.Socket, name: str, subscribe: list[str]) -> None:
    """The handshake a raw client does with the kernel: HELLO, then SUBs, each acknowledged."""
    from carnel.ipc import _impl
    from carnel.ipc.schemas.bus import Hello
    from carnel.ipc.wire import Kind

    sock.send_multipart([_impl.pack_header(Kind.HELLO, "hello", msg_id=1),
                         msgspec.msgpack.encode(Hello(name=name, pid=os.getpid()))])
    sock.recv_multipart()
    for i, pattern in enumerate(subscribe, start=2):
        sock.send_multipart([_impl.pack_header(Kind.SUB, pattern, msg_id=i), b""])
        sock.recv_multipart()


def role_router(endpoint: str, secure: bool) -> None:
    import trio

    from carnel.ipc import _impl
    from carnel.kernel.access import AccessControl, access_control
    from carnel.kernel.credentials import CredentialStore
    from carnel.kernel.image import parse_image
    from carnel.kernel.router import Router, RouterSettings
    from carnel.kernel.zap import ZapHandler

    async def main() -> None:
        ctx = zmq.Context.instance()
        image = parse_image(ACCESS_IMAGE, "bench.toml")
        access = access_control(image) if secure else AccessControl.allow_all()
        router = Router(ctx, RouterSettings(endpoint=endpoint, heartbeat_ms=600_000,
                                            authenticate=secure), access=access)
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
            send([header, payload], copy=size > 4096)
        print("sent", flush=True)


def role_receive(endpoint: str, bind: bool, count: int, rounds: int, broker: bool) -> None:
    """Drain in batches (NOBLOCK until EAGAIN), then poll: the loop every case shares.

    One result per round: a round ends with its `count`th message, or once nothing more
    arrives (the rest was dropped on the way: count what came).
    """
    sock = dealer(endpoint, bind)
    if broker:
        join(sock, "bench-recv", ["bench.data"])
    print("ready", flush=True)
    poller = zmq.Poller()
    poller.register(sock, zmq.POLLIN)
    recv = sock.recv_multipart
    for _ in range(rounds):
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
            nbytes += len(frames[-1].buffer)
            last = time.perf_counter()
        print(json.dumps({"received": got, "bytes": nbytes, "seconds": last - first}),
              flush=True)


def role_echo(endpoint: str, bind: bool, broker: bool) -> None:
    sock = dealer(endpoint, bind)
    pong = None
    if broker:
        join(sock, "bench-recv", ["bench.ping"])
        pong = header_for("bench.pong")
    print("ready", flush=True)
    while True:
        frames = sock.recv_multipart(copy=False)
        if pong is not None:
            frames = [pong, *frames[1:]]
        sock.send_multipart(frames, copy=False)


def role_ping(endpoint: str, bind: bool, rounds: int, size: int, broker: bool) -> None:
    sock = dealer(endpoint, bind)
    if broker:
        join(sock, "bench-send", ["bench.pong"])
    header = header_for("bench.ping")
    payload = b"p" * size
    print("ready", flush=True)
    sys.stdin.readline()
    samples = []
    for i in range(rounds + rounds // 10):
        start = time.perf_counter_ns()
        sock.send_multipart([header, payload], copy=size > 4096)
        sock.recv_multipart(copy=False)
        if i >= rounds // 10:  # the first tenth warms up
            samples.append((time.perf_counter_ns() - start) / 1000)
    print(json.dumps({"samples": samples}), flush=True)


def role_sdk(endpoint: str, part: str, count: int, size: int, rounds: int, pings: int) -> None:
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

    async def send_rounds() -> None:
        body = b"p" * size
        for _ in range(rounds):
            await trio.to_thread.run_sync(sys.stdin.readline)
            for i in range(count):
                await svc.publish("bench.data", Payload(index=i, body=body))
            print("sent", flush=True)
        await trio.to_thread.run_sync(sys.stdin.readline)
        samples = []
        msg = Payload(index=0, body=body)
        for i in range(pings + pings // 10):
            start = time.perf_counter_ns()
            await svc.call("bench.echo", msg, Payload, timeout=10)
            if i >= pings // 10:
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
            if part == "recv":
                for _ in range(rounds):
                    await receive_round()
                await trio.sleep_forever()  # go on answering bench.echo until stopped
            else:
                await send_rounds()
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

    def say(self) -> None:
        self.p.stdin.write("go\n")
        self.p.stdin.flush()

    def result(self) -> dict:
        return json.loads(self.p.stdout.readline())

    def stop(self) -> None:
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and all its threads (libzmq's I/O threads included)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_case(case: str, size: int, count: int, rounds: int, pings: int, tmp: str) -> dict:
    """`rounds` throughput rounds of `count` messages (the median round is reported), then
    `pings` round trips."""
    a, b = f"ipc://{tmp}/a.sock", f"ipc://{tmp}/b.sock"
    procs: list[Proc] = []
    try:
        broker = case.startswith("router") or case == "sdk"
        secrets: dict[str, str] = {}
        if broker:
            pure = case == "router_pure"
            secure = case != "router_open"
            server = Proc("router", a, str(int(secure)),
                          env={"CARNEL_PURE": "1"} if pure else None)
            procs.append(server)
            secrets = json.loads(server.expect("ready").split(" ", 1)[1])
        elif case == "cproxy":
            server = Proc("cproxy", a, b)
            procs.append(server)
            server.expect("ready")
        send_ep = a
        recv_ep = b if case == "cproxy" else a
        recv_bind = case == "direct"

        def as_(name: str) -> dict | None:
            return {"BENCH_USER": name, "BENCH_SECRET": secrets[name]} if name in secrets else None

        if case == "sdk":
            shape = (str(count), str(size), str(rounds), str(pings))
            receiver = Proc("sdk", a, "recv", *shape, env=as_("bench-recv"))
            procs.append(receiver)
            receiver.expect("ready")
            sender = Proc("sdk", a, "send", *shape, env=as_("bench-send"))
        else:
            receiver = Proc("receive", recv_ep, str(int(recv_bind)), str(count), str(rounds),
                            str(int(broker)), env=as_("bench-recv"))
            procs.append(receiver)
            receiver.expect("ready")
            sender = Proc("send", send_ep, "0", str(count), str(size), str(int(broker)),
                          env=as_("bench-send"))
        procs.append(sender)
        sender.expect("ready")
        cpu_before = cpu_seconds(server.p.pid) if case != "direct" else 0.0
        got = []
        for _ in range(rounds):
            sender.say()
            sender.expect("sent")
            got.append(receiver.result())
        broker_cpu = cpu_seconds(server.p.pid) - cpu_before if case != "direct" else None
        if case == "sdk":
            sender.say()
            samples = sender.result()["samples"]
        else:
            sender.stop()
            receiver.stop()
            echo = Proc("echo", recv_ep, str(int(recv_bind)), str(int(broker)),
                        env=as_("bench-recv"))
            procs.append(echo)
            echo.expect("ready")
            ping = Proc("ping", send_ep, "0", str(pings), str(size), str(int(broker)),
                        env=as_("bench-send"))
            procs.append(ping)
            ping.expect("ready")
            ping.say()
            samples = ping.result()["samples"]
    finally:
        for proc in procs:
            proc.stop()
    rates = [r["received"] / r["seconds"] if r["seconds"] else 0.0 for r in got]
    median = sorted(range(rounds), key=rates.__getitem__)[rounds // 2]
    delivered = sum(r["received"] for r in got)
    seconds = got[median]["seconds"] or float("nan")
    return {
        "case": case, "size": size,
        "msgs_per_s": round(rates[median]),
        "mb_per_s": round(got[median]["bytes"] / seconds / 1e6, 1),
        "rounds_msgs_per_s": [round(rate) for rate in rates],
        "delivered": delivered, "sent": count * rounds,
        # What the broker could forward with a whole core: the ceiling once the endpoints
        # (Python loops here) are not the bottleneck.
        "broker_cpu_us_per_msg": round(broker_cpu / delivered * 1e6, 2)
        if broker_cpu else None,
        "rtt_p50_us": round(statistics.median(samples), 1),
        "rtt_p99_us": round(statistics.quantiles(samples, n=100)[98], 1),
    }

def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--role":
        import logging

        from carnel.ipc import logs

        logs.configure("json", stream=sys.stderr, level=logging.WARNING)
        role, *args = sys.argv[2:]
        if role == "router":
            role_router(args[0], args[1] == "1")
        elif role == "cproxy":
            role_cproxy(*args)
        elif role == "send":
            role_send(args[0], args[1] == "1", int(args[2]), int(args[3]), args[4] == "1")
        elif role == "receive":
            role_receive(args[0], args[1] == "1", int(args[2]), int(args[3]), args[4] == "1")
        elif role == "echo":
            role_echo(args[0], args[1] == "1", args[2] == "1")
        elif role == "ping":
            role_ping(args[0], args[1] == "1", int(args[2]), int(args[3]), args[4] == "1")
        elif role == "sdk":
            role_sdk(args[0], args[1], int(args[2]), int(args[3]), int(args[4]), int(args[5]))
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
                             "(default 3, with --quick 3 at 1 MiB and 1 at 64 B)")
    opts = parser.parse_args()
    cases = opts.cases.split(",")
    sizes = [int(size) for size in opts.sizes.split(",")]
    unknown = sorted(set(cases) - set(CASES)) + sorted(set(sizes) - set(SIZES))
    if unknown:
        parser.error(f"unknown case or size: {', '.join(map(str, unknown))}")
    counts = {64: 100_000 if opts.quick else 500_000, 2**20: 300 if opts.quick else 2000}
    # A 1 MiB round is short and swings most from run to run, so even --quick takes three.
    rounds = {64: 1 if opts.quick else 3, 2**20: 3}
    if opts.rounds is not None:
        rounds = dict.fromkeys(SIZES, opts.rounds)
    pings = {64: 1000 if opts.quick else 5000, 2**20: 100 if opts.quick else 500}
    results = []
    with tempfile.TemporaryDirectory(prefix="carnel-bench-") as tmp:
        for size in sizes:
            for case in cases:
                if not opts.json:
                    print(f"  {case} {size} B ...", file=sys.stderr, flush=True)
                result = run_case(case, size, counts[size], rounds[size], pings[size], tmp)
                results.append(result)
                if opts.json:
                    print(json.dumps(result), flush=True)
    if not opts.json:
        print_table(results)


def print_table(results: list[dict]) -> None:
    by = {(r["case"], r["size"]): r for r in results}
    print(f"{'case':<12} {'size':>8} {'msgs/s':>9} {'rounds':>7} {'MB/s':>7} {'delivered':>15} "
          f"{'p50 us':>7} {'p99 us':>8} {'broker us/msg':>13}   "
          f"{'msgs/s':>7} {'capacity':>8} {'rtt p50':>7}")
    print(f"{'':<12} {'':>8} {'(median)':>9} {'spread':>7} {'':>7} {'':>15} {'':>7} {'':>8} "
          f"{'(CPU)':>13}   {'vs C proxy':>16} {'vs direct':>9}")
    for r in results:
        proxy = by.get(("cproxy", r["size"]))
        direct = by.get(("direct", r["size"]))
        thr = r["msgs_per_s"] / proxy["msgs_per_s"] if proxy else float("nan")
        cap = (proxy["broker_cpu_us_per_msg"] / r["broker_cpu_us_per_msg"]
               if proxy and r["broker_cpu_us_per_msg"] else float("nan"))
        rtt = r["rtt_p50_us"] / direct["rtt_p50_us"] if direct else float("nan")
        cpu = r["broker_cpu_us_per_msg"]
        each = r["rounds_msgs_per_s"]
        spread = f"±{(max(each) - min(each)) / 2 / r['msgs_per_s']:.0%}" if len(each) > 1 else "-"
        print(f"{r['case']:<12} {r['size']:>8} {r['msgs_per_s']:>9} {spread:>7} {r['mb_per_s']:>7} "
              f"{r['delivered']:>7}/{r['sent']:<7} {r['rtt_p50_us']:>7} {r['rtt_p99_us']:>8} "
              f"{cpu if cpu is not None else '-':>13}   {thr:>6.2f}x {cap:>7.2f}x {rtt:>8.2f}x")
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
