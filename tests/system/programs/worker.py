"""A configurable test service: publishes bursts on request and reports what it received.

Environment: WORKER_SUBSCRIBE, a comma-separated list of patterns to subscribe to.
"""
from __future__ import annotations

import hashlib
import os

from worker_messages import Burst, BurstDone, Query, Report, Sample

from carnel.ipc import Service, run


svc = Service()
received: dict[str, int] = {}
last_index: dict[str, int] = {}
attachments = {"intact": 0, "broken": 0}


async def on_sample(sample: Sample, delivery) -> None:
    subject = delivery.header.subject
    received[subject] = received.get(subject, 0) + 1
    last_index[subject] = sample.index
    if sample.attachment_sha256:
        digest = hashlib.sha256(delivery.attachments[0]).hexdigest()
        attachments["intact" if digest == sample.attachment_sha256 else "broken"] += 1


for pattern in filter(None, os.environ.get("WORKER_SUBSCRIBE", "").split(",")):
    svc.subscribe(pattern)(on_sample)

name = os.environ["CARNEL_NAME"]


@svc.provide(f"{name}.burst")
async def burst(req: Burst) -> BurstDone:
    body = b"x" * req.size
    attachment = os.urandom(req.attachment_size) if req.attachment_size else b""
    digest = hashlib.sha256(attachment).hexdigest() if attachment else ""
    for i in range(req.count):
        await svc.publish(req.subject, Sample(index=i, body=body, attachment_sha256=digest),
                          attachments=[attachment] if attachment else ())
    return BurstDone(sent=req.count)


@svc.provide(f"{name}.report")
async def report(_: Query) -> Report:
    return Report(received=dict(received), last_index=dict(last_index),
                  intact_attachments=attachments["intact"],
                  broken_attachments=attachments["broken"], gaps=svc.stats.gaps,
                  dropped=svc.stats.dropped)


if __name__ == "__main__":
    run(svc)
