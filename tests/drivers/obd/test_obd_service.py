"""The process entry: the config is read before joining the bus, and a bad one stops it there."""
from __future__ import annotations

import json

import pytest

from carnel.drivers.obd import service
from carnel.ipc import Service


def test_a_config_that_does_not_fit_stops_the_process_naming_the_field(monkeypatch) -> None:
    monkeypatch.setenv("CARNEL_CONFIG", json.dumps({"port": "35000"}))
    monkeypatch.setattr(service, "run", lambda svc: pytest.fail("must not join the bus"))
    with pytest.raises(SystemExit, match="^obd: Expected `int`, got `str` - at `config.port`$"):
        service.main()


def test_a_good_config_runs_the_obd_service(monkeypatch) -> None:
    ran: list[Service] = []
    monkeypatch.setenv("CARNEL_CONFIG", json.dumps({"source": "tcp", "host": "192.168.0.10"}))
    monkeypatch.setattr(service, "run", ran.append)
    service.main()
    (svc,) = ran
    assert svc.name == "obd"
