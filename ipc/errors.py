"""Typed errors a caller on the bus can get back instead of a reply.

Each has a stable `code` that travels in an ERR message's payload, so a request answered with an
error in one process raises the same exception type in the caller's process.
"""
from __future__ import annotations

# What a typed msgspec decoder raises on hostile bytes: DecodeError and ValidationError (both
# ValueErrors), UnicodeDecodeError for a string that is not UTF-8, and RecursionError for an
# unknown field nested a thousand deep, which it skips recursively.
UNDECODABLE = (ValueError, RecursionError)


class CallError(Exception):
    """A request did not get a reply; `code` says why."""

    code = "internal"

    def __init__(self, message: str, subject: str = "") -> None:
        super().__init__(f"{subject}: {message}" if subject else message)
        self.message = message
        self.subject = subject


class Unavailable(CallError):
    """No connected process provides the subject."""

    code = "unavailable"


class Timeout(CallError):
    """No reply before the caller's deadline."""

    code = "timeout"


class Denied(CallError):
    """The image's access lists do not allow this call."""

    code = "denied"


class BadRequest(CallError):
    """The request could not be decoded or was refused by the provider as invalid."""

    code = "bad_request"


class Internal(CallError):
    """The provider failed while handling the request."""

    code = "internal"


ERRORS: dict[str, type[CallError]] = {
    cls.code: cls for cls in (Unavailable, Timeout, Denied, BadRequest, Internal)
}


def error_for(code: str, message: str, subject: str = "") -> CallError:
    """The exception for an ERR reply's code; an unknown code is an Internal error."""
    return ERRORS.get(code, Internal)(message, subject)
