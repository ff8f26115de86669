"""The kernel keeps the memory of the messages it forwards mapped from one burst to the next.

libzmq allocates a buffer for every message the kernel reads and frees it once the message has
gone out to its last receiver. glibc's default policy gives the heap's free top back to the
operating system as soon as it passes about twice the largest freed buffer, so after a burst of
large messages (camera frames, map tiles) the memory goes back, and the next burst faults every
page in again, zeroed by the OS: 256 faults for each MiB. In `bench/bus.py --sizes 1048576` the
kernel took about 30 faults per 1 MiB message this way, and takes about one with the policy
below; libzmq's own forwarder, on glibc's default, takes 16 to 44.

So the kernel asks glibc to serve buffers below MMAP_BELOW from its heaps (as the dynamic policy
does, once warmed up) and to keep up to KEEP of freed memory at a heap's top for reuse.
"""
from __future__ import annotations

import ctypes
import os

# From glibc's malloc.h.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3

KEEP = 64 * 2**20  # the default [bus] max_unread: one window of a receiver that fell behind
# Larger buffers are rare on the bus, and from a heap (each at most 64 MiB in a thread's arena)
# they would fragment it: they keep their own mapping.
MMAP_BELOW = 4 * 2**20


def keep_message_memory(keep: int = KEEP, mmap_below: int = MMAP_BELOW) -> str | None:
    """Apply the policy to this process. None when applied, else why it was not: the C library
    is not glibc, or glibc refused a value (some versions cap the mmap threshold). Nothing is
    changed then, since a trim threshold alone would also switch off glibc's dynamic threshold
    and put every large buffer in a mapping of its own."""
    try:
        version = os.confstr("CS_GNU_LIBC_VERSION")
    except (ValueError, OSError):
        version = None
    if not version:
        return "the C library is not glibc"
    mallopt = ctypes.CDLL(None).mallopt
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    if not mallopt(M_MMAP_THRESHOLD, mmap_below):
        return f"{version} refuses a mmap threshold of {mmap_below} bytes"
    if not mallopt(M_TRIM_THRESHOLD, keep):
        return f"{version} refuses a trim threshold of {keep} bytes"
    return None
