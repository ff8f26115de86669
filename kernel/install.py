"""Install carnel on a head unit (Raspberry Pi OS bookworm), or remove it: `sudo make install`.

    python3 kernel/install.py install     # from a source checkout, as root
    python3 kernel/install.py uninstall

Standard library only: it runs before carnel is installed. Installing:

1. a virtual environment at /opt/carnel/venv with carnel and its drivers' dependencies, the
   extension compiled for this machine (it refuses to finish on the pure-Python twin);
2. /etc/carnel/car.toml, the car image, and /etc/carnel/car.dbc, an example DBC: copied only
   when absent, so that a person's edits survive a reinstall; the image is then validated;
3. a system user `carnel-NAME` for each process the image gives a uid;
4. the systemd unit, enabled, and (when systemd is running) restarted.

Running it again converges on the same result. What it created is listed in
/opt/carnel/installed.json, which `uninstall` reads to remove exactly that, and the state and
configuration directories.
"""
from __future__ import annotations

import argparse
import json
import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path

PREFIX = Path("/opt/carnel")
VENV = PREFIX / "venv"
MANIFEST = PREFIX / "installed.json"
CONFIG = Path("/etc/carnel")
STATE = Path("/var/lib/carnel")
UNIT = Path("/etc/systemd/system/carnel.service")
SOURCE = Path(__file__).resolve().parent.parent
BUILD_PACKAGES = ("python3-venv", "python3-dev", "gcc")


class InstallError(Exception):
    pass


def run(*command: str, **options) -> subprocess.CompletedProcess:
    print("+", " ".join(command), flush=True)
    result = subprocess.run(command, text=True, **options)
    if result.returncode != 0:
        raise InstallError(f"{command[0]} failed with exit code {result.returncode}")
    return result


def systemd_running() -> bool:
    return Path("/run/systemd/system").is_dir()


def ensure_build_packages() -> None:
    """The compiler and headers the extension needs, from apt, when they are missing."""
    if shutil.which("dpkg-query") is None:
        return
    missing = [name for name in BUILD_PACKAGES
               if subprocess.run(["dpkg-query", "-W", "-f=${Status}", name], capture_output=True,
                                 text=True).stdout != "install ok installed"]
    if missing:
        run("apt-get", "install", "-y", "--no-install-recommends", *missing)


def install_venv() -> None:
    if not (VENV / "bin" / "python").exists():
        run(sys.executable, "-m", "venv", str(VENV))
    pip = [str(VENV / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
    run(*pip, "install", "setuptools", "wheel", "cython", "pyzmq")
    # No build isolation: the extension must link the very pyzmq installed above.
    run(*pip, "install", "--no-build-isolation", f"{SOURCE}[drivers]")
    version = run(str(VENV / "bin" / "carnel"), "version", capture_output=True).stdout
    print(version, end="")
    if "hot path: ext" not in version:
        raise InstallError("the extension did not build: carnel would run on the pure-Python "
                           "twin (is a C compiler installed?)")


def install_config() -> None:
    CONFIG.mkdir(mode=0o755, parents=True, exist_ok=True)
    images = SOURCE / "kernel" / "images"
    for source, target in ((images / "car.toml", CONFIG / "car.toml"),
                           (images / "sim" / "carnel_sim.dbc", CONFIG / "car.dbc")):
        if target.exists():
            print(f"keeping {target}")
        else:
            shutil.copy2(source, target)
            print(f"installed {target}")
    check = ("import sys\nfrom carnel.kernel.image import ImageError, load_image\n"
             "try:\n    load_image(sys.argv[1])\nexcept ImageError as exc:\n"
             "    sys.exit(str(exc))\n")
    run(str(VENV / "bin" / "python"), "-c", check, str(CONFIG / "car.toml"))


def image_users() -> list[dict]:
    """(name, uid, gid) of every process the installed image gives a uid."""
    listing = ("import json, sys\nfrom carnel.kernel.image import load_image\n"
               "image = load_image(sys.argv[1])\n"
               "print(json.dumps([{'name': p.name, 'uid': p.uid, 'gid': p.gid}\n"
               "                  for p in image.processes if p.uid is not None]))\n")
    out = run(str(VENV / "bin" / "python"), "-c", listing, str(CONFIG / "car.toml"),
              capture_output=True).stdout
    return json.loads(out)


def install_users(created: list[str]) -> None:
    for user in image_users():
        name = f"carnel-{user['name']}"
        try:
            existing = pwd.getpwnam(name)
        except KeyError:
            existing = None
        if existing is not None:
            if existing.pw_uid != user["uid"]:
                raise InstallError(f"user {name} exists with uid {existing.pw_uid}, but the image "
                                   f"gives {user['name']} uid {user['uid']}")
            continue
        command = ["useradd", "--system", "--uid", str(user["uid"]), "--no-create-home",
                   "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin"]
        if user["gid"] is not None:
            command += ["--gid", str(user["gid"])]
        else:
            command += ["--user-group"]
        run(*command, name)
        created.append(name)


def install_unit() -> None:
    shutil.copy2(SOURCE / "kernel" / "systemd" / "carnel.service", UNIT)
    print(f"installed {UNIT}")
    run("systemctl", "enable", "carnel.service")
    if systemd_running():
        run("systemctl", "daemon-reload")
        run("systemctl", "restart", "carnel.service")


def install() -> None:
    ensure_build_packages()
    PREFIX.mkdir(mode=0o755, parents=True, exist_ok=True)
    manifest = json.loads(MANIFEST.read_text()) if MANIFEST.exists() else {"users": []}
    install_venv()
    install_config()
    try:
        install_users(manifest["users"])
    finally:
        MANIFEST.write_text(json.dumps(manifest, indent=2) + "\n")
    install_unit()
    print("carnel is installed: journalctl -u carnel -f shows it, "
          "/etc/carnel/car.toml is the image to edit")


def uninstall() -> None:
    if UNIT.exists() or systemd_running():
        subprocess.run(["systemctl", "disable", "--now", "carnel.service"], check=False)
    UNIT.unlink(missing_ok=True)
    if systemd_running():
        run("systemctl", "daemon-reload")
    manifest = json.loads(MANIFEST.read_text()) if MANIFEST.exists() else {"users": []}
    for name in manifest["users"]:
        subprocess.run(["userdel", name], check=False)
    for path in (PREFIX, CONFIG, STATE):
        shutil.rmtree(path, ignore_errors=True)
    print("carnel is removed")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("install", "uninstall"))
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("install.py: run it as root (sudo make install)", file=sys.stderr)
        return 1
    try:
        install() if args.action == "install" else uninstall()
    except InstallError as exc:
        print(f"install.py: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
