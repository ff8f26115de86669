"""`carnel fuzz --image` and `carnel new --image` take an image as `carnel boot` does: a bundled
image's name or a manifest's path."""
from __future__ import annotations

from pathlib import Path

import pytest

from carnel.ipc.schemas.kernel import ProcessList
from carnel.kernel.image import bundled_image
from carnel.kernel.tools.fuzz import running_image
from carnel.kernel.tools.new import image_file
from carnel.kernel.tools.scaffold import DEV_IMAGE, ScaffoldError
from carnel.kernel.tools.session import EXIT_USAGE, ToolError

MINE = '[image]\nname = "mine"\n'


def running(image: str, booted_from: str = "") -> ProcessList:
    """What `carnel ps` says of a kernel running `image`, booted from a file if one is given."""
    return ProcessList(image=image, hot_path="ext", phase="running", processes=[],
                       image_file=booted_from)


def test_fuzz_takes_a_bundled_image_by_name():
    image = running_image(running("car"), "car")
    assert image.name == "car" and image.processes


def test_fuzz_takes_a_manifest_by_path(tmp_path):
    (tmp_path / "mine.toml").write_text(MINE)
    assert running_image(running("mine"), str(tmp_path / "mine.toml")).name == "mine"


def test_fuzz_without_an_image_reads_the_one_the_kernel_booted(tmp_path):
    (tmp_path / "mine.toml").write_text(MINE)
    assert running_image(running("mine", str(tmp_path / "mine.toml")), None).name == "mine"
    assert running_image(running("dev"), None).name == "dev"


@pytest.mark.parametrize(("arg", "says"), [
    ("car", "--image car is image 'car', but the kernel runs 'dev'"),
    ("folder.toml", "folder.toml: Is a directory"),
    ("nosuch", "no bundled image 'nosuch'"),
])
def test_fuzz_refuses_an_image_that_is_not_the_running_one(tmp_path, monkeypatch, arg, says):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder.toml").mkdir()
    with pytest.raises(ToolError) as refused:
        running_image(running("dev"), arg)
    assert refused.value.code == EXIT_USAGE and says in str(refused.value)


def test_new_adds_to_a_bundled_image_s_own_file_in_the_checkout(tmp_path):
    # carnel new runs only from a source checkout, where the bundled images are its files.
    assert image_file("car", tmp_path) == Path(bundled_image("car").directory) / "car.toml"
    assert image_file("car", tmp_path).is_file()
    assert image_file(None, tmp_path) == tmp_path / DEV_IMAGE


def test_new_adds_to_a_manifest_at_the_path_given(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine.toml").write_text(MINE)
    assert image_file("mine.toml", tmp_path / "checkout") == Path("mine.toml")


@pytest.mark.parametrize(("arg", "says"), [
    ("folder.toml", "folder.toml: Is a directory"),
    ("gone.toml", "gone.toml: No such file or directory"),
    ("nosuch", "no bundled image 'nosuch'"),
])
def test_new_refuses_an_image_that_is_not_one(tmp_path, monkeypatch, arg, says):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder.toml").mkdir()
    with pytest.raises(ScaffoldError) as refused:
        image_file(arg, tmp_path)
    assert refused.value.usage and says in str(refused.value)
