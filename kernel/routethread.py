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
import select
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import zmq

# Slow-path messages (joins, subscriptions, requests) the thread hands over before it stops
# reading and lets libzmq's high-water marks push back, until the Trio side has caught up.
SLOW_BACKLOG = 10_000


class RouteThread:
    """Runs `loop.drain()` whenever the socket has messages; hands the slow path to `on_slow`.

    `on_slow()` is called from this thread, once per hand-over until `take_slow()` collects it,
    and once more if the loop fails (then `error` holds the exception): it must be thread-safe,
    e.g. a Trio token's `run_sync_soon`.

    `inline(frames)`, if given, may handle a slow-path message here and now, holding the lock,
    and says whether it did: the hand-over to Trio costs ~60 us, most of a request's way
    through the kernel. Messages keep their order: once one is handed over, the ones after it
    follow it until `take_slow()` has collected them.
    """

    def __init__(self, loop, on_slow: Callable[[], None], *,
                 inline: Callable[[list], bool] | None = None,
                 slow_backlog: int = SLOW_BACKLOG) -> None:
        self.loop = loop
        self.slow_backlog = slow_backlog
        self._inline = inline
        self.error: BaseException | None = None
        self._on_slow = on_slow
        self._sock: zmq.Socket = loop.sock
        self._zmq_fd = self._sock.getsockopt(zmq.FD)
        self._wake_fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self._lock = threading.Lock()
        self._turnstile = threading.Lock()
        self._handed_over = False  # on_slow was called and take_slow has not run since
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="carnel-route", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and wait for it; the socket is the caller's to close afterwards."""
        self._stopping = True
        self._wake()
        if self._thread.is_alive():
            self._thread.join()
        os.close(self._wake_fd)

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the socket and the route table: the loop does not run until this ends."""
        self._acquire()
        try:
            yield
        finally:
            try:
                if not self._sock.closed and self._sock.getsockopt(zmq.EVENTS) & zmq.POLLIN:
                    self._wake()
            finally:
                self._lock.release()

    def take_slow(self) -> list:
        """The messages handed over to the slow path so far; call inside `exclusive()`."""
        table = self.loop.table
        batch, table.slow = table.slow, []
        self._handed_over = False
        if len(batch) >= self.slow_backlog:
            self._wake()  # it waits on the wake-up alone while backed up, not on the socket
        return batch

    def _acquire(self) -> None:
        with self._turnstile:
            self._lock.acquire()

    def _wake(self) -> None:
        os.eventfd_write(self._wake_fd, 1)

    def _run(self) -> None:
        poll_all = select.poll()
        poll_all.register(self._zmq_fd, select.POLLIN)
        poll_all.register(self._wake_fd, select.POLLIN)
        poll_wake = select.poll()  # while the slow path is backed up: not the socket
        poll_wake.register(self._wake_fd, select.POLLIN)
        try:
            while True:
                backed_up = self._drain()
                if self._stopping:
                    return
                ready = (poll_wake if backed_up else poll_all).poll()
                if any(fd == self._wake_fd for fd, _ in ready):
                    os.eventfd_read(self._wake_fd)
        except BaseException as exc:
            # The Trio side re-raises it: a kernel that routes nothing must not go on silently.
            self.error = exc
            self._on_slow()

    def _drain(self) -> bool:
        """Route until no message waits; True if it stopped because the slow path is backed up."""
        loop, table, sock = self.loop, self.loop.table, self._sock
        while True:
            self._acquire()
            try:
                if self._stopping:
                    return False
                backed_up = len(table.slow) >= self.slow_backlog
                more = False
                if not backed_up:
                    more = (loop.drain() >= loop.batch
                            or bool(sock.getsockopt(zmq.EVENTS) & zmq.POLLIN))
                if table.slow and self._inline is not None and not self._handed_over:
                    self._handle_inline(table.slow)
                hand_over = bool(table.slow) and not self._handed_over
                self._handed_over |= hand_over
            finally:
                self._lock.release()
            if hand_over:
                self._on_slow()
            if not more:
                return backed_up

    def _handle_inline(self, slow: list) -> None:
        handled = 0
        for frames in slow:
            if not self._inline(frames):
                break
            handled += 1
        del slow[:handled]
