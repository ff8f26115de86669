"""Counters of rejected or skipped input, keyed by the stable reason strings of CanError."""
from __future__ import annotations


class ReasonCounts:
    """How many inputs were turned away, per reason; reading an unseen reason gives 0."""

    __slots__ = ("_counts",)

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}

    def add(self, reason: str, count: int = 1) -> None:
        self._counts[reason] = self._counts.get(reason, 0) + count

    def __getitem__(self, reason: str) -> int:
        return self._counts.get(reason, 0)

    @property
    def total(self) -> int:
        return sum(self._counts.values())

    def snapshot(self) -> dict[str, int]:
        """A copy, sorted by reason, for logging or publishing."""
        return dict(sorted(self._counts.items()))

    def __repr__(self) -> str:
        return f"ReasonCounts({self.snapshot()!r})"
