"""What `carnel new service NAME` writes, worked out without touching a file: the name's rules,
the files rendered from templates, and the image's new `[process.NAME]` block."""
from __future__ import annotations

import importlib.resources
import keyword
import re
from dataclasses import dataclass
from string import Template

from carnel.kernel.image import NAME_PATTERN, ImageError, parse_image

TEMPLATES = "templates/service"
# Template file -> where it goes in the source checkout ({name} is the service's name).
FILES = {
    "package_init.py.tmpl": "services/{name}/__init__.py",
    "package_main.py.tmpl": "services/{name}/__main__.py",
    "model.py.tmpl": "services/{name}/model.py",
    "service.py.tmpl": "services/{name}/service.py",
    "schema.py.tmpl": "ipc/schemas/{name}.py",
    "test_model.py.tmpl": "tests/services/{name}/test_{name}_model.py",
    "test_service.py.tmpl": "tests/system/test_{name}_service.py",
}


class ScaffoldError(Exception):
    """Why nothing was written; `usage` when the user's arguments are at fault."""

    def __init__(self, message: str, *, usage: bool = True) -> None:
        super().__init__(message)
        self.usage = usage


@dataclass(frozen=True, slots=True)
class ServicePlan:
    name: str
    files: dict[str, str]  # path relative to the checkout -> text
    image_block: str


def check_name(name: str) -> str:
    """`name` if it can name a process, a Python package and a subject token; else ScaffoldError."""
    if not re.fullmatch(NAME_PATTERN, name) or not name.isidentifier():
        raise ScaffoldError(
            f"{name!r} cannot name a service: use 1-32 of a-z, 0-9 and '_', starting with a "
            "letter (it names the process, its Python package and its subjects)")
    if keyword.iskeyword(name):
        raise ScaffoldError(f"{name!r} is a Python keyword, so it cannot name a package")
    return name


def class_prefix(name: str) -> str:
    """`tyre_pressure` -> `TyrePressure`, the prefix of the service's message types."""
    return "".join(part.capitalize() for part in name.split("_") if part)


def process_block(name: str) -> str:
    """The image entry that starts the service, with the access it needs and no more."""
    return (f"[process.{name}]\n"
            f'module = "carnel.services.{name}"\n'
            f'subscribe = ["{name}.reading"]\n'
            f'publish = ["{name}.>"]\n'
            f'provide = ["{name}"]\n')


def plan_service(name: str) -> ServicePlan:
    check_name(name)
    block = process_block(name)
    values = {"name": name, "Class": class_prefix(name), "block": block}
    folder = importlib.resources.files(__package__) / TEMPLATES
    files = {target.format(name=name):
             Template((folder / template).read_text(encoding="utf-8")).substitute(values)
             for template, target in FILES.items()}
    return ServicePlan(name, files, block)


def extended_image(text: str, filename: str, name: str, block: str) -> str:
    """The image `text` with `block` appended and every byte before it kept; ScaffoldError if the
    image does not load as it is, already has process `name`, or would not load with the block."""
    try:
        image = parse_image(text, filename)
    except ImageError as exc:
        raise ScaffoldError(f"the image does not load as it is, so it was left alone: {exc}"
                            ) from None
    if any(spec.name == name for spec in image.processes):
        raise ScaffoldError(f"{filename} already has a process named {name!r}")
    extended = text + ("\n" if text.endswith("\n") else "\n\n") + block
    try:
        parse_image(extended, filename)
    except ImageError as exc:
        raise ScaffoldError(f"{filename} would not load with [process.{name}] appended, so it "
                            f"was left alone: {exc}") from None
    return extended
