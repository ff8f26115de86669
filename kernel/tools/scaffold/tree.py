"""Writing a planned service into the source checkout: all of it, or, on any failure, none of it."""
from __future__ import annotations

import os
from pathlib import Path

from carnel.kernel.tools.scaffold.plan import ScaffoldError, ServicePlan, extended_image

DEV_IMAGE = "kernel/images/dev.toml"
# The folders a new service goes into (beside the image, which is checked when it is read).
WRITTEN = ("services", "ipc/schemas", "tests")


def source_root() -> Path:
    """The checkout the running carnel is installed from (editable), or ScaffoldError."""
    import carnel.ipc
    import carnel.kernel
    import carnel.services

    root = Path(carnel.kernel.__file__).resolve().parent.parent
    packages = {"ipc": carnel.ipc, "kernel": carnel.kernel, "services": carnel.services}
    if any(Path(package.__file__).resolve().parent != root / folder
           for folder, package in packages.items()) \
            or not (root / "setup.py").is_file() or not (root / "tests").is_dir():
        raise ScaffoldError(
            f"carnel runs from {root}, which is not a source checkout (ipc/, kernel/, services/, "
            "tests/ and setup.py side by side): clone the repository, install it with "
            "`pip install -e .` and run carnel new from there", usage=False)
    locked = [folder for folder in WRITTEN if not os.access(root / folder, os.W_OK)]
    if locked:
        raise ScaffoldError(f"the source checkout at {root} is not writable here "
                            f"({', '.join(locked)})", usage=False)
    return root


def create_service(root: Path, plan: ServicePlan, image: Path) -> list[Path]:
    """Write the plan's files under `root` and append its block to `image`; returns the files."""
    package = root / "services" / plan.name
    taken = [path for path in (package, *(root / rel for rel in plan.files))
             if path.exists() and package not in path.parents]
    if taken:
        listed = ", ".join(str(path.relative_to(root)) for path in taken)
        raise ScaffoldError(f"a service named {plan.name!r} exists already ({listed})")
    if not image.is_file():
        raise ScaffoldError(f"no image file {image}")
    try:
        # Bytes, not text: the image's own line endings and every other byte stay as they are.
        original = image.read_bytes()
        text = original.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScaffoldError(f"cannot read the image {image}: {exc}") from None
    addition = extended_image(text, str(image), plan.name, plan.image_block)[len(text):]
    created: list[Path] = []
    try:
        for rel, content in plan.files.items():
            _write_new(root, Path(rel), content, created)
        with image.open("ab") as file:
            try:
                file.write(addition.encode("utf-8"))
                file.flush()
            except OSError:
                os.truncate(image, len(original))
                raise
    except OSError as exc:
        _remove(created)
        raise ScaffoldError(f"cannot write {exc.filename or image}: {exc.strerror or exc}; "
                            "nothing was left behind", usage=False) from None
    return [path for path in created if path.is_file()]


def _write_new(root: Path, rel: Path, content: str, created: list[Path]) -> None:
    """Create the file and any missing folder on its way, adding each to `created` as soon as it
    exists, so that a failure can take them all back."""
    for part in reversed(rel.parents):
        folder = root / part
        if not folder.exists():
            folder.mkdir()
            created.append(folder)
    target = root / rel
    with target.open("x", encoding="utf-8") as file:
        created.append(target)
        file.write(content)


def _remove(created: list[Path]) -> None:
    for path in reversed(created):
        if path.is_dir():
            path.rmdir()
        else:
            path.unlink(missing_ok=True)
