"""The route thread: the router's hot loop in an OS thread of its own, outside Trio's scheduler.

Publications from joined peers are nearly all of the bus's traffic, and the compiled loop routes
one in about a microsecond. Woken through Trio (an epoll registration, a task switch, a cancel
scope, a checkpoint per batch), the router spent more per wake-up than on the ~30 messages each
wake-up found. Here the loop blocks in poll() on the socket's FD with the GIL released, wakes,
drains, and sleeps again; the kernel's Trio task keeps everything else: the slow path, timers,
the requests the kernel answers itself.

Both threads use the one socket and the route table, so each does so only inside `exclusive()`.
libzmq lets a socket change threads across a full memory barrier, which the lock is. The lock is
taken through a turnstile, so the Trio side gets its turn after at most one batch however hard
the loop is flooded.

The socket's FD is edge-triggered, and any zmq call can consume its signal: the Trio side's own
sends included. So leaving `exclusive()` re-reads ZMQ_EVENTS and wakes the thread if a message is
waiting; otherwise the next arrival signals the FD again.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import zmq

# Slow-path messages (joins, subscriptions, requests) the thread hands over before it stops
# reading and lets libzmq's high-water marks push back, until the Trio side has caught up.
SLOW_BACKLOG = 10_000


class RouteThread:
    """Runs the loop's `serve(self)` in a thread: drains whenever the socket has messages, and
    hands the slow path to `on_slow`.

    `on_slow()` is called from this thread, once per hand-over until `take_slow()` collects it,
    and once more if the loop fails (then `error` holds the exception): it must be thread-safe,
    e.g. a Trio token's `run_sync_soon`.

    `inline(frames)`, if given, may handle a slow-path message here and now, holding the lock,
    and says whether it did: the hand-over to Trio costs ~60 us, most of a request's way
    through the kernel. Messages keep their order: once one is handed over, the ones after it
    follow it until `take_slow()` has collected them.

    What `serve` reads here (both twins, ipc/routeloop.py and ext/routeloop.pyx): `lock` and
    `turnstile`, `wake_fd`, `slow_backlog`, `stopping`, and it calls `hand_over()` and
    `on_slow()`.
    """

    def __init__(self, loop, on_slow: Callable[[], None], *,
                 inline: Callable[[list], bool] | None = None,
                 slow_backlog: int = SLOW_BACKLOG) -> None:
        self.loop = loop
        self.slow_backlog = slow_backlog
        self.on_slow = on_slow
        self.error: BaseException | None = None
        self.stopping = False
        self.lock = threading.Lock()
        self.turnstile = threading.Lock()
        self.wake_fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self._inline = inline
        self._sock: zmq.Socket = loop.sock
        self._handed_over = False  # on_slow was called and take_slow has not run since
        self._thread = threading.Thread(target=self._run, name="carnel-route", daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def native_id(self) -> int | None:
        """The OS's id of the thread, once started (for its CPU affinity)."""
        return self._thread.native_id

    def stop(self) -> None:
        """Stop the thread and wait for it; the socket is the caller's to close afterwards."""
        self.stopping = True
        self._wake()
        if self._thread.is_alive():
            self._thread.join()
        os.close(self.wake_fd)

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the socket and the route table: the loop does not run until this ends."""
        with self.turnstile:
            self.lock.acquire()
        try:
            yield
        finally:
            try:
                if not self._sock.closed and self._sock.getsockopt(zmq.EVENTS) & zmq.POLLIN:
                    self._wake()
            finally:
                self.lock.release()

    def take_slow(self) -> list:
        """The messages handed over to the slow path so far; call inside `exclusive()`."""
        table = self.loop.table
        batch, table.slow = table.slow, []
        self._handed_over = False
        if len(batch) >= self.slow_backlog:
            self._wake()  # it waits on the wake-up alone while backed up, not on the socket
        return batch

    def hand_over(self) -> bool:
        """Called by `serve` holding the lock while the slow path has messages: handles what it
        can inline, and says whether `on_slow()` is due (once per batch until it is taken)."""
        if self._handed_over:
            return False
        slow = self.loop.table.slow
        if self._inline is not None:
            handled = 0
            for frames in slow:
                if not self._inline(frames):
                    break
                handled += 1
            del slow[:handled]
        self._handed_over = bool(slow)
        return self._handed_over

    def _wake(self) -> None:
        os.eventfd_write(self.wake_fd, 1)

    def _run(self) -> None:
        try:
            self.loop.serve(self)
        except BaseException as exc:
            # The Trio side re-raises it: a kernel that routes nothing must not go on silently.
            self.error = exc
            self.on_slow()
