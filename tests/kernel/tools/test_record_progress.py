"""What `carnel record` and `replay` tell while they run: progress lines and lost messages."""
from __future__ import annotations

import io

from carnel.kernel.tools.record import GapCounter
from carnel.kernel.tools.recording.progress import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_progress_line_is_redrawn_in_place():
    screen = Terminal()
    progress = Progress(screen)
    progress.show("1 message")
    progress.show("2 messages")
    progress.say("recorded 2 messages")
    assert screen.getvalue() == "\r\x1b[K1 message\r\x1b[K2 messages\r\x1b[Krecorded 2 messages\n"


def test_in_a_log_progress_is_an_occasional_line():
    log, now = io.StringIO(), [0.0]
    progress = Progress(log, every_s=10, clock=lambda: now[0])
    for second in range(25):
        now[0] = float(second)
        progress.show(f"at {second}")
    progress.say("done")
    assert log.getvalue() == "at 10\nat 20\ndone\n"


def test_gaps_in_a_subject_s_sequence_are_messages_lost():
    gaps = GapCounter()
    for subject, seq in [("a", 1), ("a", 2), ("b", 7), ("a", 5), ("b", 8), ("a", 6)]:
        gaps.see(subject, seq)
    assert gaps.lost == 2 and gaps.last == {"a": 6, "b": 8}


def test_a_retained_value_seen_again_is_no_gap():
    gaps = GapCounter()
    for seq in (4, 5, 5, 6):
        gaps.see("a", seq)
    assert gaps.lost == 0
