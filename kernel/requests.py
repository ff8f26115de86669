"""Requests in flight through the router: who asked, who answers, and until when.

Pure bookkeeping, no I/O. The router gives each forwarded request its own id, so a provider can
only answer requests it was actually given, and two callers using the same message id never mix.
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass


@dataclass(slots=True)
class Pending:
    caller: bytes  # routing identity of the caller
    caller_msg_id: int
    provider: bytes  # routing identity of the provider it was forwarded to
    subject: str
    deadline: float


class PendingRequests:
    """Forwarded requests by forwarding id, with their deadlines in a heap."""

    def __init__(self) -> None:
        self._by_id: dict[int, Pending] = {}
        self._deadlines: list[tuple[float, int]] = []
        self._next_id = 0

    def __len__(self) -> int:
        return len(self._by_id)

    def add(self, pending: Pending) -> int:
        """Register a request; returns the id to forward it under."""
        self._next_id = self._next_id + 1 if self._next_id < 2**64 - 1 else 1
        self._by_id[self._next_id] = pending
        heapq.heappush(self._deadlines, (pending.deadline, self._next_id))
        return self._next_id

    def answer(self, forward_id: int, provider: bytes) -> Pending | None:
        """The request that a reply from `provider` answers, or None if it has none pending."""
        pending = self._by_id.get(forward_id)
        if pending is None or pending.provider != provider:
            return None
        del self._by_id[forward_id]
        return pending

    def expire(self, now: float) -> list[Pending]:
        """Remove and return every request whose deadline has passed."""
        expired = []
        while self._deadlines and self._deadlines[0][0] <= now:
            _, forward_id = heapq.heappop(self._deadlines)
            pending = self._by_id.pop(forward_id, None)
            if pending is not None:
                expired.append(pending)
        self._compact()
        return expired

    def drop_provider(self, provider: bytes) -> list[Pending]:
        """Remove and return every request waiting on a provider that has gone."""
        gone = [fid for fid, p in self._by_id.items() if p.provider == provider]
        return [self._by_id.pop(fid) for fid in gone]

    def drop_caller(self, caller: bytes) -> None:
        """Forget requests from a caller that has gone; their replies will be dropped."""
        for fid in [fid for fid, p in self._by_id.items() if p.caller == caller]:
            del self._by_id[fid]

    def next_deadline(self) -> float:
        """The earliest deadline still pending, or +inf."""
        while self._deadlines and self._deadlines[0][1] not in self._by_id:
            heapq.heappop(self._deadlines)
        return self._deadlines[0][0] if self._deadlines else float("inf")

    def _compact(self) -> None:
        # Answered requests leave stale heap entries; rebuild when they outnumber live ones.
        if len(self._deadlines) > 64 and len(self._deadlines) > 4 * len(self._by_id):
            self._deadlines = [(p.deadline, fid) for fid, p in self._by_id.items()]
            heapq.heapify(self._deadlines)
