"""Every carnel command builds the whole parser: what only one tool needs must not slow the rest."""
from __future__ import annotations

import subprocess
import sys


def test_building_the_command_line_loads_no_recording_library():
    code = ("import sys; from carnel.kernel import cli; cli.parser(); "
            "print(sorted(m for m in ('mcap', 'zstandard', 'lz4', 'hypothesis') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"
