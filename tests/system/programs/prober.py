"""A process that tries what the test tells it to (publish, subscribe, call) and says how it went.

It answers `probe.<name>` with an Attempt and reports the outcome, so that a test can walk every
process x subject x verb of an image and see what the kernel let through.
"""
from __future__ import annotations

import os

import trio
from prober_messages import Attempt, Outcome

from carnel.ipc import CallError, Service, run
from carnel.ipc.schemas.bus import Empty
from carnel.ipc.settings import ProcessSettings


name = os.environ["CARNEL_NAME"]
settings = ProcessSettings.from_env()
svc = Service(name)


@svc.provide(f"probe.{name}")
async def attempt(req: Attempt) -> Outcome:
    if req.verb == "publish":
        await svc.publish(req.subject, Empty())
        return Outcome(result="sent")
    if req.verb == "done":
        await svc.publish(f"probe.{name}.done", Empty())
        return Outcome(result="sent")
    if req.verb == "secret":
        return Outcome(result=settings.credential.secret.decode())
    try:
        if req.verb == "call":
            await svc.call(req.subject, Empty(), Empty, timeout=5)
            return Outcome(result="ok")
        async with svc.messages(req.subject, Empty) as stream:
            # The kernel sends a retained value right after its acknowledgement.
            with trio.move_on_after(2):
                async for _ in stream:
                    return Outcome(result="received")
            return Outcome(result="nothing")
    except CallError as exc:
        return Outcome(result=exc.code)


if __name__ == "__main__":
    run(svc, settings)
