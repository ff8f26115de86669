"""Boot's check that every process's module exists, without running anyone's code."""
from __future__ import annotations

import os
import shutil
import sysconfig
import tempfile
from pathlib import Path

import pytest

from carnel.kernel.image import ProcessSpec
from carnel.kernel.module_check import closed_to, missing_module, unreadable_python


def spec(module: str | None = None, **fields: object) -> ProcessSpec:
    if module is None:
        return ProcessSpec(name="a", command=("/bin/true",), **fields)
    return ProcessSpec(name="a", module=module, **fields)


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="sets a directory's owner")


def test_bundled_modules_and_commands_pass() -> None:
    assert missing_module(spec("carnel.services.trip")) is None
    assert missing_module(spec("carnel.drivers.gps")) is None
    assert missing_module(spec()) is None


def test_a_misspelled_bundled_module_is_named_with_the_closest_sibling() -> None:
    assert missing_module(spec("carnel.services.trpi")) == (
        "module 'carnel.services.trpi' does not exist (did you mean carnel.services.trip?)")


def test_a_bundled_module_under_a_module_that_is_no_package_does_not_exist() -> None:
    assert missing_module(spec("carnel.services.trip.nothing.here")).startswith(
        "module 'carnel.services.trip.nothing.here' does not exist")


def test_an_unknown_top_level_package_is_named() -> None:
    assert missing_module(spec("nosuchpackage.service")) == (
        "module 'nosuchpackage.service': no module named 'nosuchpackage' on the process's path")


def test_a_package_on_the_process_s_own_pythonpath_is_found(tmp_path) -> None:
    (tmp_path / "weather").mkdir()
    (tmp_path / "weather" / "__init__.py").write_text("")
    assert missing_module(spec("weather")) is not None
    assert missing_module(spec("weather", env={"PYTHONPATH": f"/nonexistent:{tmp_path}"})) is None


def test_a_module_beside_the_image_is_found(tmp_path) -> None:
    (tmp_path / "helper.py").write_text("")
    assert missing_module(spec("helper"), image_directory=str(tmp_path)) is None


def test_no_code_of_a_user_package_runs_in_the_kernel(tmp_path) -> None:
    marker = tmp_path / "ran"
    (tmp_path / "userpkg").mkdir()
    (tmp_path / "userpkg" / "__init__.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    # Only the top-level name is checked for a package that is not carnel's: its submodules
    # would need its __init__ to run.
    assert missing_module(spec("userpkg.sub", env={"PYTHONPATH": str(tmp_path)})) is None
    assert not marker.exists()


@pytest.fixture
def open_dir():
    """A directory every user may search (pytest's own tmp_path is closed to others)."""
    made = Path(tempfile.mkdtemp(prefix="carnel-open-"))
    made.chmod(0o755)
    try:
        yield made
    finally:
        shutil.rmtree(made)


NOBODY = 65534


def test_a_path_every_user_may_read_is_open(open_dir) -> None:
    (open_dir / "lib").mkdir(mode=0o755)
    assert closed_to(open_dir / "lib", NOBODY, NOBODY) is None


def test_the_first_directory_closed_to_the_user_is_named(open_dir) -> None:
    home = open_dir / "home"
    home.mkdir(mode=0o700)
    (home / "python").mkdir(mode=0o755)
    assert closed_to(home / "python" / "lib", NOBODY, NOBODY) == home
    assert closed_to(home / "python", 0, 0) is None  # root reads anything


@needs_root
def test_owner_and_group_bits_are_the_ones_that_count(open_dir) -> None:
    mine = open_dir / "mine"
    mine.mkdir(mode=0o705)  # others may, the group may not
    os.chown(mine, 4001, 4002)
    assert closed_to(mine, 4001, 9999) is None  # the owner: rwx
    assert closed_to(mine, 9999, 4002) == mine  # the group: nothing, whatever others may
    assert closed_to(mine, 9999, 9999) is None  # anyone else: r-x
    shut = open_dir / "shut"
    shut.mkdir(mode=0o711)  # searchable, not readable
    assert closed_to(shut, NOBODY, NOBODY) == shut
    assert closed_to(shut / "inside", NOBODY, NOBODY) == shut / "inside"  # does not exist


@needs_root
def test_a_python_closed_to_a_process_s_user_is_named_at_boot(monkeypatch, open_dir) -> None:
    closed = open_dir / "root"
    closed.mkdir(mode=0o700)
    monkeypatch.setattr(sysconfig, "get_paths", lambda: {
        "stdlib": str(closed / "lib" / "python3.11"), "purelib": str(open_dir)})
    process = spec("carnel.services.trip", uid=NOBODY)
    assert unreadable_python(process, as_root=True) == (
        f"uid {NOBODY} cannot read Python's standard library at {closed}/lib/python3.11: "
        f"{closed} is drwx------ (uid 0, gid 0); install carnel on a Python every user can "
        "read (a system Python in /usr)")
    assert unreadable_python(process, as_root=False) is None  # it will run as the kernel
    assert unreadable_python(spec("carnel.services.trip"), as_root=True) is None
    assert unreadable_python(spec(uid=NOBODY), as_root=True) is None  # a command: its own
