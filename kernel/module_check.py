"""Whether a process's `module` can be found, checked at boot: a misspelled module otherwise fails
every start with an ImportError traceback until the restart intensity takes the image down.

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
import sys

from carnel.kernel.image import ProcessSpec

__all__ = ["missing_module"]

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
