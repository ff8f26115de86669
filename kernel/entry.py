"""The `carnel` command's entry point. It imports nothing itself, so that Ctrl-C at any moment,
even while the command is still loading, ends it without a traceback."""
from __future__ import annotations

EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports an interrupted command


def main() -> int:
    try:
        from carnel.kernel.cli import main as run

        return run()
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
