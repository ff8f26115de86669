"""The supervisor's rules one at a time: start order, restart types, strategies, intensity."""
from __future__ import annotations

import itertools
import signal

import pytest

from carnel.kernel.image import BusConfig, Image, ProcessSpec, SupervisorConfig
from carnel.kernel.supervision import (
    Blocked, Boot, Escalate, Exited, Heartbeat, ImagePhase, ImageReady, ImageStopped, Kill,
    ProcessState, Ready, RestartRequested, ShutdownRequested, Spawn, SpawnFailed, Spawned,
    StartRequested, StateChanged, StopRequested, Supervisor, SupervisorError, Tick)

S = ProcessState
TERM, KILL = signal.SIGTERM, signal.SIGKILL


def make_image(*processes: ProcessSpec, **supervisor: object) -> Image:
    config = {"restart_delay": 0.1, "restart_delay_max": 1.0, **supervisor}
    return Image(name="test", description="", supervisor=SupervisorConfig(**config),
                 bus=BusConfig(), processes=processes)


def proc(name: str, **fields: object) -> ProcessSpec:
    return ProcessSpec(name=name, module=f"demo.{name}", **fields)


class Kernel:
    """Plays the spawner and the clock around a Supervisor, recording what it was told to do."""

    def __init__(self, image: Image) -> None:
        self.machine = Supervisor(image)
        self.now = 0.0
        self.pids: dict[str, int] = {}
        self.actions: list[object] = []
        self._next_pid = itertools.count(100)

    def send(self, event: object) -> list[object]:
        actions = self.machine.handle(event)
        self.actions.extend(actions)
        return [a for a in actions if not isinstance(a, StateChanged)]

    def boot(self) -> list[object]:
        return self.send(Boot(self.now))

    def spawned(self, name: str) -> list[object]:
        self.pids[name] = next(self._next_pid)
        return self.send(Spawned(name, self.pids[name], self.now))

    def ready(self, name: str) -> list[object]:
        return self.send(Ready(name, self.pids[name], self.now))

    def up(self, *names: str) -> None:
        for name in names:
            self.spawned(name)
            self.ready(name)

    def exit(self, name: str, code: int | None = None, sig: int | None = None) -> list[object]:
        return self.send(Exited(name, self.pids[name], self.now, exit_code=code, signal=sig))

    def advance(self, seconds: float) -> list[object]:
        self.now += seconds
        return self.send(Tick(self.now))

    def state(self, name: str) -> ProcessState:
        return next(s.state for s in self.machine.status() if s.name == name)

    def record(self, name: str):
        return next(s for s in self.machine.status() if s.name == name)

    def spawns(self) -> list[str]:
        return [a.name for a in self.actions if isinstance(a, Spawn)]

    def kills(self) -> list[tuple[str, signal.Signals]]:
        return [(a.name, a.signal) for a in self.actions if isinstance(a, Kill)]


def booted(*processes: ProcessSpec, **supervisor: object) -> Kernel:
    """A kernel with every process spawned and READY, in start order, and the action log cleared."""
    kernel = Kernel(make_image(*processes, **supervisor))
    kernel.boot()
    for name in kernel.machine.order:
        kernel.up(name)
    assert all(s.state is S.READY for s in kernel.machine.status())
    kernel.actions.clear()
    return kernel


# Start order.

def test_boot_spawns_only_processes_whose_dependencies_are_ready() -> None:
    kernel = Kernel(make_image(proc("gps"), proc("nav", after=("gps",)), proc("media")))
    assert kernel.boot() == [Spawn("gps"), Spawn("media")]
    assert kernel.state("nav") is S.WAITING


def test_dependent_waits_for_ready_not_for_the_fork() -> None:
    kernel = Kernel(make_image(proc("gps"), proc("nav", after=("gps",))))
    kernel.boot()
    assert kernel.spawned("gps") == []
    assert kernel.ready("gps") == [Spawn("nav")]


def test_dependency_that_finished_normally_lets_dependents_start() -> None:
    kernel = Kernel(make_image(proc("migrate", restart="transient"),
                               proc("db", after=("migrate",))))
    kernel.boot()
    kernel.spawned("migrate")
    assert kernel.exit("migrate", code=0) == [Spawn("db")]
    assert kernel.state("migrate") is S.STOPPED


def test_a_dependent_of_a_failed_process_says_once_what_it_waits_for() -> None:
    kernel = Kernel(make_image(proc("setup", restart="temporary"), proc("nav", after=("setup",))))
    kernel.boot()
    kernel.spawned("setup")
    assert kernel.exit("setup", code=3) == [Blocked("nav", "setup", S.FAILED, "exit 3")]
    assert kernel.advance(10.0) == []  # said once, not on every tick
    assert kernel.state("nav") is S.WAITING
    assert kernel.record("nav").waits_for == "setup"  # for carnel ps
    assert ImageReady() not in kernel.actions


def test_starting_the_dependency_again_unblocks_and_a_new_failure_is_said_again() -> None:
    kernel = Kernel(make_image(proc("setup", restart="temporary"), proc("nav", after=("setup",))))
    kernel.boot()
    kernel.spawned("setup")
    kernel.exit("setup", code=3)
    assert kernel.send(StartRequested("setup", kernel.now)) == [Spawn("setup")]
    kernel.spawned("setup")
    assert kernel.exit("setup", sig=signal.SIGSEGV) == [
        Blocked("nav", "setup", S.FAILED, "SIGSEGV")]
    kernel.send(StartRequested("setup", kernel.now))
    assert kernel.record("nav").waits_for is None
    kernel.up("setup")
    assert Spawn("nav") in kernel.actions[-3:]


def test_a_process_restarting_after_its_dependency_was_stopped_is_blocked() -> None:
    kernel = booted(proc("gps"), proc("nav", after=("gps",)))
    kernel.send(StopRequested("gps", kernel.now))
    kernel.exit("gps", sig=signal.SIGTERM)
    assert kernel.state("nav") is S.READY  # running processes are left alone
    assert kernel.exit("nav", code=1) == [Blocked("nav", "gps", S.STOPPED, "SIGTERM")]
    assert kernel.advance(0.1) == []
    assert kernel.state("nav") is S.WAITING


def test_a_dependency_in_its_restart_delay_is_not_a_block() -> None:
    kernel = booted(proc("gps"), proc("nav", after=("gps",)), strategy="rest_for_one")
    kernel.exit("gps", code=1)
    kernel.exit("nav", sig=signal.SIGTERM)
    assert not any(isinstance(a, Blocked) for a in kernel.actions + kernel.advance(0.1))


def test_image_ready_is_announced_once_when_every_permanent_process_is_ready() -> None:
    kernel = Kernel(make_image(proc("gps"), proc("once", restart="temporary"), proc("nav"),
                               proc("job", restart="transient")))
    kernel.boot()
    kernel.up("gps")
    kernel.spawned("nav")
    assert ImageReady() not in kernel.actions
    assert kernel.ready("nav") == [ImageReady()]  # "once" and "job" are not waited for
    kernel.exit("nav", code=1)
    kernel.advance(0.1)
    kernel.up("nav")
    assert kernel.actions.count(ImageReady()) == 1


# Restart types against exit reasons (OTP's do_restart).

@pytest.mark.parametrize(("restart", "code", "sig", "restarted", "final"), [
    ("permanent", 0, None, True, S.BACKOFF),
    ("permanent", 1, None, True, S.BACKOFF),
    ("permanent", None, signal.SIGSEGV, True, S.BACKOFF),
    ("transient", 0, None, False, S.STOPPED),
    ("transient", 2, None, True, S.BACKOFF),
    ("transient", None, signal.SIGTERM, True, S.BACKOFF),
    ("temporary", 0, None, False, S.STOPPED),
    ("temporary", 1, None, False, S.FAILED),
    ("temporary", None, signal.SIGKILL, False, S.FAILED),
])
def test_restart_type_decides_whether_an_exit_is_restarted(
        restart: str, code: int | None, sig: int | None, restarted: bool, final: S) -> None:
    kernel = booted(proc("svc", restart=restart))
    kernel.exit("svc", code=code, sig=sig)
    assert kernel.state("svc") is final
    kernel.advance(10)
    assert kernel.spawns() == (["svc"] if restarted else [])


def test_exit_reason_and_restart_count_are_kept_for_ps() -> None:
    kernel = booted(proc("gps"))
    pid = kernel.pids["gps"]
    kernel.exit("gps", sig=signal.SIGSEGV)
    record = kernel.record("gps")
    assert (record.state, record.pid, record.restarts, record.last_exit) == \
        (S.BACKOFF, None, 1, "SIGSEGV")
    kernel.advance(0.1)
    kernel.up("gps")
    record = kernel.record("gps")
    assert record.pid == kernel.pids["gps"] != pid
    assert record.started_at == kernel.now


# Strategies.

def test_one_for_one_restarts_only_the_failed_process() -> None:
    kernel = booted(proc("a"), proc("b"), proc("c"), strategy="one_for_one")
    kernel.exit("b", code=1)
    kernel.advance(0.1)
    assert kernel.kills() == [] and kernel.spawns() == ["b"]


def test_one_for_all_stops_the_others_in_reverse_order_then_restarts_all_in_order() -> None:
    kernel = booted(proc("a"), proc("b", after=("a",)), proc("c", after=("b",)), proc("d"),
                    strategy="one_for_all")
    assert kernel.machine.order == ("a", "b", "c", "d")
    kernel.exit("b", code=1)
    assert kernel.kills() == [("d", TERM)]  # one at a time: c waits for d to exit
    kernel.exit("d", sig=TERM)
    kernel.exit("c", sig=TERM)
    kernel.exit("a", code=0)
    assert kernel.kills() == [("d", TERM), ("c", TERM), ("a", TERM)]
    assert kernel.advance(0.1) == [Spawn("a"), Spawn("d")]
    kernel.up("a")
    assert kernel.spawns()[-1] == "b"
    kernel.up("b")
    assert kernel.spawns() == ["a", "d", "b", "c"]


def test_rest_for_one_restarts_the_failed_process_and_those_started_after_it() -> None:
    kernel = booted(proc("a"), proc("b"), proc("c"), proc("d"), strategy="rest_for_one")
    kernel.exit("b", code=1)
    kernel.exit("d", sig=TERM)
    kernel.exit("c", sig=TERM)
    assert kernel.kills() == [("d", TERM), ("c", TERM)]
    kernel.advance(0.1)
    assert kernel.spawns() == ["b", "c", "d"]
    assert kernel.state("a") is S.READY


def test_siblings_come_back_together_after_the_failed_process_delay() -> None:
    kernel = booted(proc("a"), proc("b"), strategy="one_for_all", restart_delay=0.5)
    kernel.exit("a", code=1)
    kernel.exit("b", sig=TERM)
    assert kernel.state("b") is S.BACKOFF and kernel.spawns() == []
    assert kernel.machine.next_deadline() == pytest.approx(0.5)
    assert kernel.advance(0.5) == [Spawn("a"), Spawn("b")]


def test_nothing_is_spawned_while_a_stop_is_pending() -> None:
    kernel = booted(proc("a"), proc("b", heartbeat_interval=100.0), strategy="rest_for_one",
                    restart_delay=0)
    kernel.exit("a", code=1)
    assert kernel.advance(1.0) == []  # b ignores TERM for now: a waits
    assert kernel.exit("b", sig=TERM) == [Spawn("a"), Spawn("b")]


def test_sibling_in_a_longer_backoff_of_its_own_keeps_it() -> None:
    kernel = booted(proc("b", heartbeat_interval=100.0), proc("a", heartbeat_interval=100.0),
                    strategy="rest_for_one", restart_delay=0.1, restart_delay_max=10.0,
                    intensity=10, period=1000)
    for _ in range(4):  # a is last: it restarts alone, waiting longer each time
        kernel.exit("a", code=1)
        kernel.advance(kernel.machine.next_deadline() - kernel.now)
        kernel.up("a")
    kernel.exit("a", code=1)  # now 1.6 s
    kernel.exit("b", code=1)  # 0.1 s, and a goes with b
    kernel.advance(0.1)
    assert kernel.spawns()[-1] == "b" and kernel.state("a") is S.BACKOFF
    kernel.advance(1.5)
    assert kernel.spawns()[-1] == "a"


def test_temporary_sibling_taken_down_by_a_group_restart_is_not_restarted() -> None:
    kernel = booted(proc("a"), proc("helper", restart="temporary"), strategy="one_for_all")
    kernel.exit("a", code=1)
    kernel.exit("helper", sig=TERM)
    kernel.advance(1)
    assert kernel.spawns() == ["a"]
    assert kernel.state("helper") is S.STOPPED


def test_sibling_the_operator_stopped_stays_down_through_a_group_restart() -> None:
    kernel = booted(proc("a"), proc("b"), strategy="one_for_all")
    kernel.send(StopRequested("b", kernel.now))
    kernel.exit("b", sig=TERM)
    kernel.exit("a", code=1)
    kernel.advance(1)
    assert kernel.spawns() == ["a"] and kernel.state("b") is S.STOPPED


def test_sibling_crashing_while_queued_for_a_group_stop_is_not_a_second_failure() -> None:
    kernel = booted(proc("a"), proc("b"), proc("c"), strategy="one_for_all", intensity=1)
    kernel.exit("a", code=1)
    kernel.exit("b", code=3)  # queued behind c, dies on its own first
    kernel.exit("c", sig=TERM)
    assert not any(isinstance(a, Escalate) for a in kernel.actions)
    assert kernel.kills() == [("c", TERM)]
    kernel.advance(0.1)
    assert kernel.spawns() == ["a", "b", "c"]


def test_temporary_process_crash_leaves_its_siblings_alone() -> None:
    kernel = booted(proc("a"), proc("t", restart="temporary"), strategy="one_for_all")
    kernel.exit("t", code=1)
    kernel.advance(1)
    assert kernel.kills() == [] and kernel.spawns() == []


# Intensity and backoff.

def test_more_restarts_than_intensity_within_period_escalates_naming_the_process() -> None:
    kernel = booted(proc("gps"), proc("nav"), intensity=2, period=10)
    for _ in range(2):
        kernel.exit("gps", code=1)
        kernel.advance(1)
        kernel.up("gps")
    actions = kernel.exit("gps", code=1)
    escalation = actions[0]
    assert isinstance(escalation, Escalate) and escalation.process == "gps"
    assert "3 restarts within 10 s" in escalation.reason and "exit 1" in escalation.reason
    assert actions[1:] == [Kill("nav", kernel.pids["nav"], TERM)]
    assert kernel.state("gps") is S.FAILED
    assert kernel.exit("nav", sig=TERM) == [ImageStopped(escalation.reason)]
    assert kernel.machine.phase is ImagePhase.STOPPED


def test_restarts_spread_wider_than_the_period_never_escalate() -> None:
    kernel = booted(proc("gps"), intensity=2, period=5)
    for _ in range(10):
        kernel.exit("gps", code=1)
        kernel.advance(3)
        kernel.up("gps")
    assert not any(isinstance(a, Escalate) for a in kernel.actions)


def test_a_restart_exactly_one_period_ago_still_counts() -> None:
    kernel = booted(proc("gps"), intensity=1, period=5, restart_delay=0)
    kernel.exit("gps", code=1)
    kernel.up("gps")
    kernel.now += 5
    assert isinstance(kernel.exit("gps", code=1)[0], Escalate)


def test_intensity_zero_escalates_on_the_first_restart() -> None:
    kernel = booted(proc("gps"), intensity=0)
    assert isinstance(kernel.exit("gps", code=1)[0], Escalate)


def test_a_group_restart_counts_once_toward_intensity() -> None:
    kernel = booted(proc("a"), proc("b"), proc("c"), strategy="one_for_all", intensity=1)
    kernel.exit("a", code=1)
    kernel.exit("c", sig=TERM)
    kernel.exit("b", sig=TERM)
    assert not any(isinstance(a, Escalate) for a in kernel.actions)


def test_restart_delay_doubles_with_each_failure_up_to_the_cap() -> None:
    kernel = booted(proc("gps"), intensity=100, period=1000, restart_delay=0.1,
                    restart_delay_max=0.5)
    delays = []
    for _ in range(5):
        kernel.exit("gps", code=1)
        delays.append(round(kernel.machine.next_deadline() - kernel.now, 6))
        kernel.advance(delays[-1])
        kernel.up("gps")
    assert delays == [0.1, 0.2, 0.4, 0.5, 0.5]


def test_restart_delay_resets_once_the_process_stayed_up_a_period() -> None:
    kernel = booted(proc("gps", heartbeat_interval=100.0), intensity=100, period=5)
    for _ in range(3):
        kernel.exit("gps", code=1)
        kernel.advance(kernel.machine.next_deadline() - kernel.now)
        kernel.up("gps")
    kernel.now += 5
    kernel.exit("gps", code=1)
    assert kernel.machine.next_deadline() - kernel.now == pytest.approx(0.1)


# Liveness: start timeout and heartbeats.

def test_missed_heartbeats_mean_hung_killed_and_restarted() -> None:
    kernel = booted(proc("nav", heartbeat_interval=1.0, heartbeat_misses=3))
    assert kernel.machine.next_deadline() == pytest.approx(3.0)
    assert kernel.advance(2.9) == []
    [kill] = kernel.advance(0.1)
    assert kill == Kill("nav", kernel.pids["nav"], KILL) and kill.why == "no heartbeat for 3 s"
    kernel.exit("nav", sig=KILL)
    assert kernel.record("nav").last_exit == "hung"
    assert kernel.state("nav") is S.BACKOFF


def test_heartbeats_keep_a_process_alive() -> None:
    kernel = booted(proc("nav", heartbeat_interval=1.0, heartbeat_misses=3))
    for _ in range(10):
        kernel.now += 2.5
        kernel.send(Heartbeat("nav", kernel.pids["nav"], kernel.now))
    assert kernel.kills() == [] and kernel.state("nav") is S.READY


def test_only_the_clock_judges_silence_not_another_process_s_heartbeat() -> None:
    # After the kernel itself did not run, one process's heartbeat is read before the others'.
    kernel = booted(proc("nav", heartbeat_interval=1.0, heartbeat_misses=3),
                    proc("gps", heartbeat_interval=1.0, heartbeat_misses=3))
    kernel.now += 5
    kernel.send(Heartbeat("gps", kernel.pids["gps"], kernel.now))
    assert kernel.kills() == []
    kernel.send(Heartbeat("nav", kernel.pids["nav"], kernel.now))
    assert kernel.advance(0.1) == []
    assert kernel.state("nav") is S.READY and kernel.state("gps") is S.READY


def test_a_hung_transient_process_is_restarted_even_if_it_then_exits_zero() -> None:
    kernel = booted(proc("nav", restart="transient", heartbeat_interval=1.0, heartbeat_misses=1))
    kernel.advance(1)
    kernel.exit("nav", code=0)
    assert kernel.state("nav") is S.BACKOFF


@pytest.mark.parametrize(("restart", "final"), [("transient", S.BACKOFF), ("temporary", S.FAILED)])
def test_missing_the_start_timeout_is_a_failed_start(restart: str, final: S) -> None:
    kernel = Kernel(make_image(proc("gps", restart=restart, start_timeout=2.0)))
    kernel.boot()
    kernel.spawned("gps")
    [kill] = kernel.advance(2.0)
    assert kill == Kill("gps", kernel.pids["gps"], KILL)
    assert kill.why == "not ready 2 s after its start"
    kernel.exit("gps", sig=KILL)
    assert kernel.state("gps") is final
    assert kernel.record("gps").last_exit == "start_timeout"


def test_a_failed_spawn_is_a_failed_start() -> None:
    kernel = Kernel(make_image(proc("gps")))
    kernel.boot()
    kernel.send(SpawnFailed("gps", "No such file or directory", kernel.now))
    assert kernel.state("gps") is S.BACKOFF
    assert kernel.record("gps").last_exit == "spawn failed: No such file or directory"


# Stopping.

def test_shutdown_stops_one_at_a_time_in_reverse_start_order() -> None:
    kernel = booted(proc("a"), proc("b", after=("a",)), proc("c"))
    order = kernel.machine.order
    kernel.send(ShutdownRequested(kernel.now))
    for name in reversed(order):
        assert kernel.kills()[-1] == (name, TERM)
        kernel.exit(name, sig=TERM)
    assert kernel.kills() == [(name, TERM) for name in reversed(order)]
    assert isinstance(kernel.actions[-1], ImageStopped)
    assert all(s.state is S.STOPPED for s in kernel.machine.status())


def test_a_process_ignoring_term_is_killed_after_its_shutdown_timeout() -> None:
    kernel = booted(proc("a", shutdown_timeout=4.0, heartbeat_interval=100.0))
    kernel.send(ShutdownRequested(kernel.now))
    assert kernel.advance(3.9) == []
    assert kernel.advance(0.1) == [Kill("a", kernel.pids["a"], KILL)]
    assert kernel.exit("a", sig=KILL) == [ImageStopped("shutdown requested")]


def test_next_process_is_not_stopped_until_the_killed_one_has_exited() -> None:
    kernel = booted(proc("a", heartbeat_interval=100.0), proc("b", shutdown_timeout=1.0,
                                                               heartbeat_interval=100.0))
    kernel.send(ShutdownRequested(kernel.now))
    kernel.advance(1.0)
    kernel.advance(10.0)
    assert kernel.kills() == [("b", TERM), ("b", KILL)]
    kernel.exit("b", sig=KILL)
    assert kernel.kills()[-1] == ("a", TERM)


def test_shutdown_waits_for_an_outstanding_spawn_then_stops_that_process() -> None:
    kernel = Kernel(make_image(proc("a")))
    kernel.boot()
    assert kernel.send(ShutdownRequested(kernel.now)) == []
    assert kernel.spawned("a") == [Kill("a", kernel.pids["a"], TERM)]


def test_shutdown_before_boot_stops_at_once() -> None:
    kernel = Kernel(make_image(proc("a")))
    assert kernel.send(ShutdownRequested(0.0)) == [ImageStopped("shutdown requested")]


# Control requests.

def test_stop_request_stops_a_permanent_process_for_good() -> None:
    kernel = booted(proc("a"), proc("b", restart="transient"))
    kernel.send(StopRequested("b", kernel.now))
    kernel.exit("b", sig=TERM)
    kernel.send(StopRequested("a", kernel.now))
    kernel.exit("a", code=1)
    kernel.advance(60)
    assert kernel.spawns() == []
    assert [s.state for s in kernel.machine.status()] == [S.STOPPED, S.STOPPED]


def test_stop_request_during_backoff_keeps_the_process_down() -> None:
    kernel = booted(proc("a"))
    kernel.exit("a", code=1)
    kernel.send(StopRequested("a", kernel.now))
    kernel.advance(60)
    assert kernel.spawns() == [] and kernel.state("a") is S.STOPPED


def test_ready_from_a_process_being_stopped_does_not_bring_it_back() -> None:
    kernel = Kernel(make_image(proc("a")))
    kernel.boot()
    kernel.spawned("a")
    kernel.send(StopRequested("a", kernel.now))
    kernel.ready("a")
    assert kernel.state("a") is S.STOPPING
    assert kernel.exit("a", sig=TERM) == []
    assert kernel.state("a") is S.STOPPED


def test_start_request_starts_a_stopped_process() -> None:
    kernel = booted(proc("a", restart="temporary"))
    kernel.exit("a", code=1)
    assert kernel.send(StartRequested("a", kernel.now)) == [Spawn("a")]


def test_restart_request_stops_then_starts_without_counting_toward_intensity() -> None:
    kernel = booted(proc("a"), intensity=0)
    assert kernel.send(RestartRequested("a", kernel.now)) == [Kill("a", kernel.pids["a"], TERM)]
    assert kernel.exit("a", sig=TERM) == [Spawn("a")]
    assert kernel.record("a").restarts == 0


def test_start_request_during_a_stop_restarts_the_process_once_it_is_gone() -> None:
    kernel = booted(proc("a"))
    kernel.send(StopRequested("a", kernel.now))
    kernel.send(StartRequested("a", kernel.now))
    assert kernel.exit("a", sig=TERM) == [Spawn("a")]


@pytest.mark.parametrize(("request_type", "name", "reason"), [
    (StartRequested, "a", "already_running"),
    (StopRequested, "gone", "not_running"),
    (RestartRequested, "nope", "unknown_process"),
])
def test_impossible_requests_are_refused_with_a_reason(request_type, name, reason) -> None:
    kernel = booted(proc("a"), proc("gone", restart="temporary"))
    kernel.exit("gone", code=0)
    with pytest.raises(SupervisorError) as caught:
        kernel.send(request_type(name, kernel.now))
    assert caught.value.reason == reason


def test_requests_after_shutdown_are_refused() -> None:
    kernel = booted(proc("a"))
    kernel.send(ShutdownRequested(kernel.now))
    with pytest.raises(SupervisorError) as caught:
        kernel.send(StartRequested("a", kernel.now))
    assert caught.value.reason == "image_not_running"


# The spawner's contract and stale messages.

def test_spawned_without_an_outstanding_spawn_is_refused() -> None:
    kernel = booted(proc("a"))
    with pytest.raises(SupervisorError) as caught:
        kernel.send(Spawned("a", 999, kernel.now))
    assert caught.value.reason == "unexpected_spawn"


def test_messages_from_a_previous_incarnation_are_ignored() -> None:
    kernel = booted(proc("a"))
    old = kernel.pids["a"]
    kernel.exit("a", code=1)
    kernel.advance(0.1)
    kernel.spawned("a")
    kernel.actions.clear()
    kernel.send(Ready("a", old, kernel.now))
    kernel.send(Exited("a", old, kernel.now, exit_code=1))
    assert kernel.state("a") is S.STARTING and kernel.actions == []


def test_time_stamped_out_of_order_never_runs_backwards() -> None:
    kernel = booted(proc("a", heartbeat_interval=1.0, heartbeat_misses=1))
    kernel.advance(0.5)
    kernel.send(Heartbeat("a", kernel.pids["a"], 0.2))
    assert kernel.machine.next_deadline() == pytest.approx(1.5)


def test_state_changes_are_reported_for_publishing() -> None:
    kernel = Kernel(make_image(proc("a")))
    kernel.boot()
    kernel.up("a")
    changes = [(a.old, a.new) for a in kernel.actions if isinstance(a, StateChanged)]
    assert changes == [(S.STOPPED, S.WAITING), (S.WAITING, S.STARTING), (S.STARTING, S.READY)]


def test_exit_from_a_subprocess_return_code() -> None:
    assert Exited.from_returncode("a", 1, -9, 0.0).signal == 9
    assert Exited.from_returncode("a", 1, 3, 0.0).exit_code == 3
    with pytest.raises(SupervisorError):
        Exited("a", 1, 0.0)
