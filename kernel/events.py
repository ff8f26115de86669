"""What the router tells the rest of the kernel about processes on the bus."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PeerJoined:
    name: str
    pid: int


@dataclass(frozen=True, slots=True)
class PeerReady:
    name: str


@dataclass(frozen=True, slots=True)
class PeerSeen:
    """A heartbeat: the process's event loop is still turning."""

    name: str


@dataclass(frozen=True, slots=True)
class PeerLeft:
    name: str
    reason: str


@dataclass(frozen=True, slots=True)
class PeerAbusive:
    """The router disconnected a peer that kept sending what it refuses."""

    name: str
    refused: int


PeerEvent = PeerJoined | PeerReady | PeerSeen | PeerLeft | PeerAbusive
