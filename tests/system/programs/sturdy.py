"""The sturdy twin of fragile.py's `vehicle.get`: it refuses what it cannot answer.

It subscribes to nothing: a Service's subscription cannot yet survive every malformed
publication (msgspec raises UnicodeDecodeError for a str that is not UTF-8, and RecursionError
for an unknown field nested too deep, and the SDK catches neither when it decodes a publication),
while its requests can (the SDK answers any failure there with a typed error).
"""
from __future__ import annotations

from carnel.ipc import BadRequest, Service, run
from carnel.ipc.schemas.vehicle import SignalQuery, SignalValues

svc = Service()


@svc.provide("vehicle.get")
async def get(query: SignalQuery) -> SignalValues:
    if "" in query.paths:
        raise BadRequest("a path is empty")
    return SignalValues(unknown=list(query.paths))


if __name__ == "__main__":
    run(svc)
