"""Boot's check that every process's module exists, without running anyone's code."""
from __future__ import annotations

from carnel.kernel.image import ProcessSpec
from carnel.kernel.module_check import missing_module


def spec(module: str | None = None, **fields: object) -> ProcessSpec:
    if module is None:
        return ProcessSpec(name="a", command=("/bin/true",), **fields)
    return ProcessSpec(name="a", module=module, **fields)


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
