"""Trio <-> ZeroMQ: async multipart send and receive on a pyzmq socket.

pyzmq has no Trio integration. Its socket exposes a file descriptor that is *edge-triggered*:
it signals when ZMQ_EVENTS may have changed, and any zmq call on the socket (our own sends
included) can consume that signal. So the rule is: try the operation without blocking; on
EAGAIN re-read ZMQ_EVENTS, and wait on the FD only while the wanted event is clear.

Cancellation never loses a message: the only awaits happen before a message is taken off the
socket (or before it is handed to it), never between taking it and returning it.

A ZeroMQ socket belongs to one task. Two tasks receiving (or sending) at once raise
trio.BusyResourceError instead of corrupting the socket's state.
"""
from __future__ import annotations

import trio
import zmq

from carnel.ipc import _impl

Frames = list  # read-only zero-copy frames: see carnel.ipc._impl.recv_batch


class TrioSocket:
    """Owns one pyzmq socket for one Trio task."""

    def __init__(self, sock: zmq.Socket) -> None:
        self.sock = sock
        self._fd = sock.getsockopt(zmq.FD)
        self._receiving = False
        self._sending = False
        self._closed = False

    async def wait(self, event: int) -> None:
        """Return once ZMQ_EVENTS has any of the bits in `event` (zmq.POLLIN, zmq.POLLOUT) set."""
        while not self.sock.getsockopt(zmq.EVENTS) & event:
            if self._closed:
                raise trio.ClosedResourceError("the socket was closed")
            await trio.lowlevel.wait_readable(self._fd)

    async def recv_multipart(self) -> Frames:
        """Receive one multipart message, as zero-copy frames."""
        batch = await self.recv_batch(1)
        return batch[0]

    async def recv_batch(self, limit: int = 1000) -> list[Frames]:
        """Wait for at least one message, then take every waiting one, up to `limit`.

        Draining in batches is what keeps a busy receiver's cost per message low: one wake-up
        and one trip through Trio's scheduler for up to `limit` messages.
        """
        if self._receiving:
            raise trio.BusyResourceError("another task is receiving on this socket")
        self._receiving = True
        try:
            await trio.lowlevel.checkpoint_if_cancelled()
            while True:
                self._check_open()
                batch = _impl.recv_batch(self.sock, limit)
                if batch:
                    break
                await self.wait(zmq.POLLIN)
        finally:
            self._receiving = False
        # Messages are ours now: yield to the scheduler without letting a cancel drop them.
        await trio.lowlevel.cancel_shielded_checkpoint()
        return batch

    async def send_multipart(self, frames: list) -> None:
        """Send one multipart message; waits while the peer's queue is at its high-water mark."""
        if self._sending:
            raise trio.BusyResourceError("another task is sending on this socket")
        self._sending = True
        try:
            await trio.lowlevel.checkpoint_if_cancelled()
            while True:
                self._check_open()
                try:
                    # libzmq admits or refuses a multipart message as a whole at its first frame.
                    self.sock.send_multipart(frames, zmq.NOBLOCK, copy=False)
                except zmq.Again:
                    await self.wait(zmq.POLLOUT)
                else:
                    break
        finally:
            self._sending = False
        await trio.lowlevel.cancel_shielded_checkpoint()

    def _check_open(self) -> None:
        if self._closed:
            raise trio.ClosedResourceError("the socket was closed")

    def close(self, linger_ms: int = 0) -> None:
        """Close the socket; tasks waiting on it get trio.ClosedResourceError."""
        if self._closed:
            return
        self._closed = True
        trio.lowlevel.notify_closing(self._fd)
        self.sock.close(linger=linger_ms)

    async def aclose(self) -> None:
        self.close()
        await trio.lowlevel.checkpoint()

    async def __aenter__(self) -> TrioSocket:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
