"""A test kit for service authors: Hypothesis strategies for every schema, and a fake bus.

    from carnel.ipc.testing import harness, strategy_for

    @given(strategy_for(Signal))
    def test_any_signal_round_trips(signal): ...

    async def test_reset():
        async with harness(svc) as bus:
            assert (await bus.call("trip.reset", Empty(), Trip)).metres == 0.0

Needs Hypothesis (installed with carnel's `test` extra).
"""
from carnel.ipc.testing.harness import FakeBus, Publication, harness
from carnel.ipc.testing.mutations import Mutation, malformed_payloads, mutations
from carnel.ipc.testing.strategies import payloads_for, strategies, strategy_for

__all__ = [
    "FakeBus",
    "Mutation",
    "Publication",
    "harness",
    "malformed_payloads",
    "mutations",
    "payloads_for",
    "strategies",
    "strategy_for",
]
