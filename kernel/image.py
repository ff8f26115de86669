"""System images: the TOML manifest that lists what the kernel boots, decoded into typed Structs.

An image file looks like this (every section but `[image]` and the processes is optional):

    [image]
    name = "dev"

    [supervisor]
    strategy = "one_for_one"

    [process.gps]
    module = "carnel.drivers.gps"
    publish = ["gps.>"]

    [process.nav]
    module = "carnel.services.nav"
    after = ["gps"]

Processes are `[process.NAME]` tables rather than a `[[process]]` array: the name a person looks for
heads each block, a duplicated name is a TOML error at its own line, and sub-tables such as
`[process.nav.env]` cannot silently attach to the wrong process the way `[process.env]` attaches to
the last element of an array. Where `after` leaves the order open, processes start in file order.
"""
from __future__ import annotations

import heapq
import importlib.resources
import re
import tomllib
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

from carnel.ipc.subjects import SubjectError, validate_pattern
from carnel.kernel.image_errors import ImageError, Locator, toml_error

__all__ = [
    "BusConfig",
    "Image",
    "ImageError",
    "Limits",
    "ProcessSpec",
    "SupervisorConfig",
    "bundled_image",
    "bundled_images",
    "find_image",
    "load_image",
    "parse_image",
    "start_order",
]

NAME_PATTERN = r"^[a-z][a-z0-9_-]{0,31}$"
_NAME = re.compile(NAME_PATTERN)
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DAY = 86_400.0

Strategy = Literal["one_for_one", "one_for_all", "rest_for_one"]
RestartType = Literal["permanent", "transient", "temporary"]
Role = Literal["service", "driver", "operator"]
Seconds = Annotated[float, msgspec.Meta(gt=0, le=_DAY)]
SecondsOrZero = Annotated[float, msgspec.Meta(ge=0, le=_DAY)]
# Upper bounds keep every number inside what the OS and libzmq take (C int, uid_t).
_INT_MAX = 2**31 - 1
Count = Annotated[int, msgspec.Meta(ge=1, le=_INT_MAX)]
CountOrZero = Annotated[int, msgspec.Meta(ge=0, le=_INT_MAX)]
Id = Annotated[int, msgspec.Meta(ge=0, le=2**32 - 2)]


class _Section(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class ImageInfo(_Section):
    name: Annotated[str, msgspec.Meta(pattern=NAME_PATTERN)]
    description: str = ""


class SupervisorConfig(_Section):
    """OTP-style supervision flags, plus the restart delay OTP does not have."""

    strategy: Strategy = "one_for_one"
    intensity: CountOrZero = 3
    period: Seconds = 5.0
    # Delay before a failed process is spawned again; it doubles with each consecutive failure
    # up to the cap, so a crash loop costs little CPU while the intensity window fills.
    restart_delay: SecondsOrZero = 0.05
    restart_delay_max: SecondsOrZero = 2.0


class OperatorAccess(_Section):
    """What operator sessions may do: the `carnel` command and services run by hand.

    Without an `[operator]` table they may do nothing: access is default deny for them too.
    """

    publish: tuple[str, ...] = ()
    subscribe: tuple[str, ...] = ()
    call: tuple[str, ...] = ()
    provide: tuple[str, ...] = ()


class KernelConfig(_Section):
    """How the kernel starts processes.

    `zygote`: fork `module` processes from a pre-warmed fork server instead of starting each
    interpreter afresh: faster starts, and the imported libraries' memory is shared.
    """

    zygote: bool = True


class BusConfig(_Section):
    """`high_water_mark`: messages the kernel queues for a process before it drops for it;
    `max_unread`: publication bytes it holds for a process beyond what the process has reported
    taken (every Service reports), which bounds the queue of large messages.

    `router_cpu`: the CPU the router's hot threads share while the bus carries small messages
    (see kernel/placement.py): a CPU number, "auto" (the last CPU the kernel may use, on a
    machine with more than one) or "off" (the scheduler places them).

    `io_threads`: libzmq's I/O threads in the kernel. With two, the kernel reads one process's
    message while it writes another's: more bandwidth for large messages when the bus is busy,
    but a small round trip through the kernel takes longer (bench/bus.py --io-threads)."""

    max_message_size: Count = 32 * 1024 * 1024
    high_water_mark: CountOrZero = 1000
    max_unread: Count = 64 * 1024 * 1024
    router_cpu: CountOrZero | Literal["auto", "off"] = "auto"
    io_threads: Annotated[int, msgspec.Meta(ge=1, le=64)] = 1


class Limits(_Section):
    """A process's resource limits, set in the child before it runs; unset, none.

    `memory_mb`: its address space (RLIMIT_AS), not its resident memory. Python, libzmq's
    threads and glibc's per-thread arenas reserve far more than they touch (a service with a
    few threads maps some hundreds of MB while its RSS is tens), so set it well above the RSS
    `carnel ps` shows. Past it, allocations fail: a MemoryError, then a restart.
    `open_files`: RLIMIT_NOFILE (each bus connection holds a few). `cpu_seconds`: CPU time
    (RLIMIT_CPU); past it SIGXCPU, then SIGKILL a second later."""

    memory_mb: Count | None = None
    open_files: Count | None = None
    cpu_seconds: Count | None = None


class ProcessSpec(_Section):
    """One driver or service: how to run it, how to supervise it, and what it may say on the bus."""

    __implied_fields__ = frozenset({"name"})  # from the `[process.NAME]` key, never written

    name: str
    module: str | None = None
    command: tuple[str, ...] | None = None
    args: tuple[str, ...] = ()
    env: dict[str, str] = {}
    role: Role | None = None
    restart: RestartType = "permanent"
    after: tuple[str, ...] = ()
    start_timeout: Seconds = 5.0
    heartbeat_interval: Seconds = 1.0
    heartbeat_misses: Count = 3
    shutdown_timeout: SecondsOrZero = 5.0
    limits: Limits = Limits()
    uid: Id | None = None
    gid: Id | None = None
    publish: tuple[str, ...] = ()
    subscribe: tuple[str, ...] = ()
    call: tuple[str, ...] = ()
    provide: tuple[str, ...] = ()
    # The process's own settings (`[process.NAME.config]`), handed to it as JSON; the kernel
    # does not read them. The process decodes them into its own typed Struct.
    config: dict[str, Any] = {}


class Image(msgspec.Struct, frozen=True, kw_only=True):
    """A validated image: processes in file order (use `start_order` for boot order)."""

    name: str
    description: str
    supervisor: SupervisorConfig
    bus: BusConfig
    processes: tuple[ProcessSpec, ...]
    operator: OperatorAccess = OperatorAccess()
    kernel: KernelConfig = KernelConfig()
    # Where the image file lives: relative paths in a process's config are relative to it.
    directory: str = ""
    # The file it was read from ("" for a bundled image): tools load it to learn the tables.
    file: str = ""

    def process(self, name: str) -> ProcessSpec:
        for spec in self.processes:
            if spec.name == name:
                return spec
        raise KeyError(name)


class _ImageFile(_Section):
    image: ImageInfo
    supervisor: SupervisorConfig = SupervisorConfig()
    bus: BusConfig = BusConfig()
    operator: OperatorAccess = OperatorAccess()
    kernel: KernelConfig = KernelConfig()
    process: dict[str, Any] = {}


_ACCESS_FIELDS = ("publish", "subscribe", "call", "provide")


def load_image(path: str | Path) -> Image:
    """Read and validate the image at `path`."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImageError("unreadable", exc.strerror or str(exc), file=str(path)) from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ImageError("not_utf8", "the file is not UTF-8 text", file=str(path),
                         line=line) from exc
    image = parse_image(text, str(path), directory=str(path.resolve().parent))
    return msgspec.structs.replace(image, file=str(path.resolve()))


def find_image(arg: str) -> Image:
    """The image `arg` names as `carnel boot` takes it: a manifest's path or a bundled image's name.

    A path ends in .toml, has a '/' or names an existing file; anything else is a bundled name, so
    that `carnel boot dev` boots the bundled image even where a folder named `dev` is at hand.
    """
    if arg.endswith(".toml") or "/" in arg or Path(arg).is_file():
        return load_image(arg)
    return bundled_image(arg)


def parse_image(text: str, filename: str, directory: str = "") -> Image:
    """Validate manifest `text`; `filename` is only used in error messages."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise toml_error(exc, text, filename) from exc
    where = Locator(text, filename)
    top = where.convert(raw, _ImageFile, ())
    processes = []
    for name, table in top.process.items():
        path = ("process", name)
        if not isinstance(table, dict):
            raise where.error("invalid_value", "expected a table `[process.NAME]`", path)
        if not _NAME.match(name):
            raise where.error(
                "invalid_name",
                f"process name {name!r} must be 1-32 of a-z, 0-9, '_', '-', starting with a letter",
                path)
        if "name" in table:
            raise where.error("unknown_field", "unknown field `name`: the table key names the "
                              "process", (*path, "name"))
        spec = where.convert({**table, "name": name}, ProcessSpec, path)
        _check_process(spec, where)
        processes.append(spec)
    image = Image(name=top.image.name, description=top.image.description,
                  supervisor=top.supervisor, bus=top.bus, processes=tuple(processes),
                  operator=top.operator, kernel=top.kernel, directory=directory)
    _check_access(top.operator, ("operator",), where)
    _check_dependencies(image, where)
    if top.supervisor.restart_delay_max < top.supervisor.restart_delay:
        raise where.error("invalid_value", "must be at least `restart_delay`",
                          ("supervisor", "restart_delay_max"))
    if top.bus.max_unread < top.bus.max_message_size:
        # A message larger than the window could never be sent to a process that reports.
        raise where.error("invalid_value", "must be at least `max_message_size`",
                          ("bus", "max_unread"))
    return image


def start_order(image: Image) -> list[str]:
    """Boot order: every process after those it names in `after`, otherwise in file order."""
    order = _topological(image)
    if order is None:
        raise ImageError("dependency_cycle", _describe_cycle(image), file=f"<image {image.name}>")
    return order


def bundled_images() -> list[str]:
    """Names of the images shipped inside the package."""
    folder = _bundled_images_dir()
    if not folder.is_dir():
        return []
    return sorted(entry.name.removesuffix(".toml") for entry in folder.iterdir()
                  if entry.name.endswith(".toml"))


def bundled_image(name: str) -> Image:
    """The image shipped as `carnel/kernel/images/NAME.toml`."""
    available = bundled_images()
    if name not in available:
        listed = ", ".join(available) if available else "none are bundled"
        # Named by what was typed: no file called NAME.toml was given.
        raise ImageError("unknown_image", f"no bundled image {name!r} (available: {listed})",
                         file=name)
    entry = _bundled_images_dir() / f"{name}.toml"
    return parse_image(entry.read_text(encoding="utf-8"), f"<bundled>/{name}.toml",
                       directory=str(_bundled_images_dir()))


def _bundled_images_dir() -> Traversable:
    return importlib.resources.files(__package__) / "images"


def _check_process(spec: ProcessSpec, where: Locator) -> None:
    path = ("process", spec.name)
    if (spec.module is None) == (spec.command is None):
        raise where.error("invalid_command", "set exactly one of `module` or `command`", path)
    if spec.module is not None and not all(p.isidentifier() for p in spec.module.split(".")):
        raise where.error("invalid_command", f"{spec.module!r} is not a dotted Python module name",
                          (*path, "module"))
    if spec.command is not None and (not spec.command or not spec.command[0]):
        raise where.error("invalid_command", "expected a program and its arguments",
                          (*path, "command"))
    for field, values in (("command", spec.command or ()), ("args", spec.args),
                          ("env", spec.env.values())):
        if any("\0" in value for value in values):
            raise where.error("invalid_value", "a NUL character cannot be passed to a process",
                              (*path, field))
    for key in spec.env:
        if not _ENV_NAME.match(key):
            raise where.error("invalid_value", f"{key!r} is not an environment variable name",
                              (*path, "env", key))
    _check_access(spec, path, where)


def _check_access(lists: ProcessSpec | OperatorAccess, path: tuple, where: Locator) -> None:
    for field in _ACCESS_FIELDS:
        for index, pattern in enumerate(getattr(lists, field)):
            try:
                validate_pattern(pattern)
            except SubjectError as exc:
                raise where.error("invalid_subject", f"{pattern!r}: {exc.detail}",
                                  (*path, field, index)) from None


def _check_dependencies(image: Image, where: Locator) -> None:
    names = {spec.name for spec in image.processes}
    for spec in image.processes:
        for dep in spec.after:
            if dep not in names:
                known = ", ".join(sorted(names))
                raise where.error("unknown_dependency",
                                  f"no process named {dep!r} (processes: {known})",
                                  ("process", spec.name, "after"))
    if _topological(image) is None:
        cycle = _find_cycle(image)
        raise where.error("dependency_cycle", _describe_cycle(image),
                          ("process", cycle[0], "after"))


def _topological(image: Image) -> list[str] | None:
    """Kahn's algorithm, always taking the earliest ready process in file order; None on a cycle."""
    specs = image.processes
    index = {spec.name: i for i, spec in enumerate(specs)}
    blockers = {spec.name: {d for d in spec.after if d in index} for spec in specs}
    dependents: dict[str, list[str]] = {spec.name: [] for spec in specs}
    for name, deps in blockers.items():
        for dep in deps:
            dependents[dep].append(name)
    ready = [index[name] for name, deps in blockers.items() if not deps]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        name = specs[heapq.heappop(ready)].name
        order.append(name)
        for dependent in dependents[name]:
            blockers[dependent].discard(name)
            if not blockers[dependent]:
                heapq.heappush(ready, index[dependent])
    return order if len(order) == len(specs) else None


def _find_cycle(image: Image) -> list[str]:
    """One cycle of `after`, as the names along it (depth-first, without recursion)."""
    after = {spec.name: spec.after for spec in image.processes}
    done: set[str] = set()
    for root in after:
        trail, pending = [root], [iter(after[root])]
        while pending:
            dep = next(pending[-1], None)
            if dep is None:
                done.add(trail.pop())
                pending.pop()
            elif dep in trail:
                return trail[trail.index(dep):]
            elif dep in after and dep not in done:
                trail.append(dep)
                pending.append(iter(after[dep]))
    return []


def _describe_cycle(image: Image) -> str:
    cycle = _find_cycle(image)
    return "dependency cycle in `after`: " + " -> ".join([*cycle, cycle[0]])
