"""The kernel's router and ZAP handler in-process, with an image's access lists, for tests.

Clients connect with credentials issued the way the kernel issues them at spawn.
"""
from __future__ import annotations

import trio
import zmq

from carnel.ipc.client import BusClient
from carnel.ipc.settings import Credential
from carnel.kernel.access import access_control
from carnel.kernel.credentials import CredentialStore
from carnel.kernel.image import parse_image
from carnel.kernel.router import Router, RouterSettings
from carnel.kernel.zap import ZapHandler

IMAGE = parse_image('''
[image]
name = "secure"

[operator]
call = ["kernel.>"]
subscribe = [">"]

[process.gps]
module = "m"
publish = ["gps.>"]

[process.media]
module = "m"
subscribe = ["media.>", "gps.fix"]
call = ["nav.route"]
publish = ["media.>"]

[process.nav]
module = "m"
provide = ["nav"]
subscribe = ["gps.>"]

[process.fuzzer]
module = "m"
publish = ["fuzz.>"]
call = ["kernel.ps", "nowhere.>"]
''', "secure.toml")


class SecureBus:
    def __init__(self, nursery: trio.Nursery, ctx: zmq.Context, endpoint: str, impl,
                 **settings) -> None:
        self.nursery = nursery
        self.ctx = ctx
        self.endpoint = endpoint
        self.store = CredentialStore()
        self.zap = ZapHandler(ctx, self.store)
        self.events_send, self.events = trio.open_memory_channel(1000)
        self.router = Router(ctx, RouterSettings(endpoint=endpoint, **settings), self.events_send,
                             impl, access=access_control(IMAGE))

    async def start(self, *, zap: bool = True) -> SecureBus:
        if zap:
            await self.nursery.start(self.zap.run)
        await self.nursery.start(self.router.run)
        return self

    def credential(self, name: str) -> Credential:
        return Credential(user=name, secret=self.store.issue(name))

    async def client(self, name: str, credential: Credential | None = None, *,
                     provides=(), join_timeout: float = 5) -> BusClient:
        client = BusClient(self.endpoint, name, ctx=self.ctx, provides=list(provides),
                           credential=credential or self.credential(name))
        await self.nursery.start(lambda task_status: client.run(task_status=task_status,
                                                                join_timeout=join_timeout))
        return client


class Collector:
    def __init__(self) -> None:
        self.got = []

    def __call__(self, batch) -> None:
        self.got.extend(batch)
