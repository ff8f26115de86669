"""Messages between the access-control tests and their prober processes."""
from __future__ import annotations

import msgspec


class Attempt(msgspec.Struct, frozen=True, kw_only=True, tag="attempt"):
    verb: str  # publish | subscribe | call | done | secret
    subject: str = ""


class Outcome(msgspec.Struct, frozen=True, kw_only=True, tag="outcome"):
    result: str  # sent | received | nothing | ok | <error code> | the secret
