"""A session wired to the simulated adapter, for the OBD tests."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from carnel.drivers.obd import (AdapterConfig, ElmSession, ElmSettings, Event, Initialise, Request,
                                SimulatedElm327, Step, VehicleState)

Chunker = Callable[[bytes], list[bytes]]


def whole(data: bytes) -> list[bytes]:
    return [data]


def bytewise(data: bytes) -> list[bytes]:
    return [data[i:i + 1] for i in range(len(data))]


@dataclass
class Rig:
    """Runs requests to completion: what the session sends goes to the adapter and back."""

    session: ElmSession
    adapter: SimulatedElm327
    chunker: Chunker = whole
    now: float = 0.0
    transcript: list[tuple[bytes, bytes]] = field(default_factory=list)

    @classmethod
    def build(cls, vehicle: VehicleState | None = None, config: AdapterConfig | None = None,
              settings: ElmSettings | None = None, chunker: Chunker = whole) -> Rig:
        adapter = SimulatedElm327(vehicle or VehicleState.typical(), config or AdapterConfig())
        return cls(ElmSession(settings), adapter, chunker)

    def run(self, request: Request) -> list[Event]:
        return self.drain(self.session.submit(request, self.now))

    def drain(self, step: Step) -> list[Event]:
        events = list(step.events)
        while step.send:
            answer = self.adapter.receive(step.send)
            self.transcript.append((step.send, answer))
            step = Step()
            for chunk in self.chunker(answer):
                fed = self.session.receive(chunk, self.now)
                events += fed.events
                step = Step(step.events, step.send + fed.send, fed.deadline)
        return events

    def initialised(self) -> Rig:
        events = self.run(Initialise())
        assert self.session.ready, events
        return self
