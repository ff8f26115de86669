"""`carnel new service` for real: run as a user would, in a copy of this checkout, and the service
it writes boots and passes its own tests there without an edit.

The copy is the source folders and tests (no .git, no .venv); the interpreter under test imports
carnel from it through a PYTHONPATH folder whose `carnel` package links to the copied folders, so
the editable install and the real tree are never touched.
"""
from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("ipc", "kernel", "ext", "drivers", "services")
SKIP = shutil.ignore_patterns("__pycache__", ".hypothesis", ".pytest_cache", "*.mcap")
DEV_IMAGE = "kernel/images/dev.toml"


@dataclass
class Checkout:
    root: Path
    env: dict[str, str]

    def python(self, *args: str, timeout: float = 120,
               cwd: Path | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, *args], cwd=cwd or self.root, env=self.env,
                              capture_output=True, text=True, timeout=timeout)

    def carnel(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
        return self.python("-m", "carnel.kernel.cli", *args, timeout=60, cwd=cwd)


def make_checkout(base: Path, *, source_tree: bool = True) -> Checkout:
    """A copy of the checkout at `base`/src, imported through `base`/imports. Without
    `source_tree`, the packages alone, laid out as an installed wheel would be."""
    root = base / "src"
    imports = base / "imports" / "carnel"
    imports.mkdir(parents=True)
    (imports / "__init__.py").write_text("")
    for folder in PACKAGES:
        if source_tree:
            shutil.copytree(REPO / folder, root / folder, ignore=SKIP)
            (imports / folder).symlink_to(root / folder)
        else:
            shutil.copytree(REPO / folder, imports / folder, ignore=SKIP)
    if source_tree:
        shutil.copytree(REPO / "tests", root / "tests", ignore=SKIP)
        for name in ("setup.py", "pyproject.toml"):
            shutil.copy2(REPO / name, root / name)
    else:
        root.mkdir()
    # The kernel's processes and the tests' own subprocesses inherit the environment.
    return Checkout(root, {**os.environ, "PYTHONPATH": str(base / "imports")})


@pytest.fixture
def base():
    # Short: the booted kernel's ipc:// socket path must stay under 107 bytes.
    path = Path(tempfile.mkdtemp(prefix="carnel-new-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def checkout(base) -> Checkout:
    return make_checkout(base)


def real_tree() -> dict[str, float]:
    watched = [REPO / DEV_IMAGE, REPO / "services", REPO / "ipc/schemas", REPO / "tests/system"]
    return {str(path): path.stat().st_mtime for path in watched}


async def test_a_new_service_boots_in_the_dev_image_and_passes_its_own_tests(checkout,
                                                                            stack_factory):
    untouched = real_tree()
    image = checkout.root / DEV_IMAGE
    before = image.read_text()

    made = checkout.carnel("new", "service", "weather")
    assert made.returncode == 0, made.stderr
    assert f"created service weather in {checkout.root}:" in made.stdout
    assert "  services/weather/service.py" in made.stdout
    assert f"added [process.weather] to {DEV_IMAGE}" in made.stdout
    after = image.read_text()
    assert after.startswith(before) and after.endswith('provide = ["weather"]\n')
    assert real_tree() == untouched

    tests = checkout.python("-m", "pytest", "-q", "-p", "no:cacheprovider",
                            "tests/services/weather", "tests/system/test_weather_service.py")
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "5 passed" in tests.stdout

    stack = await stack_factory(str(image), env={"PYTHONPATH": checkout.env["PYTHONPATH"]}).boot()
    ps = stack.carnel("ps")
    assert ps.returncode == 0, ps.stderr
    states = {line.split()[0]: line.split()[1] for line in ps.stdout.splitlines()[2:]}
    assert states["weather"] == "ready" and set(states.values()) == {"ready"}
    assert await stack.stop() == 0


def test_another_image_gets_the_entry_with_its_comments_kept(checkout):
    image = checkout.root / "mine.toml"
    image.write_text('# mine\n[image]\nname = "mine"  # named\n')
    made = checkout.carnel("new", "service", "lights", "--image", str(image))
    assert made.returncode == 0, made.stderr
    kept = '# mine\n[image]\nname = "mine"  # named\n'
    assert image.read_text().startswith(kept + '\n[process.lights]\n')
    assert "[process.lights]" not in (checkout.root / DEV_IMAGE).read_text()


def test_run_from_elsewhere_the_next_steps_start_in_the_checkout(checkout):
    elsewhere = checkout.root.parent / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "mine.toml").write_text('[image]\nname = "mine"\n')
    made = checkout.carnel("new", "service", "lights", "--image", "mine.toml", cwd=elsewhere)
    assert made.returncode == 0, made.stderr
    steps = made.stdout.split("next:\n", 1)[1].splitlines()
    assert steps[0] == f"  cd {checkout.root}"
    assert steps[2].endswith(f" boot {elsewhere / 'mine.toml'}")


def test_a_bundled_image_named_gets_the_entry_in_its_file_in_the_checkout(checkout):
    made = checkout.carnel("new", "service", "lights", "--image", "car")
    assert made.returncode == 0, made.stderr
    assert "added [process.lights] to kernel/images/car.toml" in made.stdout
    assert "[process.lights]" in (checkout.root / "kernel/images/car.toml").read_text()
    assert "[process.lights]" not in (checkout.root / DEV_IMAGE).read_text()


@pytest.mark.parametrize(("args", "says"), [
    (["Weather"], "'Weather' cannot name a service: use 1-32 of a-z, 0-9 and '_'"),
    (["my-service"], "'my-service' cannot name a service"),
    (["import"], "'import' is a Python keyword"),
    (["trip"], "a service named 'trip' exists already (services/trip"),
    (["vehicle"], "a service named 'vehicle' exists already (services/vehicle"),
    (["weather", "--image", "nowhere.toml"], "nowhere.toml: No such file or directory"),
    (["weather", "--image", "tests"], "tests: no bundled image 'tests' (available: "),
    (["weather", "--image", "tests/"], "tests: Is a directory"),
])
def test_refusals_say_why_and_write_nothing(checkout, args, says):
    before = sorted(p.relative_to(checkout.root) for p in checkout.root.rglob("*"))
    refused = checkout.carnel("new", "service", *args)
    assert refused.returncode == 2
    assert refused.stderr.startswith(f"carnel new: {says}"), refused.stderr
    assert sorted(p.relative_to(checkout.root) for p in checkout.root.rglob("*")) == before


def test_an_installed_carnel_that_is_no_checkout_is_refused(base):
    installed = make_checkout(base, source_tree=False)
    refused = installed.carnel("new", "service", "weather")
    assert refused.returncode == 1
    assert "which is not a source checkout" in refused.stderr
    assert "pip install -e ." in refused.stderr


def readme_walkthrough() -> list[list[str]]:
    """The carnel commands of README's walkthrough, in order, as argument lists."""
    text = (REPO / "README.md").read_text()
    section = text.split("## From a new service to a fuzzed one", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    commands = []
    for line in block.splitlines():
        if line.startswith(".venv/bin/carnel "):
            command = line.split("  #", 1)[0].removeprefix(".venv/bin/carnel ")
            commands.append(shlex.split(command))
    return commands


async def test_the_readme_walkthrough_runs_as_written(checkout, stack_factory):
    commands = readme_walkthrough()
    assert commands[0] == ["new", "service", "weather"]
    made = checkout.carnel(*commands[0])
    assert made.returncode == 0, made.stderr
    image = checkout.root / DEV_IMAGE
    stack = await stack_factory(str(image), env={"PYTHONPATH": checkout.env["PYTHONPATH"]}).boot()
    for args in commands[1:]:
        ran = checkout.carnel("--run-dir", str(stack.run_dir), *args)
        assert ran.returncode == 0, (args, ran.stdout, ran.stderr)
        if args[0] == "tap":
            assert "weather.summary" in ran.stdout
        if args[0] == "fuzz":
            assert "no crashes found" in ran.stdout + ran.stderr
    assert await stack.stop() == 0
