"""Chooses the hot path: the compiled extension when it is built, else the pure-Python twin.

`CARNEL_PURE=1` forces the twin. This is the one place that decides; everything else imports
`pack_header`, `parse_header`, `restamp` and `RouteLoop` from here.
"""
from __future__ import annotations

import os
from types import SimpleNamespace

from carnel.ipc import routeloop as _pure_routeloop
from carnel.ipc import wire as _pure_wire


def _pure() -> SimpleNamespace:
    return SimpleNamespace(
        name="pure",
        pack_header=_pure_wire.pack_header,
        parse_header=_pure_wire.parse_header,
        restamp=_pure_wire.restamp,
        RouteLoop=_pure_routeloop.RouteLoop,
        RouteTable=_pure_routeloop.RouteTable,
        Route=_pure_routeloop.Route,
        Peer=_pure_routeloop.Peer,
    )


def _compiled() -> SimpleNamespace | None:
    try:
        from carnel.ext import routeloop as ext_routeloop
        from carnel.ext import wire as ext_wire
    except ImportError:
        return None
    ext_wire.bind(_pure_wire.WireError, _pure_wire.Header)
    return SimpleNamespace(
        name="ext",
        pack_header=ext_wire.pack_header,
        parse_header=ext_wire.parse_header,
        restamp=ext_wire.restamp,
        RouteLoop=ext_routeloop.RouteLoop,
        RouteTable=ext_routeloop.RouteTable,
        Route=ext_routeloop.Route,
        Peer=ext_routeloop.Peer,
    )


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
RouteTable = ACTIVE.RouteTable
Route = ACTIVE.Route
Peer = ACTIVE.Peer
