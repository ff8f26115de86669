"""Requests that ended without an answer: the shared ObdRequestFailed form and a quiet log of them.

A vehicle that refuses a PID refuses it every time it is asked, ten times a second; the log gets
the first occurrence of each request and reason, then every tenfold, with the running count.
"""
from __future__ import annotations

from collections import Counter
from typing import Any

from carnel.drivers.obd.errors import NegativeResponseError
from carnel.drivers.obd.events import RequestFailed
from carnel.drivers.obd.requests import ReadDtcs, ReadPid, ReadSupportedPids, ReadVin, Request
from carnel.ipc.schemas.diag import ObdRequestFailed

_TIMEOUTS = frozenset({"timeout", "response_pending_timeout"})


def describe_request(request: Request) -> str:
    """The request as the adapter sees it: `010D`, `03`, `0902`; `ATZ` for the initialisation."""
    if isinstance(request, ReadPid):
        return f"01{request.pid:02X}"
    if isinstance(request, ReadSupportedPids):
        return "0100"
    if isinstance(request, ReadDtcs):
        return f"{int(request.kind):02X}"
    if isinstance(request, ReadVin):
        return "0902"
    return "ATZ"


def request_failed(event: RequestFailed) -> ObdRequestFailed:
    error = event.error
    if isinstance(error, NegativeResponseError):
        reason = "negative_response"
    elif error.reason == "no_data":
        reason = "no_data"
    elif error.reason in _TIMEOUTS:
        reason = "timeout"
    else:
        reason = "adapter_error"
    return ObdRequestFailed(request=describe_request(event.request), reason=reason, detail=str(error))


class FailureLog:
    """Logs failed requests: each (request, reason) at its 1st, 10th, 100th... occurrence."""

    def __init__(self, log: Any) -> None:
        self._log = log
        self.counts: Counter[tuple[str, str]] = Counter()

    def note(self, failure: ObdRequestFailed) -> None:
        key = (failure.request, failure.reason)
        self.counts[key] += 1
        count = self.counts[key]
        if _is_power_of_ten(count):
            self._log.warning("obd_request_failed", request=failure.request, reason=failure.reason,
                              detail=failure.detail, occurrences=count)


def _is_power_of_ten(count: int) -> bool:
    while count % 10 == 0:
        count //= 10
    return count == 1
