"""VSS-style signal paths and the subjects they are published on.

`Vehicle.Powertrain.CombustionEngine.Speed` is published on
`vehicle.Powertrain.CombustionEngine.Speed`: the root is lower-cased like every other subject's
first token, the rest keeps VSS's spelling so a path reads the same on the bus.
"""
from __future__ import annotations

from carnel.ipc.subjects import SubjectError, validate_subject

ROOT = "Vehicle."
SUBJECT_ROOT = "vehicle."
_ROOT_LENGTH = len(ROOT)


class PathError(ValueError):
    """A signal path that is not `Vehicle.<name>[.<name>...]` or that no subject can carry."""


def subject_for(path: str) -> str:
    """The subject a valid path is published on; `check_path` first for one from outside."""
    return SUBJECT_ROOT + path[_ROOT_LENGTH:]


def check_path(path: str) -> str:
    """Return `path` if it names a signal the bus can carry, else raise PathError."""
    if not path.startswith(ROOT) or len(path) == _ROOT_LENGTH:
        raise PathError(f"{path!r}: a signal path is {ROOT}<name>, e.g. {ROOT}Speed")
    try:
        validate_subject(subject_for(path))
    except SubjectError as exc:
        raise PathError(f"{path!r}: {exc.detail}") from None
    return path
