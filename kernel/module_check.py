"""Whether a process's `module` can be run, checked at boot: a misspelled module, or a Python the
process's user cannot read, otherwise fails every start with an ImportError traceback until the
restart intensity takes the image down.

Nothing is imported that the kernel did not already trust. A module under carnel is looked up in
full (its parent packages are carnel's own); any other only by its top-level name, on the paths
the process will search, so no user code runs in the kernel.
"""
from __future__ import annotations

import difflib
import importlib.machinery
import importlib.util
import os
import pkgutil
import stat
import sys
import sysconfig
from pathlib import Path

from carnel.kernel.image import ProcessSpec
from carnel.kernel.spawner import run_as

__all__ = ["closed_to", "missing_module", "unreadable_python"]

OURS = "carnel"


def missing_module(spec: ProcessSpec, image_directory: str = "") -> str | None:
    """Why `spec.module` cannot be run, or None if it can be found (or `spec` runs a command)."""
    if spec.module is None:
        return None
    top = spec.module.partition(".")[0]
    if top == OURS:
        return _missing_own(spec.module)
    extra = [p for p in spec.env.get("PYTHONPATH", "").split(os.pathsep) if p]
    # Generous on purpose: a module wrongly reported missing would refuse a good image.
    paths = [os.getcwd(), *([image_directory] if image_directory else []), *extra, *sys.path]
    if importlib.util.find_spec(top) is None \
            and importlib.machinery.PathFinder.find_spec(top, paths) is None:
        return f"module {spec.module!r}: no module named {top!r} on the process's path"
    return None


def _missing_own(module: str) -> str | None:
    try:
        if importlib.util.find_spec(module) is not None:
            return None
    except ImportError:  # a parent is missing, or is not a package
        pass
    parent, _, leaf = module.rpartition(".")
    while parent:
        try:
            package = importlib.util.find_spec(parent)
        except ImportError:
            package = None
        if package is not None and package.submodule_search_locations is not None:
            names = [m.name for m in pkgutil.iter_modules(package.submodule_search_locations)]
            close = difflib.get_close_matches(leaf, names, n=1)
            hint = f" (did you mean {parent}.{close[0]}?)" if close else ""
            return f"module {module!r} does not exist{hint}"
        parent, _, leaf = parent.rpartition(".")
    return f"module {module!r} does not exist"


def unreadable_python(spec: ProcessSpec, as_root: bool) -> str | None:
    """Why the user a `module` process runs as cannot read the Python it runs on (its standard
    library, the installed packages, carnel), or None. A Python installed under /root, say,
    is closed to every other user."""
    uid, gid = run_as(spec, as_root)
    if spec.module is None or uid is None:
        return None
    paths = sysconfig.get_paths()
    places = [("Python's standard library", Path(paths["stdlib"])),
              ("the installed packages", Path(paths["purelib"])),
              ("carnel", Path(__file__).resolve().parent)]
    for what, place in places:
        closed = closed_to(place, uid, gid)
        if closed is not None:
            info = closed.stat()
            return (f"uid {uid} cannot read {what} at {place}: {closed} is "
                    f"{stat.filemode(info.st_mode)} (uid {info.st_uid}, gid {info.st_gid}); "
                    "install carnel on a Python every user can read (a system Python in /usr)")
    return None


def closed_to(path: Path, uid: int, gid: int) -> Path | None:
    """The first directory on the way to `path` (itself included) that `uid` and `gid`, with
    no other groups, may not search, or `path` itself if they may not read it; None if open."""
    if uid == 0:
        return None  # root reads anything
    path = Path(os.path.abspath(path))
    for directory in [*reversed(path.parents), path]:
        try:
            info = directory.stat()
        except OSError:
            return directory
        need = stat.S_IXOTH | (stat.S_IROTH if directory == path else 0)
        if info.st_uid == uid:
            need <<= 6  # the owner's bits
        elif info.st_gid == gid:
            need <<= 3  # the group's
        if info.st_mode & need != need:
            return directory
    return None
