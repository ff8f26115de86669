"""Real public CAN data for the tests, fetched from PyPI source distributions and cached.

Nothing of it is committed; each sdist is pinned by version and SHA-256, downloaded once with pip
into `$XDG_CACHE_HOME/carnel/public-data` (else pytest's cache folder) and unpacked there.

- opendbc 0.3.1 (comma.ai, MIT): DBC files reverse-engineered from production cars (Tesla Model 3,
  Toyota Prius, Ford/Lincoln CAN FD powertrain, VW MLB, GM high-voltage management).
- cantools 45.1.0 (MIT): abs.dbc (Bosch Motorsport ABS M5 kit), msxii_system_can.dbc (a solar car's
  battery bus), and the candump -L lines and battery-bus captures quoted in its test sources.
- python-can 4.6.1 (LGPL-3.0, used as test input only): Vector ASC logs from CANoe/CANalyzer
  (issue_1256.asc and issue_1299.asc are captures users attached to bug reports).
"""
from __future__ import annotations

from pathlib import Path

import pytest
from public_data import Sdist, fetch_sdist


CANTOOLS = Sdist("cantools", "45.1.0", "ea1619f3d6108a1c3ecd0f81c952ff2dffd023b244704f6f7a17c4f4dca75f73", "cantools-45.1.0")
OPENDBC = Sdist("opendbc", "0.3.1", "6235a31617d56b0a1e7c8aebd89bbd77db170d21d05a82a01959ed7c17e06954", "opendbc-0.3.1")
PYTHON_CAN = Sdist("python-can", "4.6.1", "290fea135d04b8504ebff33889cc6d301e2181a54099116609f940825ffe5005", "python_can-4.6.1")


@pytest.fixture(scope="session")
def cantools_sdist(public_data_root: Path) -> Path:
    return fetch_sdist(CANTOOLS, public_data_root)


@pytest.fixture(scope="session")
def opendbc_sdist(public_data_root: Path) -> Path:
    return fetch_sdist(OPENDBC, public_data_root)


@pytest.fixture(scope="session")
def python_can_sdist(public_data_root: Path) -> Path:
    return fetch_sdist(PYTHON_CAN, public_data_root)
