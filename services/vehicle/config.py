"""The vehicle service's settings: the image's `[process.vehicle.config]`.

    [process.vehicle.config.defaults]      # for every signal the image does not name
    max_age_s = 5.0

    [process.vehicle.config.signals."Vehicle.Speed"]
    sources = ["can", "obd", "gps"]        # priority: the first fresh source wins
    type = "number"                        # or "boolean", "string"
    unit = "km/h"
    deadband = 0.5                         # publish a move of more than this, not less
    min_interval_s = 0.1                   # at most one publication per interval
    max_age_s = 2.0                        # stale when the winning source is this old

A field a signal leaves out comes from `defaults`; one `defaults` leaves out too, from the
built-in values below. A signal without `sources` takes any source, the first heard first; one
without `type` or `unit` keeps those of the first value reported.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

import msgspec

from carnel.services.vehicle.paths import PathError, check_path

ValueType = Literal["number", "boolean", "string"]
NonNegative = Annotated[float, msgspec.Meta(ge=0)]
Positive = Annotated[float, msgspec.Meta(gt=0)]

# Long enough for a source that reports about once a second (a GPS fix, a slow OBD poll cycle)
# to miss a few updates before its signals are called stale.
DEFAULT_MAX_AGE_S = 5.0


@dataclass(frozen=True, slots=True)
class SignalRules:
    """One signal's resolved rules, in the units the table works in.

    `sources` None takes any source; `type` None and `unit` "" are fixed by the first report.
    """

    sources: tuple[str, ...] | None
    type: ValueType | None
    unit: str
    deadband: float
    min_interval_ns: int
    max_age_ns: int


class SignalDefaults(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Rules for every signal; each field left out (None) falls back to the built-in value."""

    sources: list[str] | None = None
    deadband: NonNegative | None = None
    min_interval_s: NonNegative | None = None
    max_age_s: Positive | None = None

    def __post_init__(self) -> None:
        if self.sources is not None:
            if len(set(self.sources)) != len(self.sources):
                raise ValueError(f"sources lists a source twice: {self.sources}")
            if "" in self.sources:
                raise ValueError("sources holds an empty name")


class SignalConfig(SignalDefaults, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One signal's rules; each field left out falls back to `defaults`."""

    type: ValueType | None = None
    unit: str | None = None


class VehicleConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """`poll_interval_s` bounds how late a stale signal or a held-back change is published.
    `max_signals` keeps a driver that invents new paths from growing the table without end."""

    defaults: SignalDefaults = SignalDefaults()
    signals: dict[str, SignalConfig] = {}
    poll_interval_s: Positive = 0.05
    max_signals: Annotated[int, msgspec.Meta(ge=1)] = 10_000

    def __post_init__(self) -> None:
        for path in self.signals:
            try:
                check_path(path)
            except PathError as exc:
                raise ValueError(f"signals: {exc}") from None

    def rules_for(self, path: str) -> SignalRules:
        """The rules for `path`: its own table over `defaults` over the built-in values."""
        own = self.signals.get(path, _UNCONFIGURED)
        base = self.defaults

        def pick(name: str, builtin):
            value = getattr(own, name)
            if value is None:
                value = getattr(base, name)
            return builtin if value is None else value

        sources = pick("sources", None)
        return SignalRules(
            sources=tuple(sources) if sources else None,
            type=own.type,
            unit=own.unit or "",
            deadband=pick("deadband", 0.0),
            min_interval_ns=round(pick("min_interval_s", 0.0) * 1e9),
            max_age_ns=round(pick("max_age_s", DEFAULT_MAX_AGE_S) * 1e9),
        )


_UNCONFIGURED = SignalConfig()
