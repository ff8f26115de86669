"""The messages `carnel fuzz` sends: generated from each target's schema and mutated from valid
ones, by Hypothesis, in batches that are the same for the same seed.

Hypothesis runs its own engine (which favours boundaries: empty, zero, the largest values) with
shrinking off: a fuzzing run wants many different inputs, not the smallest failing one.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import zip_longest

from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis import strategies as st

from carnel.ipc.testing import mutations, payloads_for
from carnel.kernel.tools.fuzzing.targets import Target

GENERATED = "generated"


@dataclass(frozen=True, slots=True)
class FuzzInput:
    target: Target
    payload: bytes
    how: str  # GENERATED, or what the mutation did


class InputSource:
    """Batches of inputs, one target per batch in turn, half generated and half mutated,
    interleaved; batch N of seed S is always the same."""

    def __init__(self, targets: tuple[Target, ...], run_seed: int, batch_size: int = 50) -> None:
        self._targets = targets
        self._seed = run_seed
        self._half = max(1, batch_size // 2)

    def batch(self, number: int) -> list[FuzzInput]:
        target = self._targets[number % len(self._targets)]
        generated = payloads_for(target.message_type).map(
            lambda payload: FuzzInput(target, payload, GENERATED))
        mutated = mutations(target.message_type).map(
            lambda m: FuzzInput(target, m.payload, m.description))
        key = (self._seed * 1_000_003 + number) * 2
        halves = (self._draw(generated, key), self._draw(mutated, key + 1))
        return [item for pair in zip_longest(*halves) for item in pair if item is not None]

    def _draw(self, strategy: st.SearchStrategy[FuzzInput], key: int) -> list[FuzzInput]:
        found: list[FuzzInput] = []

        @seed(key)
        @settings(database=None, max_examples=self._half, phases=[Phase.generate],
                  deadline=None, suppress_health_check=list(HealthCheck),
                  verbosity=Verbosity.quiet)
        @given(strategy)
        def collect(item: FuzzInput) -> None:
            found.append(item)

        collect()
        return found
