from __future__ import annotations

import pytest

from carnel.ipc.testing import FakeBus


@pytest.fixture
def fake_bus() -> FakeBus:
    """A FakeBus that the services a test serves through it join."""
    return FakeBus()
