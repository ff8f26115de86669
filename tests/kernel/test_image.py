"""Image manifests: what a valid one decodes to; every mistake names its file, line and field."""
from __future__ import annotations

import contextlib
import itertools
import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carnel.kernel import image as image_module
from carnel.kernel.image import (
    Image, ImageError, ProcessSpec, bundled_image, bundled_images, find_image, load_image,
    parse_image, start_order)

HEAD = '[image]\nname = "test"\n'


def parse(text: str) -> Image:
    return parse_image(HEAD + text, "test.toml")


def error_for(text: str) -> ImageError:
    with pytest.raises(ImageError) as caught:
        parse_image(text, "test.toml")
    return caught.value


# What a valid image decodes to.

def test_minimal_image_gets_the_documented_defaults() -> None:
    image = parse('[process.gps]\nmodule = "carnel.drivers.gps"\n')
    assert (image.name, image.description) == ("test", "")
    config = image.supervisor
    assert (config.strategy, config.intensity, config.period) == ("one_for_one", 3, 5.0)
    assert (config.restart_delay, config.restart_delay_max) == (0.05, 2.0)
    assert image.bus.max_message_size == 32 * 1024 * 1024
    assert (image.bus.router_cpu, image.bus.io_threads) == ("auto", 1)
    gps = image.process("gps")
    assert (gps.restart, gps.after, gps.start_timeout, gps.shutdown_timeout) == \
        ("permanent", (), 5.0, 5.0)
    assert (gps.heartbeat_interval, gps.heartbeat_misses) == (1.0, 3)
    assert (gps.limits.memory_mb, gps.uid, gps.role, gps.publish) == (None, None, None, ())


def test_every_process_field_is_read() -> None:
    image = parse('''
[supervisor]
strategy = "rest_for_one"
intensity = 1
period = 30
restart_delay = 0.5
restart_delay_max = 8

[bus]
max_message_size = 1048576
high_water_mark = 50
io_threads = 2

[process.can]
command = ["/usr/bin/candump-replay", "--loop"]
args = ["drive.log"]
role = "driver"
restart = "transient"
start_timeout = 2.5
heartbeat_interval = 0.5
heartbeat_misses = 4
shutdown_timeout = 1
uid = 1001
gid = 1001
publish = ["vehicle.>", "can.*.frame"]
subscribe = ["kernel.>"]
call = ["diag.read"]
provide = ["can"]

[process.can.env]
CAN_IFACE = "vcan0"

[process.can.limits]
memory_mb = 64
open_files = 256
cpu_seconds = 3600
''')
    can = image.process("can")
    assert can.command == ("/usr/bin/candump-replay", "--loop") and can.module is None
    assert (can.args, can.env, can.role, can.restart) == \
        (("drive.log",), {"CAN_IFACE": "vcan0"}, "driver", "transient")
    assert (can.start_timeout, can.heartbeat_interval, can.heartbeat_misses) == (2.5, 0.5, 4)
    assert (can.shutdown_timeout, can.uid, can.gid) == (1.0, 1001, 1001)
    assert (can.limits.memory_mb, can.limits.open_files, can.limits.cpu_seconds) == (64, 256, 3600)
    assert can.publish == ("vehicle.>", "can.*.frame")
    assert (can.subscribe, can.call, can.provide) == (("kernel.>",), ("diag.read",), ("can",))
    assert image.supervisor.strategy == "rest_for_one" and image.supervisor.restart_delay_max == 8
    assert (image.bus.max_message_size, image.bus.high_water_mark) == (1048576, 50)
    assert image.bus.io_threads == 2


def test_processes_start_after_their_dependencies_and_otherwise_in_file_order() -> None:
    image = parse('''
[process.nav]
module = "m"
after = ["gps", "vehicle"]
[process.media]
module = "m"
[process.gps]
module = "m"
[process.vehicle]
module = "m"
after = ["can"]
[process.can]
module = "m"
''')
    assert [p.name for p in image.processes] == ["nav", "media", "gps", "vehicle", "can"]
    assert start_order(image) == ["media", "gps", "can", "vehicle", "nav"]


# Mistakes: each names the file, the line, the field, and what was expected.

@pytest.mark.parametrize(("text", "reason", "line", "field", "detail"), [
    ('[image]\nname = "x"\n[process.a]\nmodule = "m"\nrestart = "sometimes"\n',
     "invalid_value", 5, "process.a.restart", "expected one of: permanent, transient, temporary"),
    ('[image]\nname = "x"\n[process.a]\nmodule = "m"\nrestrat = "transient"\n',
     "unknown_field", 5, "process.a.restrat", "did you mean `restart`?"),
    ('[image]\nname = "x"\n[supervisor]\nstrategy = "one_for_some"\n',
     "invalid_value", 4, "supervisor.strategy", "one_for_one, one_for_all, rest_for_one"),
    ('[image]\nname = "x"\n[supervisor]\nintensity = "3"\n',
     "invalid_value", 4, "supervisor.intensity", "Expected `int`, got `str`"),
    ('[image]\nname = "x"\n[supervisor]\nrestart_delay = 1\nrestart_delay_max = 0.5\n',
     "invalid_value", 5, "supervisor.restart_delay_max", "at least `restart_delay`"),
    ('[image]\nname = "x"\n[bus]\nmax_message_size = 2000000\nmax_unread = 1000000\n',
     "invalid_value", 5, "bus.max_unread", "at least `max_message_size`"),
    ('[image]\ndescription = "no name"\n', "missing_field", 1, "image.name", "required"),
    ('[supervisor]\nintensity = 1\n', "missing_field", None, "image", "required"),
    ('[image]\nname = "x"\n[process.a]\nmodule = "m"\n[process.a]\nmodule = "n"\n',
     "duplicate_process", 5, "process.a", "already defined"),
    ('[image]\nname = "x"\n[process.a]\nmodule = "m"\nmodule = "n"\n',
     "toml_syntax", 5, None, "Cannot overwrite a value"),
    ('[image]\nname = "x"\n\n[process.GPS]\nmodule = "m"\n',
     "invalid_name", 4, "process.GPS", "a-z, 0-9"),
    ('[image]\nname = "x"\n[process.a]\nname = "a"\nmodule = "m"\n',
     "unknown_field", 4, "process.a.name", "the table key names the process"),
    ('[image]\nname = "x"\n[process.a]\nargs = []\n', "invalid_command", 3, "process.a",
     "exactly one of `module` or `command`"),
    ('[image]\nname = "x"\n[process.a]\nmodule = "m"\ncommand = ["x"]\n', "invalid_command", 3,
     "process.a", "exactly one of `module` or `command`"),
    ('[image]\nname = "x"\n[process.a]\nmodule = "carnel.2fast"\n', "invalid_command", 4,
     "process.a.module", "dotted Python module name"),
    ('[image]\nname = "x"\n[process.a]\ncommand = []\n', "invalid_command", 4,
     "process.a.command", "a program and its arguments"),
    ('[image]\nname = "x"\n[process.a]\nmodule = "m"\n[process.a.env]\n"BAD-NAME" = "1"\n',
     "invalid_value", 6, "process.a.env.BAD-NAME", "environment variable name"),
    ('[image]\nname = "x"\n[process.a]\nmodule = "m"\nargs = ["a\\u0000b"]\n',
     "invalid_value", 5, "process.a.args", "NUL"),
    ('[image]\nname = "x"\n[process.a]\nmodule = "m"\n[process.a.limits]\nmemory_mb = 0\n',
     "invalid_value", 6, "process.a.limits.memory_mb", ">= 1"),
    ('[image]\nname = "x"\n[process.a]\nmodule = "m"\nlimits = { memory = 64 }\n',
     "unknown_field", 5, "process.a.limits.memory", "did you mean `memory_mb`?"),
    ('[image]\nname = "x"\n[process.a]\nmodule = "m"\nstart_timeout = 0\n',
     "invalid_value", 5, "process.a.start_timeout", "> 0.0"),
    ('[image]\nname = "x"\n[process.a]\nmodule = "m"\nheartbeat_interval = inf\n',
     "invalid_value", 5, "process.a.heartbeat_interval", "<= 86400"),
    ('[image]\nname = "x"\n[process.a]\nmodule = "m"\nargs = ["ok", 2]\n',
     "invalid_value", 5, "process.a.args[1]", "Expected `str`, got `int`"),
    ('[image]\nname = "x"\n[process.a]\nmodule = "m"\nrole = "boss"\n',
     "invalid_value", 5, "process.a.role", "service, driver, operator"),
    ('[image]\nname = "x"\n[process.a]\nmodule = "m"\npublish = ["gps.fix", "gps..fix"]\n',
     "invalid_subject", 5, "process.a.publish[1]", "token 2 is empty"),
    ('[image]\nname = "x"\n[process.a]\nmodule = "m"\nsubscribe = ["vehicle.>.speed"]\n',
     "invalid_subject", 5, "process.a.subscribe[0]", "must be the last token"),
    ('[image]\nname = "x"\n[process.a]\nmodule = "m"\ncall = ["nav.ro*te"]\n',
     "invalid_subject", 5, "process.a.call[0]", "token 2 ('ro*te')"),
    ('[image]\nname = "x"\n[process.a]\nmodule = "m"\nprovide = [""]\n',
     "invalid_subject", 5, "process.a.provide[0]", "subject is empty"),
    ('[image]\nname = "x"\n[process.a]\nmodule = "m"\nafter = ["gsp"]\n[process.gps]\n'
     'module = "m"\n', "unknown_dependency", 5, "process.a.after", "no process named 'gsp'"),
    ('[image]\nname = "x"\n[process.a]\nmodule = "m"\nafter = ["a"]\n',
     "dependency_cycle", 5, "process.a.after", "a -> a"),
    ('[image]\nname = "x"\n[process.a]\nmodule = "m"\nafter = ["c"]\n[process.b]\nmodule = "m"\n'
     '[process.c]\nmodule = "m"\nafter = ["b", "a"]\n',
     "dependency_cycle", 5, "process.a.after", "a -> c -> a"),
    ('[image]\nname = "x"\n[process]\na = 1\n', "invalid_value", 4, "process.a",
     "expected a table"),
    ('[image]\nname = "x"\n[[process]]\nmodule = "m"\n', "invalid_value", 3, "process",
     "a table `[process.NAME]`, not an `[[process]]` array"),
    ('[image]\nname = "x"\n[process.a]\nmodule = "m"\nuid = 4294967295\n', "invalid_value", 5,
     "process.a.uid", "<= 4294967294"),
    ('[image]\nname = "x"\n[bus]\nhigh_water_mark = 99999999999999999999\n', "invalid_value", 4,
     "bus.high_water_mark", "<= 2147483647"),
    ('[image]\nname = "x"\n[bus]\nio_threads = 0\n', "invalid_value", 4, "bus.io_threads",
     ">= 1"),
    ('[image]\nname = "x"\nx = [\n', "toml_syntax", 3, None, "Invalid value"),
    ('[image]\nname = "x"\n[process]\ngps.module = "m"\ngps.restart = 1\n', "invalid_value", 5,
     "process.gps.restart", "Expected `str`, got `int`"),
    ('[image]\nname = "x"\n[netwrok]\n', "unknown_field", 3, "netwrok", "expected one of"),
    ('[image]\nname = "x"\nstrategy = """one\nfor\nall"""\n[process.a]\nmodule = 3\n',
     "unknown_field", 3, "image.strategy", "unknown field"),
    ('[image]\nname = "x"\nx = """\n[process.a]\n"""\n[process.a]\nmodule = 3\n',
     "unknown_field", 3, "image.x", "unknown field"),
])
def test_mistake_is_reported_with_its_line_field_and_expectation(
        text: str, reason: str, line: int | None, field: str | None, detail: str) -> None:
    error = error_for(text)
    assert (error.reason, error.line, error.field) == (reason, line, field)
    assert detail in error.detail
    assert error.file == "test.toml"


def test_error_reads_like_a_compiler_message() -> None:
    error = error_for('[image]\nname = "x"\n[process.a]\nmodule = "m"\nrestart = "never"\n')
    assert str(error).startswith("test.toml:5: process.a.restart: Invalid enum value 'never'")


def test_a_multiline_string_does_not_confuse_line_numbers() -> None:
    error = error_for('[image]\nname = "x"\n[process.a]\nmodule = "m"\nargs = ["""\n'
                      'restart = 1\n"""]\nrestart = "often"\n')
    assert (error.line, error.field) == (8, "process.a.restart")


def test_missing_file_is_an_image_error(tmp_path: Path) -> None:
    with pytest.raises(ImageError) as caught:
        load_image(tmp_path / "nope.toml")
    assert caught.value.reason == "unreadable" and "nope.toml" in str(caught.value)


def test_file_that_is_not_utf8_is_reported_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_bytes(b'[image]\nname = "x"\n# caf\xe9\n')
    with pytest.raises(ImageError) as caught:
        load_image(path)
    assert (caught.value.reason, caught.value.line) == ("not_utf8", 3)


def test_load_image_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "car.toml"
    path.write_text(HEAD + '[process.gps]\nmodule = "m"\n', encoding="utf-8")
    image = load_image(path)
    assert image.process("gps").module == "m"
    assert image.file == str(path.resolve())  # what tools load to learn the running image
    assert parse_image(path.read_text(), "x.toml").file == ""


# Images shipped inside the package.

@pytest.fixture
def shipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(image_module, "_bundled_images_dir", lambda: tmp_path)
    (tmp_path / "dev.toml").write_text('[image]\nname = "dev"\n', encoding="utf-8")
    (tmp_path / "car.toml").write_text('[image]\nname = "car"\n[process.a]\n',
                                       encoding="utf-8")
    (tmp_path / "README").write_text("not an image", encoding="utf-8")
    return tmp_path


def test_bundled_image_is_found_by_name(shipped: Path) -> None:
    assert bundled_images() == ["car", "dev"]
    assert bundled_image("dev").name == "dev"


def test_unknown_bundled_image_lists_the_available_ones(shipped: Path) -> None:
    with pytest.raises(ImageError) as caught:
        bundled_image("../dev")
    assert caught.value.reason == "unknown_image"
    assert "available: car, dev" in str(caught.value)


def test_invalid_bundled_image_names_its_file(shipped: Path) -> None:
    with pytest.raises(ImageError) as caught:
        bundled_image("car")
    assert caught.value.file.endswith("car.toml") and caught.value.line == 3


def test_every_image_shipped_in_the_package_is_valid() -> None:
    names = bundled_images()
    assert "dev" in names
    for name in names:
        image = bundled_image(name)
        assert image.name == name
        assert sorted(start_order(image)) == sorted(p.name for p in image.processes)


# An image argument, as `carnel boot` and the tools take it.

@pytest.mark.parametrize("arg", ["mine.toml", "./mine", "mine"])
def test_an_image_argument_that_looks_like_a_path_or_names_a_file_is_read_from_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, arg: str) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("mine.toml", "mine"):
        (tmp_path / name).write_text('[image]\nname = "mine"\n', encoding="utf-8")
    assert find_image(arg).file == str((tmp_path / arg).resolve())


def test_any_other_image_argument_is_a_bundled_image_even_beside_a_folder_of_its_name(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dev").mkdir()
    image = find_image("dev")
    assert (image.name, image.file) == ("dev", "")


@pytest.mark.parametrize(("arg", "reason", "says"), [
    ("gone.toml", "unreadable", "gone.toml: No such file or directory"),
    ("folder.toml", "unreadable", "folder.toml: Is a directory"),
    ("folder/", "unreadable", "folder: Is a directory"),
    ("nosuch", "unknown_image", "nosuch: no bundled image 'nosuch' (available: car, dev"),
])
def test_an_image_argument_that_names_no_image_says_why(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, arg: str, reason: str,
        says: str) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder.toml").mkdir()
    (tmp_path / "folder").mkdir()
    with pytest.raises(ImageError) as caught:
        find_image(arg)
    assert caught.value.reason == reason and says in str(caught.value)


# Properties.

names = st.from_regex(r"[a-z][a-z0-9_-]{0,6}", fullmatch=True)


@st.composite
def dependency_graphs(draw: st.DrawFn, acyclic: bool = True) -> Image:
    count = draw(st.integers(1, 8))
    order = draw(st.lists(names, min_size=count, max_size=count, unique=True))
    specs = []
    for rank, name in enumerate(order):
        pool = order[:rank] if acyclic else order
        after = draw(st.lists(st.sampled_from(pool), max_size=3, unique=True)) if pool else []
        specs.append(ProcessSpec(name=name, module="m", after=tuple(after)))
    return Image(name="g", description="", supervisor=image_module.SupervisorConfig(),
                 bus=image_module.BusConfig(), processes=tuple(draw(st.permutations(specs))))


@given(dependency_graphs())
def test_start_order_is_the_earliest_in_file_among_those_whose_dependencies_started(
        image: Image) -> None:
    order = start_order(image)
    started: list[str] = []
    for name in order:
        candidates = [p.name for p in image.processes
                      if p.name not in started and all(d in started for d in p.after)]
        assert name == candidates[0]
        started.append(name)
    assert sorted(order) == sorted(p.name for p in image.processes)


def render(image: Image) -> str:
    lines = [HEAD.rstrip("\n")]
    for spec in image.processes:
        lines += [f"[process.{spec.name}]", 'module = "m"', f"after = {json.dumps(spec.after)}"]
    return "\n".join(lines) + "\n"


@given(dependency_graphs(acyclic=False))
def test_a_dependency_cycle_is_reported_along_real_edges(image: Image) -> None:
    try:
        parsed = parse_image(render(image), "g.toml")
    except ImageError as error:
        assert error.reason == "dependency_cycle"
        cycle = re.search(r": (.*)$", error.detail)[1].split(" -> ")
        assert cycle[0] == cycle[-1] and len(set(cycle)) == len(cycle) - 1
        for waiter, awaited in itertools.pairwise(cycle):
            assert awaited in image.process(waiter).after
        assert error.line == render(image).splitlines().index(
            f"after = {json.dumps(image.process(cycle[0]).after)}",
            render(image).splitlines().index(f"[process.{cycle[0]}]")) + 1
    else:
        assert len(start_order(parsed)) == len(image.processes)


# One invalid value per field: what to write, and the field path the error names.
CORRUPTIONS = {
    "restart": ('"sometimes"', ""),
    "heartbeat_misses": ("0", ""),
    "start_timeout": ("-1", ""),
    "shutdown_timeout": ('"5s"', ""),
    "args": ('["ok", 1]', "[1]"),
    "publish": ('["gps.>.x"]', "[0]"),
    "role": ('"admin"', ""),
    "uid": ("-1", ""),
    "restrat": ('"permanent"', ""),
}
VALID_LINES = {
    "restart": 'restart = "transient"', "heartbeat_misses": "heartbeat_misses = 2",
    "start_timeout": "start_timeout = 1.5", "shutdown_timeout": "shutdown_timeout = 0",
    "args": 'args = ["--replay"]', "publish": 'publish = ["gps.*", "gps.>"]',
    "role": 'role = "driver"', "uid": "uid = 1000",
    "limits": "limits = { memory_mb = 64 }", "env": 'env = { A = "1" }',
}


@given(st.data())
def test_a_bad_value_anywhere_is_reported_at_the_line_that_sets_it(data: st.DataObject) -> None:
    process_names = data.draw(st.lists(names, min_size=1, max_size=4, unique=True))
    blocks = {}
    for name in process_names:
        keys = data.draw(st.lists(st.sampled_from(sorted(VALID_LINES)), unique=True))
        blocks[name] = [f"[process.{name}]", 'module = "m"', *(VALID_LINES[k] for k in keys)]
    victim = data.draw(st.sampled_from(process_names))
    field = data.draw(st.sampled_from(sorted(CORRUPTIONS)))
    value, suffix = CORRUPTIONS[field]
    block = blocks[victim]
    position = data.draw(st.integers(1, len(block)))
    block[:] = [line for line in block if not line.startswith(f"{field} =")]
    block.insert(min(position, len(block)), f"{field} = {value}")
    lines = [*HEAD.splitlines(), *(line for name in process_names for line in blocks[name])]
    error = error_for("\n".join(lines) + "\n")
    assert error.field == f"process.{victim}.{field}{suffix}"
    assert lines[error.line - 1] == f"{field} = {value}"


TOML_PIECES = st.sampled_from([
    "[image]", 'name = "x"', "[supervisor]", "[bus]", "[process.a]", "[process.b]",
    "[process.a.limits]", "[process.a.env]", "[[process]]", 'module = "m"', 'command = ["x"]',
    "after = [\"a\"]", "after = [\"b\"]", 'restart = "transient"', "intensity = -1",
    "period = 0", "memory_mb = 1", 'X = "1"', "publish = [\"a.*\"]", "name = 3", "x = ",
    "= 1", "[", 'strategy = "one_for_all"', "heartbeat_misses = 0", 'description = """',
    "limits = {}", "role = 1", "args = [1, 2]", "uid = 9999999999999999999999",
])


@given(st.lists(TOML_PIECES, max_size=25))
def test_any_text_either_parses_or_raises_image_error(pieces: list[str]) -> None:
    try:
        parse_image("\n".join(pieces), "fuzz.toml")
    except ImageError as error:
        assert error.reason and error.file == "fuzz.toml"


@given(st.text(max_size=200))
def test_arbitrary_text_never_crashes_the_loader(text: str) -> None:
    with contextlib.suppress(ImageError):
        parse_image(text, "fuzz.toml")


def test_process_config_table_is_kept_for_the_process_and_paths_resolve_from_the_image(
        tmp_path: Path) -> None:
    path = tmp_path / "car.toml"
    path.write_text(HEAD + '[process.gps]\nmodule = "m"\n'
                    '[process.gps.config]\nsource = "serial"\nbaud = 4800\n'
                    '[process.gps.config.replay]\nfile = "drive.nmea"\n')
    image = load_image(path)
    assert image.process("gps").config == {"source": "serial", "baud": 4800,
                                            "replay": {"file": "drive.nmea"}}
    assert image.directory == str(tmp_path.resolve())
    assert Path(bundled_image("dev").directory, "dev.toml").is_file()


def test_operator_access_lists_are_validated_like_a_process_s() -> None:
    error = error_for(HEAD + '[operator]\ncall = ["kernel.>", "a..b"]\n')
    assert (error.reason, error.line) == ("invalid_subject", 4)
    assert error.field.startswith("operator.call")
    assert parse('[operator]\nsubscribe = [">"]\n').operator.subscribe == (">",)
    assert parse("").operator.call == ()  # no table: operators may do nothing
