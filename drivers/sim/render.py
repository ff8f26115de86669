"""Render one lap of the simulated drive into the three feeds the dev image replays.

    python -m carnel.drivers.sim.render --out kernel/images/sim

writes, all from the same drive and on the same clock:

- drive.nmea       the GPS receiver's sentences, each line led by its Unix time;
- drive.log        the CAN bus as `candump -L` lines, encoded with carnel_sim.dbc;
- drive.obd.jsonl  the engine ECU's OBD-II mode 01 values, one JSON line per 100 ms;
- carnel_sim.dbc   the database to decode drive.log with.

Every feed spans the lap's whole seconds [0, duration), so looping each on that period keeps
them in step.
"""
from __future__ import annotations

import argparse
import datetime
import shutil
import sys
from pathlib import Path

from carnel.drivers.sim.can_feed import DBC_PATH, CanSettings, candump_lines, load_database
from carnel.drivers.sim.drive import Drive, simulate
from carnel.drivers.sim.nmea_feed import NmeaSettings, nmea_lines
from carnel.drivers.sim.obd_feed import obd_lines
from carnel.drivers.sim.route import bundled_route

# The lap starts at 09:30 local time on a Tuesday in May.
START = datetime.datetime(2024, 5, 14, 6, 30, tzinfo=datetime.UTC)
NMEA_FILE = "drive.nmea"
CANDUMP_FILE = "drive.log"
OBD_FILE = "drive.obd.jsonl"


def render(drive: Drive, out: Path) -> list[Path]:
    """Write the feeds of `drive` into the folder `out`; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    written = [out / NMEA_FILE, out / CANDUMP_FILE, out / OBD_FILE, out / DBC_PATH.name]
    nmea = nmea_lines(drive, NmeaSettings(start=START))
    candump = candump_lines(drive, load_database(), CanSettings(start_unix=START.timestamp()))
    written[0].write_text("".join(line + "\n" for line in nmea), encoding="ascii")
    written[1].write_text("".join(line + "\n" for line in candump), encoding="ascii")
    written[2].write_bytes(b"".join(line + b"\n" for line in obd_lines(drive)))
    shutil.copyfile(DBC_PATH, written[3])
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder to write the feeds into")
    parser.add_argument("--seed", type=int, default=2024, help="which lights are red, for how long")
    args = parser.parse_args(argv)
    drive = simulate(bundled_route(), seed=args.seed)
    for path in render(drive, args.out):
        print(f"{path}: {path.stat().st_size} bytes", file=sys.stderr)
    print(f"lap: {drive.route_length_m:.0f} m in {drive.duration_s:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
