"""`carnel new service`: names, rendered files, the image entry, and writing all or nothing."""
from __future__ import annotations

import errno
import os
import types
from pathlib import Path

import msgspec
import pytest

from carnel.kernel.image import parse_image
from carnel.kernel.tools.scaffold import (
    DEV_IMAGE, ScaffoldError, check_name, create_service, plan_service, source_root)
from carnel.kernel.tools.scaffold.plan import class_prefix, extended_image, process_block

REPO = Path(__file__).resolve().parents[3]
IMAGE = """# a comment that must survive
[image]
name = "mine"   # so must this one

[process.keep]
module = "carnel.services.keep"
"""


@pytest.mark.parametrize("name", ["weather", "tyre_pressure", "a", "x" * 32, "nav2"])
def test_a_process_name_that_is_a_python_identifier_is_accepted(name):
    assert check_name(name) == name


@pytest.mark.parametrize(("name", "says"), [
    ("Weather", "cannot name a service"),
    ("9lives", "cannot name a service"),
    ("my-service", "cannot name a service"),
    ("x" * 33, "cannot name a service"),
    ("", "cannot name a service"),
    ("weather\n", "cannot name a service"),
    ("class", "is a Python keyword"),
])
def test_a_name_that_cannot_be_a_process_and_a_package_is_refused(name, says):
    with pytest.raises(ScaffoldError, match=says) as refused:
        check_name(name)
    assert refused.value.usage


def test_message_types_are_named_after_the_service():
    assert class_prefix("tyre_pressure") == "TyrePressure"
    assert class_prefix("nav2") == "Nav2"


def test_the_rendered_files_are_python_with_every_placeholder_filled():
    plan = plan_service("tyre_pressure")
    assert sorted(plan.files) == sorted([
        "services/tyre_pressure/__init__.py", "services/tyre_pressure/__main__.py",
        "services/tyre_pressure/model.py", "services/tyre_pressure/service.py",
        "ipc/schemas/tyre_pressure.py", "tests/services/tyre_pressure/test_tyre_pressure_model.py",
        "tests/system/test_tyre_pressure_service.py",
    ])
    for path, text in plan.files.items():
        compile(text, path, "exec")
        assert "$" not in text, path
    system_test = plan.files["tests/system/test_tyre_pressure_service.py"]
    assert '"""\n[process.tyre_pressure]\n' in system_test


def test_the_schema_module_declares_its_topics_and_methods_with_their_own_tags():
    schema = types.ModuleType("carnel.ipc.schemas.tyre_pressure")
    exec(plan_service("tyre_pressure").files["ipc/schemas/tyre_pressure.py"], schema.__dict__)
    assert [(t.pattern, t.type.__name__) for t in schema.TOPICS] == [
        ("tyre_pressure.reading", "TyrePressureReading"),
        ("tyre_pressure.summary", "TyrePressureSummary")]
    assert [(m.subject, m.request.__name__, m.reply.__name__) for m in schema.METHODS] == [
        ("tyre_pressure.reset", "Empty", "TyrePressureSummary")]
    tags = {msgspec.inspect.type_info(t.type).tag for t in schema.TOPICS}
    assert tags == {"tyre_pressure_reading", "tyre_pressure_summary"}


def test_the_image_entry_grants_what_the_service_does_and_no_more():
    spec = parse_image('[image]\nname = "x"\n' + process_block("weather"), "x.toml").processes[0]
    assert (spec.name, spec.module) == ("weather", "carnel.services.weather")
    assert (spec.subscribe, spec.publish, spec.provide, spec.call) == (
        ("weather.reading",), ("weather.>",), ("weather",), ())


@pytest.mark.parametrize("text", [IMAGE, IMAGE.rstrip("\n")])
def test_the_image_gets_the_block_appended_and_keeps_every_byte_it_had(text):
    extended = extended_image(text, "mine.toml", "weather", process_block("weather"))
    assert extended.startswith(text) and extended.endswith("\n\n" + process_block("weather"))
    assert [p.name for p in parse_image(extended, "mine.toml").processes] == ["keep", "weather"]


def test_an_image_that_has_the_process_already_is_refused():
    with pytest.raises(ScaffoldError, match="already has a process named 'keep'"):
        extended_image(IMAGE, "mine.toml", "keep", process_block("keep"))


def test_an_image_that_does_not_load_is_left_alone():
    with pytest.raises(ScaffoldError, match="does not load as it is"):
        extended_image("[image]\nname = 3\n", "bad.toml", "weather", process_block("weather"))


def test_an_image_where_the_block_would_not_fit_is_left_alone():
    # An inline table cannot be extended by a [process.NAME] table later in the file.
    text = 'process = { keep = { module = "m" } }\n[image]\nname = "x"\n'
    with pytest.raises(ScaffoldError, match="would not load with .process.weather. appended"):
        extended_image(text, "x.toml", "weather", process_block("weather"))


@pytest.fixture
def checkout(tmp_path) -> Path:
    """The folders `carnel new` writes into, and the dev image."""
    for folder in ("services/trip", "ipc/schemas", "tests/services", "tests/system",
                   "kernel/images"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "ipc/schemas/bus.py").write_text("")
    (tmp_path / DEV_IMAGE).write_text((REPO / DEV_IMAGE).read_text())
    return tmp_path


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() if p.is_file() else b"/"
            for p in sorted(root.rglob("*"))}


def test_the_service_is_written_and_appended_to_the_image(checkout):
    before = (checkout / DEV_IMAGE).read_text()
    files = create_service(checkout, plan_service("weather"), checkout / DEV_IMAGE)
    assert {str(f.relative_to(checkout)) for f in files} == set(plan_service("weather").files)
    assert (checkout / "services/weather/service.py").read_text() == \
        plan_service("weather").files["services/weather/service.py"]
    after = (checkout / DEV_IMAGE).read_text()
    assert after == before + "\n" + process_block("weather")


@pytest.mark.parametrize(("name", "says"), [
    ("trip", r"exists already \(services/trip\)"),
    ("bus", r"exists already \(ipc/schemas/bus.py\)"),
    ("gps", "already has a process named 'gps'"),
])
def test_a_name_that_is_taken_writes_nothing(checkout, name, says):
    before = snapshot(checkout)
    with pytest.raises(ScaffoldError, match=says):
        create_service(checkout, plan_service(name), checkout / DEV_IMAGE)
    assert snapshot(checkout) == before


def test_a_missing_image_writes_nothing(checkout):
    before = snapshot(checkout)
    with pytest.raises(ScaffoldError, match="no image file .*nowhere.toml") as refused:
        create_service(checkout, plan_service("weather"), checkout / "nowhere.toml")
    assert refused.value.usage and snapshot(checkout) == before


def test_a_file_that_cannot_be_written_takes_everything_back(checkout):
    (checkout / "tests/system").rmdir()
    (checkout / "tests/system").write_text("a file where a folder should be")
    before = snapshot(checkout)
    with pytest.raises(ScaffoldError, match="cannot write .*nothing was left behind") as refused:
        create_service(checkout, plan_service("weather"), checkout / DEV_IMAGE)
    assert not refused.value.usage and snapshot(checkout) == before


def test_the_checkout_is_found_where_carnel_is_installed_from():
    assert source_root() == REPO


def test_a_checkout_that_cannot_be_written_is_refused(monkeypatch):
    monkeypatch.setattr(os, "access", lambda path, mode: not str(path).endswith("schemas"))
    with pytest.raises(ScaffoldError, match=r"is not writable here \(ipc/schemas\)") as refused:
        source_root()
    assert not refused.value.usage


def test_an_image_that_fills_the_disk_is_put_back_as_it_was(checkout, monkeypatch):
    opened = Path.open

    class FullDisk:
        """A file that takes a few bytes, then runs out of space."""

        def __init__(self, file) -> None:
            self.file = file

        def __enter__(self):
            return self

        def __exit__(self, *_) -> None:
            self.file.close()

        def write(self, data: bytes) -> None:
            self.file.write(data[:10])
            self.file.flush()
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), self.file.name)

    def open_full(path, mode="r", *args, **kwargs):
        file = opened(path, mode, *args, **kwargs)
        return FullDisk(file) if mode == "ab" else file

    before = snapshot(checkout)
    monkeypatch.setattr(Path, "open", open_full)
    with pytest.raises(ScaffoldError, match="No space left on device; nothing was left behind"):
        create_service(checkout, plan_service("weather"), checkout / DEV_IMAGE)
    monkeypatch.undo()
    assert snapshot(checkout) == before
