"""carnel's inter-process layer: the wire format, subjects, schemas and the Service SDK."""
from carnel.ipc.errors import BadRequest, CallError, Denied, Internal, Timeout, Unavailable
from carnel.ipc.service import Service, run

__all__ = [
    "BadRequest",
    "CallError",
    "Denied",
    "Internal",
    "Service",
    "Timeout",
    "Unavailable",
    "run",
]
