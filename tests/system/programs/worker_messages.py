"""Messages between the system tests and their worker processes."""
from __future__ import annotations

import msgspec


class Burst(msgspec.Struct, frozen=True, kw_only=True, tag="burst"):
    subject: str
    count: int
    size: int = 16
    attachment_size: int = 0


class Sample(msgspec.Struct, frozen=True, kw_only=True, tag="sample"):
    index: int
    body: bytes
    attachment_sha256: str = ""


class BurstDone(msgspec.Struct, frozen=True, kw_only=True, tag="burst_done"):
    sent: int


class Report(msgspec.Struct, frozen=True, kw_only=True, tag="report"):
    received: dict[str, int]
    last_index: dict[str, int]
    intact_attachments: int
    broken_attachments: int
    gaps: int
    dropped: int


class Query(msgspec.Struct, frozen=True, kw_only=True, tag="query"):
    pass
