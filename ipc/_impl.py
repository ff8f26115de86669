"""Chooses the hot path: the compiled extension when it is built, else the pure-Python twin.

`CARNEL_PURE=1` forces the twin. This is the one place that decides; everything else imports
`pack_header`, `parse_header`, `restamp`, `RouteLoop`, `recv_batch` and `send_batch` from here.
"""
from __future__ import annotations

import os
from types import SimpleNamespace

from carnel.ipc import routeloop as _pure_routeloop
from carnel.ipc import wire as _pure_wire


def _implementation(name: str, wire, routeloop) -> SimpleNamespace:
    return SimpleNamespace(
        name=name,
        pack_header=wire.pack_header,
        parse_header=wire.parse_header,
        restamp=wire.restamp,
        RouteLoop=routeloop.RouteLoop,
        recv_batch=routeloop.recv_batch,
        send_batch=routeloop.send_batch,
        RouteTable=routeloop.RouteTable,
        Route=routeloop.Route,
        Peer=routeloop.Peer,
    )


def _pure() -> SimpleNamespace:
    return _implementation("pure", _pure_wire, _pure_routeloop)


def _compiled() -> SimpleNamespace | None:
    try:
        from carnel.ext import routeloop as ext_routeloop
        from carnel.ext import wire as ext_wire
    except ImportError:
        return None
    ext_wire.bind(_pure_wire.WireError, _pure_wire.Header)
    return _implementation("ext", ext_wire, ext_routeloop)


def available() -> dict[str, SimpleNamespace]:
    """Every implementation importable here, by name; tests run their suite against each."""
    found = {"pure": _pure()}
    compiled = _compiled()
    if compiled is not None:
        found["ext"] = compiled
    return found


def _active() -> SimpleNamespace:
    if os.environ.get("CARNEL_PURE") == "1":
        return _pure()
    return _compiled() or _pure()


ACTIVE = _active()
IMPLEMENTATION: str = ACTIVE.name
pack_header = ACTIVE.pack_header
parse_header = ACTIVE.parse_header
restamp = ACTIVE.restamp
RouteLoop = ACTIVE.RouteLoop
recv_batch = ACTIVE.recv_batch
send_batch = ACTIVE.send_batch
RouteTable = ACTIVE.RouteTable
Route = ACTIVE.Route
Peer = ACTIVE.Peer
