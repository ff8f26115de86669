"""`carnel new service NAME`: a working service to start from, with schemas, tests, image entry."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from carnel.kernel.image import ImageError, find_image
from carnel.kernel.tools.scaffold import (
    DEV_IMAGE, ScaffoldError, create_service, plan_service, source_root)
from carnel.kernel.tools.session import EXIT_FAILED, EXIT_OK, EXIT_USAGE, ToolError

NAME = "new"

DESCRIPTION = """\
Create a new service in this source checkout, ready to boot and with passing tests: a package
services/NAME/ (a pure model, the bus wiring with the Service SDK, the process entry), its
messages in ipc/schemas/NAME.py (with TOPICS and METHODS declared), a unit test of the model, a
system test that boots it, and a [process.NAME] entry appended to an image (the rest of the
image file is kept as it is). The service summarises readings sent on NAME.reading, publishes the
summary on NAME.summary and answers NAME.reset: replace that with what yours does.

NAME must be 1-32 of a-z, 0-9 and '_', starting with a letter. Nothing is written if the name is
taken, the image is missing or would not load, or any file cannot be written."""

EXAMPLE = """\
example:
  carnel new service weather
  created service weather in /home/me/carnel:
    services/weather/__init__.py
    ...
    tests/system/test_weather_service.py
  added [process.weather] to kernel/images/dev.toml"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(NAME, help="create a new service from a template",
                              description=DESCRIPTION, epilog=EXAMPLE,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    kinds = p.add_subparsers(dest="kind", metavar="KIND", required=True)
    service = kinds.add_parser("service", help="a service: package, schemas, tests, image entry",
                               description=DESCRIPTION, epilog=EXAMPLE,
                               formatter_class=argparse.RawDescriptionHelpFormatter)
    service.add_argument("name", metavar="NAME", help="the service's name")
    service.add_argument("--image", metavar="IMAGE",
                         help="the image to add it to, as carnel boot takes it: a bundled image "
                         "name (its file in this checkout is edited) or a manifest path "
                         f"(default: dev, {DEV_IMAGE})")


def run(args, directory: Path) -> int:
    try:
        plan = plan_service(args.name)
        root = source_root()
        image = image_file(args.image, root)
        files = create_service(root, plan, image)
    except ScaffoldError as exc:
        raise ToolError(str(exc), EXIT_USAGE if exc.usage else EXIT_FAILED) from None
    lines = [f"created service {plan.name} in {root}:"]
    lines += [f"  {path.relative_to(root)}" for path in files]
    image = image.absolute()  # the next steps run in the checkout, wherever this ran
    lines.append(f"added [process.{plan.name}] to {_shown(image, root)}")
    python = Path(sys.executable)
    carnel = python.parent / "carnel"
    lines.append("next:")
    if Path.cwd().resolve() != root.resolve():
        lines.append(f"  cd {root}")
    lines.append(f"  {_shown(python, root)} -m pytest tests/services/{plan.name} "
                 f"tests/system/test_{plan.name}_service.py")
    lines.append(f"  {_shown(carnel, root) if carnel.exists() else 'carnel'} boot "
                 f"{_shown(image, root)}")
    print("\n".join(lines))
    return EXIT_OK


def image_file(arg: str | None, root: Path) -> Path:
    """The file to append the service's entry to: a manifest path as given, or a bundled image's
    own file, which is in this checkout (carnel new runs from no other), as the default's is."""
    if arg is None:
        return root / DEV_IMAGE
    try:
        image = find_image(arg)
    except ImageError as exc:
        raise ScaffoldError(str(exc)) from None
    return Path(arg) if image.file else Path(image.directory) / f"{arg}.toml"


def _shown(path: Path, root: Path) -> str:
    """`path` relative to the checkout when it is inside it, as a link (.venv/bin/python) or
    once its links are followed."""
    for candidate in (path.absolute(), path.resolve()):
        if candidate.is_relative_to(root):
            return str(candidate.relative_to(root))
    return str(path)
