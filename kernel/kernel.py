"""The kernel process: the router, the supervisor and its spawner, systemd, and signals.

It holds no domain logic. The supervisor decides (a pure state machine); this module feeds it
events (process exits from the spawner, READY and heartbeats from the router, timer ticks,
control requests, signals) and carries out its actions.
"""
from __future__ import annotations

import collections
import os
import signal
import subprocess
from pathlib import Path

import msgspec
import structlog
import trio
import zmq

from carnel.ipc import _impl
from carnel.ipc.schemas.kernel import ProcessStateChanged
from carnel.ipc.settings import OPERATOR, OPERATOR_FILE, bus_accepts, bus_endpoint
from carnel.kernel import placement
from carnel.kernel import supervision as sv
from carnel.kernel.access import AccessPolicy, Verb, access_control
from carnel.kernel.control import Control
from carnel.kernel.credentials import CredentialStore, write_operator_credential
from carnel.kernel.events import PeerAbusive, PeerEvent, PeerJoined, PeerLeft, PeerReady, PeerSeen
from carnel.kernel.forkserver import ForkServer, ForkServerError
from carnel.kernel.image import Image
from carnel.kernel.module_check import missing_module, unreadable_python
from carnel.kernel.router import Router, RouterSettings
from carnel.kernel.sdnotify import Notifier
from carnel.kernel.spawner import Spawner, unreachable_limits
from carnel.kernel.zap import ZapHandler

_encode = msgspec.msgpack.Encoder().encode
# Woken this much past a deadline, the kernel was not running, and its processes were not silent.
STALL_S = 0.5
# Long enough for the route thread and the router task to read what queued up meanwhile.
CATCH_UP_S = 0.25


class BootError(Exception):
    """The kernel could not start: another kernel holds the run dir, it is not writable, or
    the image asks for what this machine does not have."""


class Kernel:
    def __init__(self, image: Image, run_dir: Path, notifier: Notifier | None = None) -> None:
        self.image = image
        self.run_dir = run_dir
        self.notifier = notifier or Notifier()
        self.log = structlog.get_logger().bind(process="kernel")
        self.supervisor = sv.Supervisor(image)
        self.specs = {spec.name: spec for spec in image.processes}
        self.pids: dict[str, int] = {}  # name -> pid announced in HELLO, for READY/heartbeats
        self.stop_reason = ""
        self.escalated = False
        self.booted_at = 0.0
        self._wake: trio.CancelScope | None = None
        self._events: collections.deque[sv.Event] = collections.deque()
        self._handling = False
        self.ctx = zmq.Context(io_threads=image.bus.io_threads)
        # A process's uid is checked at connect only when the kernel can give it one (as root).
        uids = {spec.name: spec.uid for spec in image.processes
                if spec.uid is not None and os.geteuid() == 0}
        self.credentials = CredentialStore(uids)
        self.zap = ZapHandler(self.ctx, self.credentials)
        self.router: Router | None = None
        self.spawner: Spawner | None = None

    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED) -> int:
        """Boot the image and run until it stops; returns the process exit code."""
        self._prepare_run_dir()
        endpoint = bus_endpoint(self.run_dir)
        events_send, events = trio.open_memory_channel[PeerEvent](4096)
        bus = self.image.bus
        try:
            cpu = placement.router_cpu(bus.router_cpu)
        except placement.PlacementError as exc:
            raise BootError(f"image {self.image.name}, [bus]: {exc}") from None
        for spec in self.image.processes:
            for problem in unreachable_limits(spec):
                raise BootError(f"image {self.image.name}, [process.{spec.name}.limits]: "
                                f"{problem}")
            problem = (missing_module(spec, self.image.directory)
                       or unreadable_python(spec, os.geteuid() == 0))
            if problem is not None:
                raise BootError(f"image {self.image.name}, [process.{spec.name}]: {problem}")
        access = access_control(self.image)
        # What `blocked` suggests: `carnel start` only where the image lets the operator use it.
        self.operator_may_start = AccessPolicy(OPERATOR, access.operator).allows(
            Verb.CALL, "kernel.start")
        self.router = Router(self.ctx, RouterSettings(
            endpoint=endpoint,
            max_message_size=bus.max_message_size,
            hwm=bus.high_water_mark,
            max_unread=bus.max_unread,
            cpu=cpu,
        ), events_send, access=access)
        self.router.supervised = frozenset(self.specs)
        # The zygote warms up (imports) while the bus comes up.
        forkserver = self._start_zygote() if self.image.kernel.zygote else None
        try:
            async with trio.open_nursery() as nursery:
                # The ZAP handler first: from its bind on, the bus socket admits only credentials.
                await nursery.start(self.zap.run)
                await nursery.start(self.router.run)
                # Connecting needs write permission on the socket; the credential decides who joins.
                (self.run_dir / "bus.sock").chmod(0o666)
                write_operator_credential(self.run_dir, self.credentials)
                Control(self).install(self.router)
                forkserver = await self._zygote_ready(forkserver)
                self.spawner = Spawner(endpoint, nursery, self._on_exit,
                                       image_dir=self.image.directory,
                                       credentials=self.credentials, forkserver=forkserver)
                nursery.start_soon(self._follow_router, events)
                nursery.start_soon(self.spawner.reap_orphans)
                nursery.start_soon(self._watch_signals)
                if self.notifier.watchdog_interval:
                    nursery.start_soon(self._feed_watchdog, self.notifier.watchdog_interval)
                self.booted_at = trio.current_time()
                self.log.info("image_booting", image=self.image.name, hot_path=_impl.IMPLEMENTATION,
                              processes=list(self.supervisor.order))
                self.notifier.status(f"booting {self.image.name}")
                self.handle(sv.Boot(trio.current_time()))
                task_status.started()
                await self._tick_forever()
                nursery.cancel_scope.cancel()
        finally:
            if forkserver is not None:
                forkserver.close()
            self.ctx.destroy(linger=0)
            # Gone with the kernel, so that the tools say at once that no kernel is running.
            (self.run_dir / OPERATOR_FILE).unlink(missing_ok=True)
            (self.run_dir / "bus.sock").unlink(missing_ok=True)
        return 1 if self.escalated else 0

    def _start_zygote(self) -> ForkServer | None:
        try:
            return ForkServer()
        except OSError as exc:
            # The zygote's children must be re-parented to the kernel (PR_SET_CHILD_SUBREAPER);
            # where the OS or an emulator refuses that, processes start with fork and exec.
            self.log.warning("zygote_unavailable", error=str(exc), using="fork and exec")
            return None

    async def _zygote_ready(self, forkserver: ForkServer | None) -> ForkServer | None:
        if forkserver is None:
            return None
        try:
            await forkserver.ready(timeout=10)
        except (ForkServerError, trio.TooSlowError) as exc:
            self.log.error("zygote_failed", error=str(exc) or "no answer in 10 s",
                           using="fork and exec")
            forkserver.close()
            return None
        self.log.info("zygote_ready", pid=forkserver.pid)
        return forkserver

    def _prepare_run_dir(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        if self.run_dir.stat().st_uid != os.geteuid():
            raise BootError(f"{self.run_dir} belongs to another user: the kernel must own its "
                            "run directory")
        # Services may enter it to reach the socket (processes with their own uid need that),
        # but only the kernel may create, replace or list anything in it.
        self.run_dir.chmod(0o711)
        sock = self.run_dir / "bus.sock"
        if sock.exists():
            # A live kernel accepts connections; a file left by a crashed one is safe to replace.
            if bus_accepts(self.run_dir):
                raise BootError(f"a kernel is already running at {self.run_dir}")
            sock.unlink()

    # -- feeding the supervisor -------------------------------------------------------------------

    def handle(self, event: sv.Event) -> None:
        """Feed the supervisor; events raised while acting (Spawned) queue behind, never nest."""
        self._events.append(event)
        if self._handling:
            return
        self._handling = True
        try:
            while self._events:
                for action in self.supervisor.handle(self._events.popleft()):
                    self._act(action)
        finally:
            self._handling = False
        if self._wake is not None:
            self._wake.cancel()

    def _act(self, action: sv.Action) -> None:
        if isinstance(action, sv.Spawn):
            spec = self.specs[action.name]
            try:
                pid = self.spawner.spawn(spec)
            except (OSError, subprocess.SubprocessError) as exc:
                # SubprocessError: the child failed between fork and exec (setting its limits).
                self.log.error("spawn_failed", target=action.name, error=str(exc))
                self.handle(sv.SpawnFailed(action.name, str(exc), trio.current_time()))
            else:
                self.log.info("spawned", target=action.name, pid=pid)
                self.handle(sv.Spawned(action.name, pid, trio.current_time()))
        elif isinstance(action, sv.Kill):
            self.log.info("killing", target=action.name, pid=action.pid, signal=action.signal.name,
                          why=action.why)
            self.spawner.kill(action.pid, action.signal)
        elif isinstance(action, sv.StateChanged):
            status = next(s for s in self.supervisor.status() if s.name == action.name)
            payload = _encode(ProcessStateChanged(name=action.name, old=action.old.value,
                                                  new=action.new.value, pid=status.pid))
            subject = f"kernel.process.{action.name}"
            # Only the router task may touch its socket and route table, and only holding the
            # route thread off.
            self.router.post(lambda: self.router.publish(subject, payload, retain=True))
        elif isinstance(action, sv.Blocked):
            how = "failed and is not restarted" if action.on_state is sv.ProcessState.FAILED \
                else "was stopped"
            ended = f" ({action.on_exit})" if action.on_exit else ""
            hint = (f"`carnel start {action.on}` starts both" if self.operator_may_start else
                    "booting the image again starts both: its [operator] may not call "
                    "kernel.start")
            self.log.warning("blocked", target=action.name, after=action.on,
                             reason=f"{action.on} {how}{ended}", hint=hint)
            self.notifier.status(f"{action.name} waits for {action.on}, which {how}")
        elif isinstance(action, sv.ImageReady):
            elapsed = trio.current_time() - self.booted_at
            self.log.info("image_ready", image=self.image.name, seconds=round(elapsed, 3))
            self.notifier.ready(f"{self.image.name}: every process is ready")
        elif isinstance(action, sv.Escalate):
            self.escalated = True
            self.log.error("escalated", target=action.process, reason=action.reason)
            self.notifier.status(f"stopping: {action.reason}")
        elif isinstance(action, sv.ImageStopped):
            self.stop_reason = action.reason
            self.log.info("image_stopped", image=self.image.name, reason=action.reason)

    async def _tick_forever(self) -> None:
        while self.supervisor.phase is not sv.ImagePhase.STOPPED:
            deadline = self.supervisor.next_deadline()
            with trio.CancelScope(deadline=deadline if deadline is not None else float("inf")) as self._wake:
                await trio.sleep_forever()
            self._wake = None
            late = 0.0 if deadline is None else trio.current_time() - deadline
            if late > STALL_S:
                # The kernel itself did not run (stopped, suspended, starved): what its processes
                # sent meanwhile is still queued. Read it before judging them silent.
                self.log.warning("kernel_stalled", seconds=round(late, 3),
                                 catching_up_s=CATCH_UP_S)
                await trio.sleep(CATCH_UP_S)
            self.handle(sv.Tick(trio.current_time()))

    def _on_exit(self, name: str, pid: int, returncode: int) -> None:
        exited = sv.Exited.from_returncode(name, pid, returncode, trio.current_time())
        self.log.info("exited", target=name, pid=pid, how=exited.describe())
        self.credentials.revoke(name)  # a restart gets a new one; this one is dead with it
        if self.pids.get(name) == pid:
            self.router.post(lambda: self.router.forget(name, exited.describe()))
        self.handle(exited)

    async def _follow_router(self, events: trio.MemoryReceiveChannel[PeerEvent]) -> None:
        async for event in events:
            now = trio.current_time()
            if isinstance(event, PeerJoined):
                self.pids[event.name] = event.pid
            elif isinstance(event, PeerReady):
                pid = self.pids.get(event.name)
                if pid is not None and event.name in self.specs:
                    self.handle(sv.Ready(event.name, pid, now))
            elif isinstance(event, PeerSeen):
                pid = self.pids.get(event.name)
                if pid is not None and event.name in self.specs:
                    self.handle(sv.Heartbeat(event.name, pid, now))
            elif isinstance(event, PeerLeft):
                self.pids.pop(event.name, None)
            elif isinstance(event, PeerAbusive):
                self._kill_abusive(event)

    def _kill_abusive(self, event: PeerAbusive) -> None:
        """The router cut off one of the image's processes for abuse: kill it, so that its
        restart policy and intensity decide what happens next, as for any crash."""
        status = next((s for s in self.supervisor.status() if s.name == event.name), None)
        if status is None or status.pid is None:
            return
        self.log.error("killing_abusive_process", target=event.name, pid=status.pid,
                       refused=event.refused)
        self.spawner.kill(status.pid, signal.SIGKILL)

    async def _watch_signals(self) -> None:
        with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async for signum in signals:
                self.log.info("shutdown_requested", signal=signal.Signals(signum).name)
                self.notifier.stopping(f"stopping {self.image.name}")
                self.handle(sv.ShutdownRequested(trio.current_time()))

    async def _feed_watchdog(self, interval: float) -> None:
        while True:
            self.notifier.watchdog()
            await trio.sleep(interval)

    def uptime(self, started_at: float | None) -> float | None:
        return None if started_at is None else round(trio.current_time() - started_at, 3)
