from __future__ import annotations

import pytest
from fake_bus import FakeBus


@pytest.fixture
def fake_bus(monkeypatch: pytest.MonkeyPatch) -> FakeBus:
    """A FakeBus that every Service served in this test joins."""
    bus = FakeBus()
    monkeypatch.setattr("carnel.ipc.service.BusClient", bus.client)
    return bus
