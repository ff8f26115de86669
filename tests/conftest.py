"""Test-suite settings: a bounded Hypothesis profile for CI, a long one for `make fuzz`."""
from __future__ import annotations

import os

import pytest
import zmq
from hypothesis import HealthCheck, settings

from carnel.ipc import _impl
from public_data import cache_root

settings.register_profile("ci", max_examples=60, deadline=None, derandomize=False,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile("fuzz", max_examples=20_000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

# The hot path's twins: every suite that takes `impl` runs against both. `make test` always
# builds the extension, so a missing one fails loudly unless CARNEL_PURE=1 says to skip it.
IMPLEMENTATIONS = ["pure"] if os.environ.get("CARNEL_PURE") == "1" else ["pure", "ext"]


@pytest.fixture(scope="module", params=IMPLEMENTATIONS)
def impl(request):
    found = _impl.available()
    if request.param not in found:
        pytest.fail("carnel.ext is not built: run `make ext`, or set CARNEL_PURE=1 to test the "
                    "pure twin alone")
    return found[request.param]


@pytest.fixture
def ctx():
    """A ZeroMQ context of the test's own, destroyed without lingering."""
    context = zmq.Context()
    yield context
    context.destroy(linger=0)


@pytest.fixture(scope="session")
def public_data_root(pytestconfig: pytest.Config):
    """Where pinned public test data (sdists from PyPI) is unpacked and kept between runs."""
    return cache_root(pytestconfig)
