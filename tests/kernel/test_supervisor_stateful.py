"""The supervisor against a small reference model of OTP's rules, under random event sequences.

The test plays the world around the machine (spawner, processes, clock, operator) and keeps its
own account of what OTP says must happen: which exits restart what, when the restart intensity
is exceeded, and which processes the supervisor owes a stop. Every action the machine returns
is checked against that account, and so is everything it should have done and did not.
"""
from __future__ import annotations

import itertools
import signal
from dataclasses import dataclass, field

from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine, initialize, invariant, precondition, rule)

from carnel.kernel.image import BusConfig, Image, ProcessSpec, SupervisorConfig, start_order
from carnel.kernel.supervision import (
    Blocked, Boot, Escalate, Exited, Heartbeat, ImageReady, ImageStopped, Kill, ProcessState,
    Ready, RestartRequested, ShutdownRequested, Spawn, SpawnFailed, Spawned, StartRequested,
    StateChanged, StopRequested, Supervisor, SupervisorError, Tick)

# OTP's restart matrix, written out: (restart type, exited abnormally) -> restarted.
RESTARTED = {
    ("permanent", False): True, ("permanent", True): True,
    ("transient", False): False, ("transient", True): True,
    ("temporary", False): False, ("temporary", True): False,
}
# Normal exits are listed twice: they are the only ones that tell the restart types apart.
EXITS = [(0, None), (0, None), (1, None), (3, None), (None, signal.SIGSEGV),
         (None, signal.SIGTERM), (None, signal.SIGKILL)]


@st.composite
def images(draw: st.DrawFn) -> Image:
    count = draw(st.integers(2, 4))  # one process alone cannot tell the strategies apart
    names = [f"p{i}" for i in range(count)]
    processes = []
    for rank, name in enumerate(names):
        processes.append(ProcessSpec(
            name=name, module=f"demo.{name}",
            restart=draw(st.sampled_from(["permanent", "transient", "temporary"])),
            # Only earlier ranks, so `after` is acyclic; the file order is shuffled below.
            after=tuple(draw(st.sets(st.sampled_from(names[:rank]))) if rank else ()),
            start_timeout=draw(st.sampled_from([0.5, 1.0, 2.0])),
            heartbeat_interval=draw(st.sampled_from([0.5, 1.0])),
            heartbeat_misses=draw(st.integers(1, 3)),
            shutdown_timeout=draw(st.sampled_from([0.0, 0.5, 1.0])),
        ))
    delay = draw(st.sampled_from([0.0, 0.05, 0.2]))
    config = SupervisorConfig(
        strategy=draw(st.sampled_from(["one_for_one", "one_for_all", "rest_for_one"])),
        intensity=draw(st.sampled_from([0, 1, 2, 3, 5])),
        period=draw(st.sampled_from([1.0, 3.0, 10.0])),
        restart_delay=delay, restart_delay_max=draw(st.sampled_from([0.2, 1.0])))
    return Image(name="random", description="", supervisor=config, bus=BusConfig(),
                 processes=tuple(draw(st.permutations(processes))))


@dataclass
class World:
    """The processes as the test sees them: pids, who said READY, which signals they got."""

    now: float = 0.0
    pending_spawn: set[str] = field(default_factory=set)
    pid: dict[str, int] = field(default_factory=dict)
    spawned_at: dict[str, float] = field(default_factory=dict)
    last_beat: dict[str, float] = field(default_factory=dict)  # set once READY
    signals: dict[str, list[signal.Signals]] = field(default_factory=dict)
    term_at: dict[str, float] = field(default_factory=dict)
    old_pids: list[tuple[str, int]] = field(default_factory=list)

    def live(self, name: str) -> bool:
        return name in self.pid or name in self.pending_spawn

    def ready(self, name: str) -> bool:
        return name in self.last_beat and not self.signals.get(name)

    def gone(self, name: str) -> None:
        self.pending_spawn.discard(name)
        if name in self.pid:
            self.old_pids.append((name, self.pid.pop(name)))
        for table in (self.spawned_at, self.last_beat, self.signals, self.term_at):
            table.pop(name, None)


@dataclass
class Reference:
    """What OTP says: who should run, who is owed a stop, and the restart window."""

    phase: str = "running"
    wanted: dict[str, bool] = field(default_factory=dict)
    owed_stop: set[str] = field(default_factory=set)
    faulted: set[str] = field(default_factory=set)
    done: set[str] = field(default_factory=set)
    restart_times: list[float] = field(default_factory=list)
    temporary_starts: set[str] = field(default_factory=set)
    expect_escalation: bool = False
    escalations: int = 0
    announced_ready: bool = False
    announced_stopped: bool = False
    blocked: dict[str, str] = field(default_factory=dict)  # reported: who waits on whom


class SupervisorAgainstReference(RuleBasedStateMachine):
    @initialize(image=images())
    def boot(self, image: Image) -> None:
        self.image = image
        self.spec = {spec.name: spec for spec in image.processes}
        self.order = start_order(image)
        self.machine = Supervisor(image)
        self.world = World()
        self.ref = Reference(wanted={name: True for name in self.order},
                             temporary_starts=set(self.order))
        self.pids = itertools.count(1000)
        self.send(Boot(0.0))

    # Driving the machine and checking what it returns.

    def send(self, event: object) -> list[object]:
        """Hand `event` to the machine; the reference has already taken its account of it."""
        self.ref.blocked = {name: on for name, on in self.ref.blocked.items()
                            if self.blocks(name, on)}
        actions = self.machine.handle(event)
        for action in actions:
            self.check(action)
        assert self.ref.expect_escalation == any(isinstance(a, Escalate) for a in actions)
        self.ref.expect_escalation = False
        self.check_nothing_overdue()
        return actions

    def check(self, action: object) -> None:
        world, ref = self.world, self.ref
        match action:
            case Spawn(name=name):
                assert not world.live(name), f"{name} would have two live pids"
                assert ref.phase == "running" and ref.wanted[name]
                assert not (ref.owed_stop & self.live_names()), "spawn while a stop is pending"
                for dep in self.spec[name].after:
                    assert world.ready(dep) or dep in ref.done, f"{name} spawned before {dep}"
                if self.spec[name].restart == "temporary":
                    assert name in ref.temporary_starts, f"temporary {name} restarted"
                    ref.temporary_starts.discard(name)
                ref.done.discard(name)
                world.pending_spawn.add(name)
            case Kill(name=name, pid=pid, signal=signal.SIGTERM):
                assert world.pid.get(name) == pid
                candidates = ref.owed_stop & self.live_names()
                assert name in candidates, f"{name} stopped though nothing asked for it"
                assert not any(world.signals.get(c) for c in candidates), "two stops at once"
                assert name == max(candidates, key=self.order.index), "not reverse start order"
                world.signals.setdefault(name, []).append(signal.SIGTERM)
                world.term_at[name] = world.now
            case Kill(name=name, pid=pid, signal=signal.SIGKILL):
                assert world.pid.get(name) == pid
                if name in world.term_at:
                    assert world.now >= world.term_at[name] + self.spec[name].shutdown_timeout
                else:
                    assert self.overdue(name), f"{name} killed before any deadline"
                    ref.faulted.add(name)
                world.signals.setdefault(name, []).append(signal.SIGKILL)
            case Escalate():
                assert ref.expect_escalation and ref.escalations == 0
                ref.escalations += 1
            case Blocked(name=name, on=on):
                assert self.blocks(name, on), f"{name} is not kept from starting by {on}"
                assert ref.blocked.get(name) != on, f"{name} blocked on {on} said twice"
                ref.blocked[name] = on
            case ImageReady():
                assert not ref.announced_ready and ref.phase == "running"
                assert all(world.ready(n) for n in self.order
                           if self.spec[n].restart == "permanent")
                ref.announced_ready = True
            case ImageStopped():
                assert ref.phase == "stopping" and not self.live_names()
                assert not ref.announced_stopped
                ref.announced_stopped = True
                ref.phase = "stopped"
            case StateChanged():
                pass
            case _:
                raise AssertionError(f"unknown action {action!r}")

    def overdue(self, name: str) -> bool:
        """Whether `name` missed a deadline that the supervisor must act on by now."""
        world, spec = self.world, self.spec[name]
        if name not in world.pid or world.signals.get(name) == [signal.SIGKILL]:
            return False
        if name in world.term_at:
            return world.now >= world.term_at[name] + spec.shutdown_timeout \
                and signal.SIGKILL not in world.signals[name]
        if name in world.last_beat:
            return world.now >= world.last_beat[name] + spec.heartbeat_interval * \
                spec.heartbeat_misses
        return world.now >= world.spawned_at[name] + spec.start_timeout

    def blocks(self, name: str, dep: str) -> bool:
        """Whether `name` wants to run but `dep`, which it starts after, will not come up."""
        ref, world = self.ref, self.world
        return (ref.phase == "running" and ref.wanted[name] and not world.live(name)
                and dep in self.spec[name].after and not ref.wanted[dep]
                and not world.live(dep) and dep not in ref.done)

    def check_nothing_overdue(self) -> None:
        for name in self.order:
            assert not self.overdue(name) or signal.SIGKILL in self.world.signals.get(name, []), \
                f"{name} is past a deadline and was not killed"
        deadline = self.machine.next_deadline()
        assert deadline is None or deadline > self.world.now, "next deadline is in the past"
        if self.ref.phase == "running" and not self.ref.announced_ready:
            assert not all(self.world.ready(n) for n in self.order
                           if self.spec[n].restart == "permanent"), "ImageReady not announced"
        if self.ref.phase == "stopping":
            assert self.live_names(), "image stopped but ImageStopped not announced"
        for name in self.order:
            if any(self.blocks(name, dep) for dep in self.spec[name].after):
                assert self.blocks(name, self.ref.blocked.get(name, "")), \
                    f"{name} cannot start and nobody was told"

    def live_names(self) -> set[str]:
        return {name for name in self.order if self.world.live(name)}

    # The reference model's account of an exit.

    def ended(self, name: str, abnormal: bool) -> None:
        ref, world = self.ref, self.world
        abnormal = abnormal or name in ref.faulted
        requested = name in ref.owed_stop or ref.phase != "running"
        ref.owed_stop.discard(name)
        ref.faulted.discard(name)
        world.gone(name)
        if requested:
            return
        restart = self.spec[name].restart
        if not RESTARTED[(restart, abnormal)]:
            ref.wanted[name] = False
            if not abnormal:
                ref.done.add(name)
            return
        period = self.image.supervisor.period
        ref.restart_times = [t for t in ref.restart_times if t >= world.now - period]
        ref.restart_times.append(world.now)
        if len(ref.restart_times) > self.image.supervisor.intensity:
            ref.expect_escalation = True
            self.stop_everything()
            return
        strategy = self.image.supervisor.strategy
        index = self.order.index(name)
        siblings = {"one_for_one": [], "one_for_all": [n for n in self.order if n != name],
                    "rest_for_one": self.order[index + 1:]}[strategy]
        for sibling in siblings:
            if self.spec[sibling].restart == "temporary":
                ref.wanted[sibling] = False
            if world.live(sibling):
                ref.owed_stop.add(sibling)

    def stop_everything(self) -> None:
        self.ref.phase = "stopping"
        self.ref.wanted = dict.fromkeys(self.order, False)
        self.ref.owed_stop |= self.live_names()

    def send_exit(self, name: str, code: int | None, sig: int | None) -> None:
        pid = self.world.pid[name]
        event = Exited(name, pid, self.world.now, exit_code=code, signal=sig)
        self.ended(name, abnormal=code != 0)
        self.send(event)

    # Rules: the spawner, the processes, the clock, the operator.

    @precondition(lambda self: self.world.pending_spawn)
    @rule(data=st.data(), succeeds=st.sampled_from([True, True, True, False]))
    def answer_spawn(self, data: st.DataObject, succeeds: bool) -> None:
        name = data.draw(st.sampled_from(sorted(self.world.pending_spawn)))
        if succeeds:
            self.answer_spawn_now(name)
        else:
            self.ended(name, abnormal=True)
            self.send(SpawnFailed(name, "exec failed", self.world.now))

    @precondition(lambda self: any(n not in self.world.last_beat and not self.world.signals.get(n)
                                   for n in self.world.pid))
    @rule(data=st.data())
    def process_says_ready(self, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(sorted(
            n for n in self.world.pid if n not in self.world.last_beat
            and not self.world.signals.get(n))))
        self.world.last_beat[name] = self.world.now
        self.send(Ready(name, self.world.pid[name], self.world.now))

    @precondition(lambda self: any(self.world.ready(n) for n in self.world.pid))
    @rule(data=st.data())
    def process_beats(self, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(sorted(n for n in self.world.pid if self.world.ready(n))))
        self.world.last_beat[name] = self.world.now
        self.send(Heartbeat(name, self.world.pid[name], self.world.now))

    @precondition(lambda self: self.world.pending_spawn or any(
        n not in self.world.last_beat and not self.world.signals.get(n) for n in self.world.pid))
    @rule()
    def everything_comes_up(self) -> None:
        """Answer every spawn and let every process say READY: gets to the interesting states."""
        for _ in self.order:
            for name in sorted(self.world.pending_spawn):
                self.answer_spawn_now(name)
            for name in sorted(self.world.pid):
                if name not in self.world.last_beat and not self.world.signals.get(name):
                    self.world.last_beat[name] = self.world.now
                    self.send(Ready(name, self.world.pid[name], self.world.now))

    @precondition(lambda self: self.world.pid)
    @rule(data=st.data(), status=st.sampled_from(EXITS))
    def process_exits(self, data: st.DataObject, status: tuple[int | None, int | None]) -> None:
        name = data.draw(st.sampled_from(sorted(self.world.pid)))
        self.send_exit(name, *status)

    @precondition(lambda self: any(self.world.ready(n) for n in self.world.pid))
    @rule(data=st.data(), status=st.sampled_from(EXITS))
    def running_process_exits(self, data: st.DataObject,
                              status: tuple[int | None, int | None]) -> None:
        name = data.draw(st.sampled_from(sorted(n for n in self.world.pid if self.world.ready(n))))
        self.send_exit(name, *status)

    @precondition(lambda self: any(self.world.signals.get(n) for n in self.world.pid))
    @rule(data=st.data())
    def process_obeys_signal(self, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(sorted(n for n in self.world.pid
                                                if self.world.signals.get(n))))
        self.send_exit(name, None, self.world.signals[name][-1])

    @precondition(lambda self: any(self.world.signals.get(n) for n in self.world.pid))
    @rule(data=st.data(), says_ready=st.booleans())
    def signalled_process_still_talks(self, data: st.DataObject, says_ready: bool) -> None:
        """A READY or HEARTBEAT sent just before the signal arrived changes nothing."""
        name = data.draw(st.sampled_from(sorted(n for n in self.world.pid
                                                if self.world.signals.get(n))))
        kind = Ready if says_ready else Heartbeat
        assert self.send(kind(name, self.world.pid[name], self.world.now)) == []

    @precondition(lambda self: self.world.old_pids)
    @rule(data=st.data())
    def stale_message_arrives(self, data: st.DataObject) -> None:
        name, pid = data.draw(st.sampled_from(self.world.old_pids))
        event = data.draw(st.sampled_from([
            Ready(name, pid, self.world.now), Heartbeat(name, pid, self.world.now),
            Exited(name, pid, self.world.now, exit_code=1)]))
        assert self.send(event) == []

    @rule(seconds=st.sampled_from([0.01, 0.1, 0.3, 0.5, 1.0, 2.5]))
    def time_passes(self, seconds: float) -> None:
        self.world.now += seconds
        self.send(Tick(self.world.now))

    @precondition(lambda self: self.machine.next_deadline() is not None)
    @rule()
    def time_reaches_next_deadline(self) -> None:
        self.world.now = self.machine.next_deadline()
        self.send(Tick(self.world.now))

    # Shutting down ends the interesting part of a run, so it is one operator act in ten.
    @rule(data=st.data(), act=st.sampled_from(["start", "stop", "restart"] * 3 + ["shutdown"]))
    def operator_acts(self, data: st.DataObject, act: str) -> None:
        if act == "shutdown":
            if self.ref.phase == "running":
                self.stop_everything()
            self.send(ShutdownRequested(self.world.now))
            return
        name = data.draw(st.sampled_from(self.order))
        {"start": self.operator_starts, "stop": self.operator_stops,
         "restart": self.operator_restarts}[act](name)

    def operator_starts(self, name: str) -> None:
        refusal = "image_not_running" if self.ref.phase != "running" else \
            "already_running" if self.ref.wanted[name] else None
        if refusal is None:
            self.ref.wanted[name] = True
            self.ref.done.discard(name)
            self.ref.temporary_starts.add(name)
        self.request(StartRequested(name, self.world.now), refusal)

    def operator_stops(self, name: str) -> None:
        live = self.world.live(name)
        refusal = "image_not_running" if self.ref.phase != "running" else \
            "not_running" if not self.ref.wanted[name] and not live else None
        if refusal is None:
            self.ref.wanted[name] = False
            if live:
                self.ref.owed_stop.add(name)
        self.request(StopRequested(name, self.world.now), refusal)

    def operator_restarts(self, name: str) -> None:
        refusal = "image_not_running" if self.ref.phase != "running" else None
        if refusal is None:
            self.ref.wanted[name] = True
            self.ref.done.discard(name)
            self.ref.temporary_starts.add(name)
            if self.world.live(name):
                self.ref.owed_stop.add(name)
        self.request(RestartRequested(name, self.world.now), refusal)

    def request(self, event: object, refusal: str | None) -> None:
        try:
            self.send(event)
        except SupervisorError as error:
            assert error.reason == refusal, f"refused with {error.reason}, expected {refusal}"
        else:
            assert refusal is None, f"expected refusal {refusal}"

    @invariant()
    def status_agrees_with_the_world_and_the_reference(self) -> None:
        for record in self.machine.status():
            name, state = record.name, record.state
            assert record.pid == self.world.pid.get(name)
            assert (state is ProcessState.READY) == self.world.ready(name)
            if self.world.live(name):
                assert state in (ProcessState.STARTING, ProcessState.READY, ProcessState.STOPPING)
            elif self.ref.wanted[name]:
                assert state in (ProcessState.WAITING, ProcessState.BACKOFF)
            else:
                assert state in (ProcessState.STOPPED, ProcessState.FAILED)

    def teardown(self) -> None:
        """Let every process behave from here on: all that is wanted and can run ends up READY."""
        world, ref = self.world, self.ref
        for _ in range(400):
            for name in sorted(n for n in world.pid if world.ready(n)):
                world.last_beat[name] = world.now
                self.send(Heartbeat(name, world.pid[name], world.now))
            if world.pending_spawn:
                self.answer_spawn_now(min(world.pending_spawn))
            elif signalled := [n for n in world.pid if world.signals.get(n)]:
                self.send_exit(signalled[0], None, world.signals[signalled[0]][-1])
            elif unready := [n for n in world.pid if n not in world.last_beat]:
                world.last_beat[unready[0]] = world.now
                self.send(Ready(unready[0], world.pid[unready[0]], world.now))
            elif any(s.state is ProcessState.BACKOFF for s in self.machine.status()):
                world.now += 0.1
                self.send(Tick(world.now))
            else:
                break
        else:
            raise AssertionError("the image never settled")
        if ref.phase == "stopping":
            raise AssertionError("the image never finished stopping")

        def can_run(name: str) -> bool:
            return name in ref.done or (ref.wanted[name] and all(
                can_run(dep) for dep in self.spec[name].after))

        if ref.phase == "running":
            for name in self.order:
                if ref.wanted[name] and can_run(name):
                    assert world.ready(name), f"{name} is wanted and can run but is not READY"

    def answer_spawn_now(self, name: str) -> None:
        self.world.pending_spawn.discard(name)
        self.world.pid[name] = next(self.pids)
        self.world.spawned_at[name] = self.world.now
        self.send(Spawned(name, self.world.pid[name], self.world.now))


TestSupervisorAgainstReference = SupervisorAgainstReference.TestCase
