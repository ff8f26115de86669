"""Bursts of large messages through the kernel reuse the memory of the last burst."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from carnel.kernel import message_memory

GLIBC = bool(os.confstr("CS_GNU_LIBC_VERSION"))

# As the kernel's libzmq I/O thread does with a burst: read (allocate and fill) a message buffer
# per message, then free them all once they are out. Page faults counted for the bursts after
# the first, in a fresh process.
BURSTS = """
import ctypes, json, resource, sys, threading
from carnel.kernel.message_memory import keep_message_memory

MESSAGES, SIZE = 32, 2**20
reason = keep_message_memory() if sys.argv[1] == "kept" else None
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = (ctypes.c_void_p,)
faults = []

def bursts():
    for _ in range(6):
        before = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
        buffers = [libc.malloc(SIZE) for _ in range(MESSAGES)]
        for buffer in buffers:
            ctypes.memset(buffer, 1, SIZE)
        for buffer in buffers:
            libc.free(buffer)
        faults.append(resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - before)

thread = threading.Thread(target=bursts)
thread.start()
thread.join()
print(json.dumps({"reason": reason, "faults_after_first": sum(faults[1:])}))
"""
PAGES_PER_BURST = 32 * 2**20 // 4096


def bursts(policy: str) -> dict:
    out = subprocess.run([sys.executable, "-c", BURSTS, policy], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout)


@pytest.mark.skipif(not GLIBC, reason="measures glibc's policy")
def test_a_burst_faults_in_no_page_the_last_burst_had() -> None:
    kept = bursts("kept")
    assert kept["reason"] is None
    # Five bursts after the first: a few pages of bookkeeping, not the buffers again.
    assert kept["faults_after_first"] < PAGES_PER_BURST // 4
    # glibc's own policy gives the memory back after every burst: the check above measures
    # what the kernel's policy changes.
    assert bursts("default")["faults_after_first"] > 4 * PAGES_PER_BURST


class RefusingGlibc:
    """glibc as one that refuses to set `refused` (some versions cap the mmap threshold)."""

    def __init__(self, refused: int) -> None:
        self.set: list[tuple[int, int]] = []

        def mallopt(option: int, value: int) -> int:  # a function: ctypes' take argtypes
            if option == refused:
                return 0
            self.set.append((option, value))
            return 1

        self.mallopt = mallopt

    def __call__(self, name):
        return self


def test_a_threshold_glibc_refuses_changes_nothing_and_says_why(monkeypatch) -> None:
    glibc = RefusingGlibc(message_memory.M_MMAP_THRESHOLD)
    monkeypatch.setattr(message_memory.ctypes, "CDLL", glibc)
    reason = message_memory.keep_message_memory(mmap_below=2**22)
    assert "refuses a mmap threshold of 4194304 bytes" in reason
    # A trim threshold alone would switch glibc's dynamic policy off and map every buffer apart.
    assert glibc.set == []


def test_another_c_library_is_left_alone(monkeypatch) -> None:
    glibc = RefusingGlibc(0)
    monkeypatch.setattr(message_memory.ctypes, "CDLL", glibc)
    monkeypatch.setattr(message_memory.os, "confstr", lambda name: None)
    assert message_memory.keep_message_memory() == "the C library is not glibc"
    assert glibc.set == []
