"""Installs the top-level folders as the carnel namespace and builds the optional hot path.

The extension is optional: when Cython, a C compiler or pyzmq's bundled libzmq is missing, the
build says so and carnel runs on the pure-Python twin (`carnel version` tells which is active).
"""
from __future__ import annotations

import glob
import os
import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext

FOLDERS = ("ipc", "kernel", "ext", "drivers", "services")


def find_packages_under(folder: str) -> dict[str, str]:
    found = {}
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith((".", "__"))]
        if "__init__.py" in files:
            found["carnel." + root.replace(os.sep, ".")] = root
    return found


PACKAGE_DIR = {}
for folder in FOLDERS:
    PACKAGE_DIR.update(find_packages_under(folder))


def pyzmq_libzmq() -> tuple[str, str] | None:
    """Path and directory of the libzmq that pyzmq loads, so the extension drives the same library."""
    try:
        import zmq
    except ImportError:
        return None
    site = os.path.dirname(os.path.dirname(zmq.__file__))
    for pattern in ("pyzmq.libs/libzmq*.so*", "zmq/.libs/libzmq*.so*", "zmq/libzmq*.so*"):
        hits = sorted(glob.glob(os.path.join(site, pattern)))
        if hits:
            return hits[0], os.path.dirname(hits[0])
    return None


def hot_path_extensions() -> list:
    if os.environ.get("CARNEL_PURE") == "1":
        print("carnel: CARNEL_PURE=1, not building the extension", file=sys.stderr)
        return []
    try:
        from Cython.Build import cythonize
        from setuptools import Extension
    except ImportError:
        print("carnel: Cython not found, the pure-Python twin will be used", file=sys.stderr)
        return []
    lib = pyzmq_libzmq()
    if lib is None:
        print("carnel: pyzmq's libzmq not found, the pure-Python twin will be used", file=sys.stderr)
        return []
    libpath, libdir = lib
    link = {"extra_link_args": [libpath, f"-Wl,-rpath,{libdir}"]}
    modules = [
        Extension("carnel.ext.wire", ["ext/wire.pyx"]),
        Extension("carnel.ext.routeloop", ["ext/routeloop.pyx"], **link),
        Extension("carnel.drivers.gps._framing", ["drivers/gps/_framing.pyx"]),
    ]
    modules = [m for m in modules if all(os.path.exists(src) for src in m.sources)]
    if not modules:
        return []
    return cythonize(
        modules,
        compiler_directives={"language_level": 3},
        include_path=["ext"],
        quiet=True,
    )


class OptionalBuildExt(build_ext):
    """A failed compile leaves the pure-Python twin in charge instead of failing the install."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # compiler missing or broken: the twin takes over
            print(f"carnel: extension not built ({exc}); using the pure-Python twin", file=sys.stderr)

    def build_extension(self, ext) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:
            print(f"carnel: {ext.name} not built ({exc}); using the pure-Python twin", file=sys.stderr)


setup(
    name="carnel",
    version="0.1.0",
    description="A microkernel-style service platform for a car's head unit",
    python_requires=">=3.11",
    packages=sorted(PACKAGE_DIR),
    package_dir=PACKAGE_DIR,
    package_data={
        "carnel.kernel": ["images/*.toml", "images/sim/*", "systemd/*.service"],
        "carnel.ext": ["*.pyx", "*.pxd"],
        "carnel.drivers.sim": ["*.dbc", "data/*"],
        "carnel.kernel.tools.scaffold": ["templates/service/*.tmpl"],
    },
    ext_modules=hot_path_extensions(),
    cmdclass={"build_ext": OptionalBuildExt},
    install_requires=[
        "trio>=0.25",
        "msgspec>=0.18",
        "pyzmq>=26",
        "structlog>=24",
        # carnel record/replay/info: MCAP files (its chunk readers need zstandard and lz4).
        "mcap>=1.6",
        "zstandard>=0.22",
    ],
    extras_require={
        "drivers": ["cantools>=39"],
        # carnel fuzz and carnel.ipc.testing generate messages with Hypothesis.
        "devkit": ["hypothesis>=6.100"],
        "test": [
            "pytest>=8",
            "pytest-trio>=0.8",
            "hypothesis>=6.100",
            "import-linter>=2.0",
            "cantools>=39",
            "pyserial>=3.5",
            "python-can>=4.3",
            # An independent OBD-II implementation the driver's decoding is checked against.
            "obd==0.7.3",
            # An independent NMEA parser the gps driver's readings are checked against; also
            # the baseline of bench/drivers.py.
            "pynmea2==1.19.0",
        ],
    },
    entry_points={"console_scripts": ["carnel = carnel.kernel.entry:main"]},
)
