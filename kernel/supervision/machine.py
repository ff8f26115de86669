"""The supervisor: a pure state machine with Erlang/OTP semantics, fed events, returning actions.

How it departs from OTP, and why:
- A process is up when it sends READY, not when it is forked; processes whose `after` lists allow
  it start concurrently, each once all it names are READY (or, if transient or temporary, have
  finished normally).
- Stops are asynchronous: TERM, wait up to `shutdown_timeout` (Ticks), KILL. They still happen
  one at a time in reverse start order, and nothing is spawned while a stop is pending.
- A failed process is respawned after a capped exponential delay; siblings restarted with it
  (one_for_all, rest_for_one) wait for the same delay, so the group comes back together.
- A group restart brings back the siblings that were running or meant to run; one the operator
  stopped, or that finished normally, stays down.
- Missed heartbeats (no HEARTBEAT for interval x misses after READY) are a failure: KILL, then
  the restart policy, with the exit recorded as "hung".
"""
from __future__ import annotations

import signal as signals
from dataclasses import dataclass

from carnel.kernel.image import Image, ProcessSpec, start_order
from carnel.kernel.supervision.events import (
    Action, Blocked, Boot, Escalate, Event, Exited, Heartbeat, ImagePhase, ImageReady,
    ImageStopped, Kill, ProcessState, ProcessStatus, Ready, RestartRequested, ShutdownRequested,
    Spawn, SpawnFailed, Spawned, StartRequested, StateChanged, StopRequested, SupervisorError,
    Tick)
from carnel.kernel.supervision.policy import (
    RestartWindow, restart_delay, restarts_after, siblings_to_restart)

__all__ = ["Supervisor"]

S = ProcessState
_LIVE = (S.STARTING, S.READY, S.STOPPING)
_QUEUED_TO_RUN = (S.WAITING, S.BACKOFF)


@dataclass(slots=True)
class _Child:
    spec: ProcessSpec
    index: int
    state: ProcessState = S.STOPPED
    pid: int | None = None
    want: bool = False  # should be running once it can be
    started_at: float | None = None
    ready_at: float | None = None
    restarts: int = 0
    last_exit: str | None = None
    deadline: float | None = None  # meaning depends on state: start, heartbeat, TERM, delay
    failures: int = 0  # in a row, for the restart delay
    stop_pending: bool = False  # the supervisor is stopping it: its exit is not a failure
    signalled: signals.Signals | None = None
    fault: str | None = None  # why the supervisor killed it, if as a failure
    restart_at: float | None = None  # earliest respawn after a pending stop
    completed: bool = False  # a transient or temporary process that exited normally
    blocked_on: str | None = None  # the dependency reported as keeping it from starting

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def live(self) -> bool:
        return self.state in _LIVE


class Supervisor:
    """Supervises the processes of one image; `handle` each event and perform the actions."""

    def __init__(self, image: Image) -> None:
        self._config = image.supervisor
        self._order = start_order(image)
        self._children = {name: _Child(image.process(name), index)
                          for index, name in enumerate(self._order)}
        self._window = RestartWindow(self._config.intensity, self._config.period)
        self._phase = ImagePhase.IDLE
        self._announced_ready = False
        self._stop_reason = "shutdown requested"
        self._now = float("-inf")
        self._actions: list[Action] = []

    @property
    def phase(self) -> ImagePhase:
        return self._phase

    @property
    def order(self) -> tuple[str, ...]:
        return tuple(self._order)

    def status(self) -> list[ProcessStatus]:
        """One record per process, in start order, for `carnel ps`."""
        return [ProcessStatus(c.name, c.state, c.pid, c.started_at, c.ready_at, c.restarts,
                              c.last_exit, c.blocked_on if c.state in _QUEUED_TO_RUN else None)
                for c in self._children.values()]

    def next_deadline(self) -> float | None:
        """When the next Tick is due, or None if nothing is timed."""
        deadlines = [c.deadline for c in self._children.values() if c.deadline is not None]
        return min(deadlines, default=None)

    def handle(self, event: Event) -> list[Action]:
        """Apply `event`, then everything now due; returns the actions in the order to perform."""
        # Events stamped by different tasks may arrive slightly out of order: time never goes back.
        self._now = max(self._now, event.now)
        self._actions = []
        match event:
            case Boot():
                self._boot()
            case Spawned(name=name, pid=pid):
                self._spawned(self._awaiting_spawn(name), pid)
            case SpawnFailed(name=name, reason=reason):
                self._ended(self._awaiting_spawn(name), f"spawn failed: {reason}", normal=False)
            case Ready(name=name, pid=pid):
                self._ready(self._child(name), pid)
            case Heartbeat(name=name, pid=pid):
                child = self._child(name)
                if child.pid == pid and child.state is S.READY:
                    child.deadline = self._now + self._heartbeat_window(child)
            case Exited(name=name, pid=pid):
                child = self._child(name)
                if child.pid == pid:
                    self._ended(child, event.describe(), event.normal and child.fault is None)
            case Tick():
                pass
            case StartRequested(name=name):
                self._start_requested(self._requestable(name))
            case StopRequested(name=name):
                self._stop_requested(self._requestable(name))
            case RestartRequested(name=name):
                self._restart_requested(self._requestable(name))
            case ShutdownRequested():
                self._shutdown_requested()
        self._settle(judging=isinstance(event, Tick))
        return self._actions

    # Lookups and checks.

    def _child(self, name: str) -> _Child:
        try:
            return self._children[name]
        except KeyError:
            raise SupervisorError("unknown_process", f"no process named {name!r}") from None

    def _awaiting_spawn(self, name: str) -> _Child:
        child = self._child(name)
        if child.state is not S.STARTING or child.pid is not None:
            raise SupervisorError("unexpected_spawn", f"{name} has no spawn outstanding")
        return child

    def _requestable(self, name: str) -> _Child:
        child = self._child(name)
        if self._phase is not ImagePhase.RUNNING:
            raise SupervisorError("image_not_running", f"the image is {self._phase.value}")
        return child

    def _heartbeat_window(self, child: _Child) -> float:
        return child.spec.heartbeat_interval * child.spec.heartbeat_misses

    # Transitions.

    def _set_state(self, child: _Child, state: ProcessState, deadline: float | None = None) -> None:
        child.deadline = deadline
        if state is not child.state:
            self._actions.append(StateChanged(child.name, child.state, state))
            child.state = state

    def _queue_start(self, child: _Child, not_before: float | None) -> None:
        child.completed = False
        if not_before is not None and not_before > self._now:
            self._set_state(child, S.BACKOFF, not_before)
        else:
            self._set_state(child, S.WAITING)

    def _boot(self) -> None:
        if self._phase is not ImagePhase.IDLE:
            raise SupervisorError("already_booted", f"the image is {self._phase.value}")
        self._phase = ImagePhase.RUNNING
        for child in self._children.values():
            child.want = True
            self._queue_start(child, None)

    def _spawned(self, child: _Child, pid: int) -> None:
        child.pid = pid
        child.started_at = self._now
        child.ready_at = None
        child.deadline = self._now + child.spec.start_timeout

    def _ready(self, child: _Child, pid: int) -> None:
        if child.pid != pid or child.state is not S.STARTING:
            return
        child.ready_at = self._now
        self._set_state(child, S.READY, self._now + self._heartbeat_window(child))

    def _ended(self, child: _Child, how: str, normal: bool) -> None:
        """The process is gone: exited, or could not be spawned."""
        # Once the image is stopping every live process has a stop pending, so no exit then
        # counts as a failure.
        requested = child.stop_pending
        child.last_exit = child.fault or how
        child.pid = None
        child.signalled = None
        child.fault = None
        child.stop_pending = False
        if requested:
            if child.want:
                self._queue_start(child, child.restart_at)
            else:
                self._set_state(child, S.STOPPED)
            child.restart_at = None
            return
        if not restarts_after(child.spec.restart, normal):
            child.want = False
            child.completed = normal
            self._set_state(child, S.STOPPED if normal else S.FAILED)
            return
        self._failed(child)

    def _failed(self, child: _Child) -> None:
        """Restart `child`, and its siblings as the strategy says, unless that is one too many."""
        config = self._config
        count = self._window.add(self._now)
        if self._window.exceeded(count):
            self._set_state(child, S.FAILED)
            reason = (f"{child.name} ({child.last_exit}): {count} restarts within "
                      f"{config.period:g} s, more than the intensity of {config.intensity}")
            self._actions.append(Escalate(child.name, reason))
            self._stop_reason = reason
            self._stop_everything()
            return
        if child.ready_at is not None and self._now - child.ready_at >= config.period:
            child.failures = 0
        child.failures += 1
        child.restarts += 1
        restart_at = self._now + restart_delay(config, child.failures)
        for name in siblings_to_restart(config.strategy, child.name, self._order):
            self._restart_with(self._children[name], restart_at)
        self._queue_start(child, restart_at)

    def _restart_with(self, sibling: _Child, restart_at: float) -> None:
        if sibling.spec.restart == "temporary":
            sibling.want = False  # OTP: never restarted, even when a sibling takes it down
        if sibling.live:
            sibling.stop_pending = True
            sibling.restart_at = max(restart_at, sibling.restart_at or restart_at)
            if sibling.want:
                sibling.restarts += 1
        elif sibling.state in _QUEUED_TO_RUN:
            if sibling.want:  # a sibling in its own, longer backoff keeps it
                self._queue_start(sibling, max(restart_at, sibling.deadline or restart_at))
            else:
                self._set_state(sibling, S.STOPPED)

    def _stop_everything(self) -> None:
        self._phase = ImagePhase.STOPPING
        for child in self._children.values():
            child.want = False
            if child.live:
                child.stop_pending = True
            elif child.state in _QUEUED_TO_RUN:
                self._set_state(child, S.STOPPED)

    # Requests.

    def _start_requested(self, child: _Child) -> None:
        if child.want:
            raise SupervisorError("already_running", f"{child.name} is {child.state.value}")
        child.want = True
        if not child.live:
            child.failures = 0
            self._queue_start(child, None)

    def _stop_requested(self, child: _Child) -> None:
        if not child.want and not child.live:
            raise SupervisorError("not_running", f"{child.name} is {child.state.value}")
        child.want = False
        if child.live:
            child.stop_pending = True
            child.restart_at = None
        else:
            self._set_state(child, S.STOPPED)

    def _restart_requested(self, child: _Child) -> None:
        child.want = True
        child.restart_at = None
        if child.live:
            child.stop_pending = True
        else:
            child.failures = 0
            self._queue_start(child, None)

    def _shutdown_requested(self) -> None:
        if self._phase is ImagePhase.IDLE:
            self._phase = ImagePhase.STOPPING
        elif self._phase is ImagePhase.RUNNING:
            self._stop_everything()

    # Everything that follows from the current state and time.

    def _settle(self, judging: bool) -> None:
        while self._expire_deadlines(judging) or self._stop_next():
            pass
        if self._phase is ImagePhase.RUNNING and not self._stop_in_progress():
            for child in self._children.values():
                if child.state is S.WAITING and self._dependencies_up(child):
                    self._set_state(child, S.STARTING)
                    self._actions.append(Spawn(child.name))
        if self._phase is ImagePhase.RUNNING:
            self._report_blocked()
        if (self._phase is ImagePhase.RUNNING and not self._announced_ready
                and all(c.state is S.READY for c in self._children.values()
                        if c.spec.restart == "permanent")):
            self._announced_ready = True
            self._actions.append(ImageReady())
        if self._phase is ImagePhase.STOPPING and not any(c.live for c in self._children.values()):
            self._phase = ImagePhase.STOPPED
            self._actions.append(ImageStopped(self._stop_reason))

    def _expire_deadlines(self, judging: bool) -> bool:
        """Act on the deadlines passed. A process is judged silent or slow to start (`judging`)
        only on a Tick, never as a side effect of another's event: after the kernel itself did
        not run for a while, one process's heartbeat is read before the others' queued ones."""
        due = [c for c in self._children.values()
               if c.deadline is not None and c.deadline <= self._now
               and (judging or c.state in (S.BACKOFF, S.STOPPING))]
        for child in due:
            if child.state is S.BACKOFF:
                self._set_state(child, S.WAITING)
                continue
            if child.state is S.STOPPING:
                why = f"not gone {child.spec.shutdown_timeout:g} s after SIGTERM"
            elif child.state is S.STARTING:
                child.fault = "start_timeout"
                why = f"not ready {child.spec.start_timeout:g} s after its start"
            else:
                child.fault = "hung"
                why = f"no heartbeat for {self._heartbeat_window(child):g} s"
            self._kill(child, signals.SIGKILL, why=why)
        return bool(due)

    def _stop_next(self) -> bool:
        """TERM the last-started process with a stop pending, once the one before it is gone."""
        pending = [c for c in self._children.values() if c.stop_pending and c.live]
        if not pending or any(c.signalled is not None for c in pending):
            return False
        child = max(pending, key=lambda c: c.index)
        if child.pid is None:
            return False  # its Spawned is on the way; it is stopped as soon as it exists
        self._kill(child, signals.SIGTERM, self._now + child.spec.shutdown_timeout, why="stop")
        return True

    def _kill(self, child: _Child, signal: signals.Signals, deadline: float | None = None, *,
              why: str) -> None:
        assert child.pid is not None  # only processes with a deadline or a pid get here
        child.signalled = signal
        self._actions.append(Kill(child.name, child.pid, signal, why))
        self._set_state(child, S.STOPPING, deadline)

    def _stop_in_progress(self) -> bool:
        return any(c.stop_pending and c.live for c in self._children.values())

    def _report_blocked(self) -> None:
        """Say once, each time it begins, that a process waits for one that will not come up:
        otherwise it waits in silence, and the image is never ready."""
        for child in self._children.values():
            dead = None
            if child.state in _QUEUED_TO_RUN:
                dead = next((d for d in (self._children[n] for n in child.spec.after)
                             if not d.want and not d.live and not d.completed), None)
            if dead is None:
                child.blocked_on = None
            elif child.blocked_on != dead.name:
                child.blocked_on = dead.name
                self._actions.append(Blocked(child.name, dead.name, dead.state, dead.last_exit))

    def _dependencies_up(self, child: _Child) -> bool:
        deps = (self._children[name] for name in child.spec.after)
        return all(d.state is S.READY or (d.state is S.STOPPED and d.completed) for d in deps)
