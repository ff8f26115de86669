"""The test tree imports the way pytest's default mode needs: every module name is its own."""
from __future__ import annotations

import collections
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_no_two_test_or_helper_modules_share_a_name() -> None:
    # Each test folder is put on sys.path, so two `test_config.py` would shadow each other.
    names = collections.Counter(p.name for p in TESTS.rglob("*.py")
                                if p.name != "conftest.py" and "data" not in p.parts)
    assert [name for name, count in names.items() if count > 1] == []
