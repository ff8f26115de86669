"""Asks a zygote for one process run as the uid (and gid) on the command line, and prints what it
printed (and its exit status, unless 0): the zygote's side of who a process runs as, without the
boot checks a kernel makes.

    python zygote_identity.py UID [GID] [OPEN_FILES]

Run it as its own process: it becomes the subreaper of what the zygote forks.
"""
import os
import sys
from pathlib import Path

import trio

from carnel.kernel.forkserver import ForkServer
from carnel.kernel.image import ProcessSpec
from carnel.kernel.spawner import run_as


async def main() -> None:
    uid = int(sys.argv[1])
    gid = int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2] != "-" else None
    limits = {"open_files": int(sys.argv[3])} if len(sys.argv) > 3 else {}
    server = ForkServer()
    try:
        await server.ready(30)
        run_uid, run_gid = run_as(ProcessSpec(name="identity", module="identity", uid=uid,
                                              gid=gid), as_root=True)
        out_r, out_w = os.pipe()
        nothing = os.open(os.devnull, os.O_RDONLY)
        request = {"module": "identity", "args": [], "limits": limits, "uid": run_uid,
                   "gid": run_gid, "env": {"PYTHONPATH": str(Path(__file__).parent),
                                           "CARNEL_NAME": "identity"}}
        pid = server.spawn(request, [out_w, out_w, nothing])
        os.close(out_w)
        os.close(nothing)
        output = b""
        while chunk := os.read(out_r, 4096):
            output += chunk
        code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
        sys.stdout.write(output.decode())
        if code:
            print(f"exit {code}")
    finally:
        server.close()


trio.run(main)
