"""Default deny across real processes: every process x subject x verb of an image, credentials
that die with their process, and refusals in the kernel's statistics."""
from __future__ import annotations

import itertools
import os
import signal
import sys

import msgspec
import pytest
import trio

from carnel.ipc import Service
from carnel.ipc.client import BusClient
from carnel.ipc.errors import Denied
from carnel.ipc.schemas.bus import BusStats, Empty
from carnel.ipc.schemas.kernel import ProcessList, ProcessStateChanged
from carnel.ipc.settings import Credential

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "programs"))
from conftest import OPERATOR, program  # noqa: E402
from prober_messages import Attempt, Outcome  # noqa: E402

GRANTS = {
    "gps": {"publish": ["gps.>"]},
    "media": {"publish": ["media.>"], "subscribe": ["media.>", "gps.fix"], "call": ["nav.route"]},
    "nav": {"publish": ["nav.*"], "subscribe": ["gps.>"], "call": ["media.>"]},
}
SUBJECTS = ["gps.fix", "media.track", "nav.route", "door.unlock"]
VERBS = ["publish", "subscribe", "call"]
# What GRANTS allow, written out by hand rather than computed by the code under test.
ALLOWED = {
    ("gps", "publish", "gps.fix"),
    ("media", "publish", "media.track"), ("media", "subscribe", "media.track"),
    ("media", "subscribe", "gps.fix"), ("media", "call", "nav.route"),
    ("nav", "publish", "nav.route"), ("nav", "subscribe", "gps.fix"),
    ("nav", "call", "media.track"),
}


def prober(name: str) -> str:
    grants = GRANTS[name]
    lines = [f"[process.{name}]", program("prober.py"), f'provide = ["probe.{name}"]']
    publish = [*grants.get("publish", []), f"probe.{name}.done"]
    lines.append("publish = " + repr(publish).replace("'", '"'))
    for verb in ("subscribe", "call"):
        if verb in grants:
            lines.append(f"{verb} = " + repr(grants[verb]).replace("'", '"'))
    return "\n".join(lines) + "\n"


IMAGE = ('[image]\nname = "security-test"\n' + OPERATOR + "\n"
         + "\n".join(prober(name) for name in GRANTS))


class Observer:
    """The test's own session: sees every publication and answers every call."""

    def __init__(self) -> None:
        self.svc = Service("observer")
        self.seen: list[tuple[str, str]] = []
        self.done: set[str] = set()
        self._arrived = trio.Event()

        @self.svc.subscribe(">", type=msgspec.Raw)
        async def on_any(_: msgspec.Raw, delivery) -> None:
            header = delivery.header
            if header.subject.endswith(".done"):
                self.done.add(header.source)
            elif header.source in GRANTS:
                self.seen.append((header.source, header.subject))
            self._arrived.set()
            self._arrived = trio.Event()

        for subject in SUBJECTS:
            self.svc.provide(subject, type=Empty)(self._answer)

    async def _answer(self, _: Empty) -> Empty:
        return Empty()

    async def until_done(self, name: str) -> None:
        with trio.fail_after(10):
            while name not in self.done:
                await self._arrived.wait()


async def test_every_verb_is_allowed_exactly_where_the_image_says(stack_factory):
    stack = await stack_factory(IMAGE).boot()
    observer = Observer()
    async with stack.service("observer", observer.svc) as svc:
        for subject in SUBJECTS:  # kept, so that a subscription gets a value at once
            await svc.publish(subject, Empty(), retain=True)
        outcomes = {}
        for name, verb, subject in itertools.product(GRANTS, VERBS, SUBJECTS):
            reply = await svc.call(f"probe.{name}", Attempt(verb=verb, subject=subject), Outcome)
            outcomes[name, verb, subject] = reply.result
        for name in GRANTS:
            await svc.call(f"probe.{name}", Attempt(verb="done"), Outcome)
            await observer.until_done(name)
        stats = await svc.call("kernel.stats", Empty(), BusStats)
        listing = await svc.call("kernel.ps", Empty(), ProcessList)

    expected = {"publish": "sent", "subscribe": "received", "call": "ok"}
    for key, result in outcomes.items():
        verb = key[1]
        if key in ALLOWED:
            assert result == expected[verb], key
        elif verb == "publish":
            assert result == "sent", key  # a publication is refused silently, at the kernel
        else:
            assert result == "denied", key
    published = {(name, "publish", subject) for name, subject in observer.seen}
    assert published == {key for key in ALLOWED if key[1] == "publish"}
    refused = {p.name: p.rejects for p in stats.processes if p.name in GRANTS}
    for name in GRANTS:
        denied = {verb: sum(1 for s in SUBJECTS if (name, verb, s) not in ALLOWED)
                  for verb in VERBS}
        assert refused[name] == {f"denied.{verb}": n for verb, n in denied.items() if n}, name
    shown = {p.name: p.rejects for p in listing.processes}
    assert shown == {name: sum(refused[name].values()) for name in GRANTS}


async def test_a_dead_process_credential_is_refused_and_its_restart_gets_a_new_one(
        stack_factory):
    stack = await stack_factory(IMAGE).boot()
    async with stack.service("tester") as svc:
        old = await svc.call("probe.gps", Attempt(verb="secret"), Outcome)
        listing = await svc.call("kernel.ps", Empty(), ProcessList)
        pid = next(p.pid for p in listing.processes if p.name == "gps")
        async with svc.messages("kernel.process.gps", ProcessStateChanged) as changes:
            os.kill(pid, signal.SIGKILL)
            with trio.fail_after(15):
                async for change in changes:
                    if change.new == "ready" and change.pid != pid:
                        break
        new = await svc.call("probe.gps", Attempt(verb="secret"), Outcome)
        assert new.result != old.result
        stolen = BusClient(stack.endpoint, "gps", credential=Credential("gps", old.result.encode()))
        async with trio.open_nursery() as nursery:
            with pytest.raises(Denied, match="refused the credential of 'gps'"):
                await nursery.start(stolen.run)
        stats = await svc.call("kernel.stats", Empty(), BusStats)
        assert stats.anonymous_rejects.get("unauthenticated", 0) >= 1


async def test_operator_rights_come_from_the_image_and_its_key_is_private(stack_factory):
    image = IMAGE.replace(OPERATOR, '[operator]\ncall = ["kernel.ps"]\n')
    stack = await stack_factory(image).boot()
    key = stack.run_dir / "operator.key"
    assert (key.stat().st_mode & 0o777, stack.run_dir.stat().st_mode & 0o777) == (0o600, 0o711)
    assert stack.carnel("ps").returncode == 0
    stop = stack.carnel("stop", "gps")
    assert stop.returncode == 1
    assert "may not call kernel.stop" in stop.stderr
    assert await stack.stop() == 0
    assert not key.exists()
