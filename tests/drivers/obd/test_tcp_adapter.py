"""The TCP adapter (WiFi ELM327s) against a real server on the loopback interface."""
from __future__ import annotations

from collections.abc import Callable

import trio
from obd_fakes import Published, RecordingBus, answer_as_elm327

from carnel.drivers.obd import SimulatedElm327, VehicleState
from carnel.drivers.obd.adapters import TcpAdapter
from carnel.drivers.obd.config import ObdConfig
from carnel.drivers.obd.driver import ObdDriver
from carnel.ipc.device import Backoff, DeviceLink


def fresh_elm327(speed_kmh: float) -> Callable[[trio.SocketStream], object]:
    """A connection handler: each connection meets an adapter just powered up."""
    async def serve(stream: trio.SocketStream) -> None:
        await answer_as_elm327(stream, SimulatedElm327(VehicleState.typical(speed_kmh=speed_kmh)))
    return serve


async def start_server(nursery: trio.Nursery, speed_kmh: float,
                       port: int = 0) -> tuple[trio.CancelScope, int]:
    scope = trio.CancelScope()

    async def run(task_status=trio.TASK_STATUS_IGNORED) -> None:
        with scope:
            await trio.serve_tcp(fresh_elm327(speed_kmh), port, host="127.0.0.1",
                                 task_status=task_status)

    listeners = await nursery.start(run)
    return scope, listeners[0].socket.getsockname()[1]


def speed_is(kmh: float) -> Callable[[Published], bool]:
    return lambda p: p.subject == "obd.signals.vehicle_speed" and p.msg.signals[0].value == kmh


async def test_a_wifi_adapter_that_goes_away_is_unavailable_and_is_reconnected_when_back() -> None:
    bus = RecordingBus()
    async with trio.open_nursery() as nursery:
        with trio.fail_after(10):
            server, port = await start_server(nursery, speed_kmh=40)
            adapter = TcpAdapter("127.0.0.1", port)
            driver = ObdDriver(bus, adapter, ObdConfig(source="tcp", port=port,
                                                       poll={"vehicle_speed": 20.0}))
            link = DeviceLink(bus, "obd", adapter.name, backoff=Backoff(initial=0.01, maximum=0.05))
            nursery.start_soon(link.run, driver.session)
            await bus.wait_for(speed_is(40))

            server.cancel()  # the adapter's access point is gone: connection and listener
            lost = await bus.wait_for_state("unavailable")
            refused = await bus.wait_for_state("unavailable", after=lost + 1)

            await start_server(nursery, speed_kmh=70, port=port)
            back = await bus.wait_for_state("connected", after=refused)
            await bus.wait_for(speed_is(70), after=back)
        nursery.cancel_scope.cancel()
    assert bus.published[lost].msg.reason in ("the adapter closed the connection",
                                              "reading: ECONNRESET: Connection reset by peer")
    assert bus.published[refused].msg.reason.startswith("ECONNREFUSED")
    assert bus.published[lost].msg.device == f"tcp:127.0.0.1:{port}"

