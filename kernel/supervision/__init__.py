"""Supervision of an image's processes: a pure state machine (events in, actions out)."""
from __future__ import annotations

from carnel.kernel.supervision.events import (
    Action, Blocked, Boot, Escalate, Event, Exited, Heartbeat, ImagePhase, ImageReady,
    ImageStopped, Kill, ProcessState, ProcessStatus, Ready, RestartRequested, ShutdownRequested,
    Spawn, SpawnFailed, Spawned, StartRequested, StateChanged, StopRequested, SupervisorError,
    Tick)
from carnel.kernel.supervision.machine import Supervisor

__all__ = [
    "Action", "Blocked", "Boot", "Escalate", "Event", "Exited", "Heartbeat", "ImagePhase",
    "ImageReady", "ImageStopped", "Kill", "ProcessState", "ProcessStatus", "Ready",
    "RestartRequested", "ShutdownRequested", "Spawn", "SpawnFailed", "Spawned", "StartRequested",
    "StateChanged", "StopRequested", "Supervisor", "SupervisorError", "Tick",
]
