"""A deliberately fragile service for `carnel fuzz`: inputs it did not expect take the whole
process down, as a failed assertion in a native library would.

It keeps the latest signal of each path from `can.signals.>` and answers `vehicle.get`; a
signal that is not a finite number, or an empty path in a query, aborts it.
"""
from __future__ import annotations

import math
import os

from carnel.ipc import Service, run
from carnel.ipc.schemas.vehicle import Signal, SignalBatch, SignalQuery, SignalValues

svc = Service()
latest: dict[str, Signal] = {}


@svc.subscribe("can.signals.>")
async def on_batch(batch: SignalBatch) -> None:
    for signal in batch.signals:
        if isinstance(signal.value, float) and not math.isfinite(signal.value):
            os.abort()
        latest[signal.path] = signal


@svc.provide("vehicle.get")
async def get(query: SignalQuery) -> SignalValues:
    if "" in query.paths:
        os.abort()
    paths = query.paths or sorted(latest)
    return SignalValues(signals=[latest[p] for p in paths if p in latest],
                        unknown=[p for p in paths if p not in latest])


if __name__ == "__main__":
    run(svc)
