"""A deterministic urban drive cycle: pure, speed as a function of time since the start."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Phase:
    seconds: float
    to_kmh: float  # speed at the phase's end; speed ramps linearly within a phase


# Pull away, cruise, slow for a junction, stop at a light, pull away again: 60 s per lap.
URBAN_LAP = (
    Phase(8.0, 50.0),
    Phase(14.0, 50.0),
    Phase(5.0, 30.0),
    Phase(8.0, 30.0),
    Phase(6.0, 0.0),
    Phase(9.0, 0.0),
    Phase(10.0, 0.0),
)
LAP_SECONDS = sum(p.seconds for p in URBAN_LAP)


def speed_kmh(t: float, lap: tuple[Phase, ...] = URBAN_LAP) -> float:
    """Vehicle speed `t` seconds into the drive; the lap repeats forever."""
    length = sum(p.seconds for p in lap)
    t = t % length
    start_kmh = lap[-1].to_kmh
    for phase in lap:
        if t < phase.seconds:
            return start_kmh + (phase.to_kmh - start_kmh) * (t / phase.seconds)
        t -= phase.seconds
        start_kmh = phase.to_kmh
    return start_kmh
