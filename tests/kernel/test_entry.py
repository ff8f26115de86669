"""Ctrl-C ends the `carnel` command quietly, even while it is still loading."""
from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points

from carnel.kernel.entry import EXIT_INTERRUPTED

# Ctrl-C as it lands while the command's modules are still being imported.
INTERRUPTED_WHILE_LOADING = """
import sys

class CtrlC:
    def find_spec(self, name, path=None, target=None):
        if name == "carnel.kernel.cli":
            raise KeyboardInterrupt

sys.meta_path.insert(0, CtrlC())
from carnel.kernel.entry import main
sys.exit(main())
"""


def test_ctrl_c_while_loading_exits_130_without_a_traceback() -> None:
    done = subprocess.run([sys.executable, "-c", INTERRUPTED_WHILE_LOADING],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == EXIT_INTERRUPTED == 130
    assert done.stderr == ""


def test_the_installed_command_starts_at_the_entry_point() -> None:
    (carnel,) = entry_points(group="console_scripts", name="carnel")
    assert carnel.value == "carnel.kernel.entry:main"
