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

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True, slots=True)
class Sdist:
    name: str
    version: str
    sha256: str
    folder: str


CANTOOLS = Sdist("cantools", "45.1.0", "ea1619f3d6108a1c3ecd0f81c952ff2dffd023b244704f6f7a17c4f4dca75f73", "cantools-45.1.0")
OPENDBC = Sdist("opendbc", "0.3.1", "6235a31617d56b0a1e7c8aebd89bbd77db170d21d05a82a01959ed7c17e06954", "opendbc-0.3.1")
PYTHON_CAN = Sdist("python-can", "4.6.1", "290fea135d04b8504ebff33889cc6d301e2181a54099116609f940825ffe5005", "python_can-4.6.1")


def _cache_root(config: pytest.Config) -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        root = Path(xdg) / "carnel" / "public-data"
        root.mkdir(parents=True, exist_ok=True)
        return root
    return Path(config.cache.mkdir("carnel-public-data"))


def fetch_sdist(sdist: Sdist, root: Path) -> Path:
    """The unpacked source tree of a pinned sdist, downloaded with pip on first use."""
    tree = root / sdist.folder
    done = root / f"{sdist.folder}.complete"
    if done.exists():
        return tree
    if tree.exists():
        shutil.rmtree(tree)
    with tempfile.TemporaryDirectory(dir=root) as scratch:
        command = [
            sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
            f"{sdist.name}=={sdist.version}", "--dest", scratch,
        ]
        try:
            subprocess.run(command, check=True, capture_output=True, text=True, timeout=600)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            output = getattr(exc, "stderr", "") or ""
            pytest.fail(f"could not download {sdist.name}=={sdist.version} from PyPI for the real-data tests: {exc}\n{output}")
        archives = list(Path(scratch).glob("*.tar.gz"))
        if len(archives) != 1:
            pytest.fail(f"pip gave {archives} for {sdist.name}=={sdist.version}, expected one .tar.gz")
        digest = hashlib.sha256(archives[0].read_bytes()).hexdigest()
        if digest != sdist.sha256:
            pytest.fail(f"{archives[0].name} has SHA-256 {digest}, pinned {sdist.sha256}")
        with tarfile.open(archives[0]) as archive:
            archive.extractall(scratch, filter="data")
        os.replace(Path(scratch) / sdist.folder, tree)
    done.touch()
    return tree


@pytest.fixture(scope="session")
def public_data_root(pytestconfig: pytest.Config) -> Path:
    return _cache_root(pytestconfig)


@pytest.fixture(scope="session")
def cantools_sdist(public_data_root: Path) -> Path:
    return fetch_sdist(CANTOOLS, public_data_root)


@pytest.fixture(scope="session")
def opendbc_sdist(public_data_root: Path) -> Path:
    return fetch_sdist(OPENDBC, public_data_root)


@pytest.fixture(scope="session")
def python_can_sdist(public_data_root: Path) -> Path:
    return fetch_sdist(PYTHON_CAN, public_data_root)
