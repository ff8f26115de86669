"""The one place that reads carnel's environment variables.

The kernel hands every process its bus endpoint and name through the environment (never argv,
which any user can read in /proc), and its bus credential through an inherited pipe whose fd
number is in the environment. The run directory holds the bus socket, the logs and the operator
credential, readable only by the user running the kernel.
"""
from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import msgspec

ENV_BUS = "CARNEL_BUS"
ENV_NAME = "CARNEL_NAME"
ENV_RUN_DIR = "CARNEL_RUN_DIR"
ENV_PURE = "CARNEL_PURE"
ENV_LOG_FORMAT = "CARNEL_LOG_FORMAT"
ENV_CONFIG = "CARNEL_CONFIG"
ENV_IMAGE_DIR = "CARNEL_IMAGE_DIR"
ENV_CREDENTIAL_FD = "CARNEL_CREDENTIAL_FD"
OPERATOR = "operator"
OPERATOR_FILE = "operator.key"

T = TypeVar("T")


class ConfigError(ValueError):
    """A process's `[process.NAME.config]` table does not fit the Struct the process expects."""


def run_dir(environ: os._Environ | dict = os.environ) -> Path:
    """$CARNEL_RUN_DIR, else $XDG_RUNTIME_DIR/carnel, else /run/carnel."""
    if environ.get(ENV_RUN_DIR):
        return Path(environ[ENV_RUN_DIR])
    if environ.get("XDG_RUNTIME_DIR"):
        return Path(environ["XDG_RUNTIME_DIR"]) / "carnel"
    return Path("/run/carnel")


SOCKET_PATH_MAX = 107  # bytes in a Unix socket's path (sun_path less its terminating NUL)


def bus_endpoint(directory: Path) -> str:
    return f"ipc://{directory / 'bus.sock'}"


def bus_accepts(directory: Path) -> bool:
    """Whether a kernel listens on the bus socket in `directory`: a killed kernel leaves the file
    behind, and connecting to that is refused at once."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(directory / "bus.sock"))
    except OSError:
        return False
    finally:
        probe.close()
    return True


class CredentialError(Exception):
    """No usable bus credential: not spawned by a kernel, and the operator's is not readable."""


class NoKernel(CredentialError):
    """No operator's credential because no kernel is running there."""


@dataclass(frozen=True, slots=True)
class Credential:
    """Who a connection says it is (ZeroMQ PLAIN user name) and its secret."""

    user: str
    secret: bytes = field(repr=False)


def inherited_credential(environ=os.environ) -> Credential | None:
    """The credential the kernel wrote into this process's pipe, read once: the fd is closed and
    its number forgotten, so that nothing this process starts inherits either."""
    fd = environ.get(ENV_CREDENTIAL_FD)
    if fd is None:
        return None
    environ.pop(ENV_CREDENTIAL_FD, None)
    with os.fdopen(int(fd), "rb") as pipe:
        secret = pipe.read().strip()
    return Credential(user=environ[ENV_NAME], secret=secret)


def operator_credential(directory: Path) -> Credential:
    """The operator's credential from a kernel's run directory."""
    path = directory / OPERATOR_FILE
    try:
        secret = path.read_bytes().strip()
    except FileNotFoundError:
        raise NoKernel(f"no kernel is running at {directory}: start one with `carnel boot`") \
            from None
    except PermissionError:
        raise CredentialError(f"{path} is not readable: run carnel as the user that runs the "
                              "kernel") from None
    return Credential(user=OPERATOR, secret=secret)


@dataclass(frozen=True, slots=True)
class ProcessSettings:
    """What a process spawned by the kernel is told about itself.

    Run by hand (no kernel spawned it), a process joins as an operator session with the
    operator's credential, under a name that no process of the image uses.
    """

    name: str
    bus: str
    log_format: str = "console"  # "json" (collected by the kernel) or "console"
    credential: Credential | None = None

    @classmethod
    def from_env(cls, default_name: str | None = None, environ=os.environ) -> ProcessSettings:
        name = environ.get(ENV_NAME) or default_name
        if not name:
            raise SystemExit(f"carnel: {ENV_NAME} is not set and the service has no name")
        bus = environ.get(ENV_BUS) or bus_endpoint(run_dir(environ))
        credential = inherited_credential(environ)
        if credential is None:
            try:
                credential = operator_credential(run_dir(environ))
            except CredentialError as exc:
                raise SystemExit(f"carnel: {exc}") from None
        return cls(name=name, bus=bus, log_format=environ.get(ENV_LOG_FORMAT, "console"),
                   credential=credential)


def process_config(config_type: type[T], environ=os.environ) -> T:
    """This process's `[process.NAME.config]` from the image, decoded into `config_type`.

    Without a kernel (run by hand) the config is empty, so every field needs a default to run
    that way. A mismatch raises ConfigError naming the field, e.g. "config.baud: Expected `int`".
    """
    raw = environ.get(ENV_CONFIG) or "{}"
    try:
        return msgspec.json.decode(raw, type=config_type)
    except msgspec.ValidationError as exc:
        # msgspec says "... - at `$.port`"; name the field as the image spells it.
        message = str(exc).replace("`$", "`config")
        raise ConfigError(message if " - at `" in message else f"{message} - at `config`") from None
    except msgspec.DecodeError as exc:
        raise ConfigError(f"{ENV_CONFIG} is not JSON: {exc}") from None


def config_path(value: str | os.PathLike, environ=os.environ) -> Path:
    """A path from a process's config: relative paths are relative to the image's directory."""
    path = Path(value).expanduser()
    if path.is_absolute() or not environ.get(ENV_IMAGE_DIR):
        return path
    return Path(environ[ENV_IMAGE_DIR]) / path
