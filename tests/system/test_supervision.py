"""The kernel supervising real processes: restarts, timeouts, hangs, storms and orphans."""
from __future__ import annotations

import os
import pwd
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import trio

from carnel.ipc.schemas.bus import Empty
from carnel.ipc.schemas.kernel import ProcessList, ProcessStateChanged
from conftest import OPERATOR, PROGRAMS, program, wait_exit

PY = sys.executable
SYSTEM_PY = "/usr/bin/python3"


def image(body: str, **supervisor) -> str:
    settings = "".join(f"{k} = {v!r}\n".replace("'", '"') for k, v in supervisor.items())
    return f'[image]\nname = "supervision-test"\n{OPERATOR}\n[supervisor]\n{settings}\n{body}'


def worker(name: str, **fields) -> str:
    extra = "".join(f"{k} = {v!r}\n".replace("'", '"') for k, v in fields.items())
    return f"[process.{name}]\n{program('worker.py')}\nprovide = [\"{name}\"]\n{extra}\n"


def module_worker(name: str) -> str:
    """A worker started as a `module`: the kernel's zygote forks it."""
    return (f'[process.{name}]\nmodule = "worker"\nprovide = ["{name}"]\n'
            f'env = {{ PYTHONPATH = "{PROGRAMS}" }}\n')


async def wait_state(stream, state: str, timeout: float = 15) -> ProcessStateChanged:
    with trio.fail_after(timeout):
        async for change in stream:
            if change.new == state:
                return change
    raise AssertionError("the state stream ended")


async def pid_of(client, name: str) -> int:
    listing = await client.call("kernel.ps", Empty(), ProcessList)
    return next(p.pid for p in listing.processes if p.name == name)


async def test_killed_process_is_restarted_and_ready_again(stack_factory):
    stack = await stack_factory(image(worker("a") + worker("b", after=["a"]))).boot()
    async with stack.service("tester") as client:
        old = await pid_of(client, "b")
        async with client.messages("kernel.process.b", ProcessStateChanged) as changes:
            await wait_state(changes, "ready")  # the retained current state
            os.kill(old, signal.SIGKILL)
            ready = await wait_state(changes, "ready")
        assert ready.pid != old
        listing = await client.call("kernel.ps", Empty(), ProcessList)
        b = next(p for p in listing.processes if p.name == "b")
        assert b.restarts == 1 and b.last_exit == "SIGKILL"
    assert await stack.stop() == 0


async def test_process_that_never_says_ready_fails_its_start_timeout(stack_factory):
    silent = (f'[process.silent]\ncommand = ["{PY}", "-c", "import time; time.sleep(600)"]\n'
              'start_timeout = 0.5\nrestart = "temporary"\n')
    stack = await stack_factory(image(worker("a") + silent)).boot()
    async with stack.service("tester") as client:
        async with client.messages("kernel.process.silent", ProcessStateChanged) as changes:
            await wait_state(changes, "failed", timeout=10)
        listing = await client.call("kernel.ps", Empty(), ProcessList)
        silent_info = next(p for p in listing.processes if p.name == "silent")
        assert "start_timeout" in silent_info.last_exit
    assert await stack.stop() == 0


async def test_stopped_process_is_detected_as_hung_and_restarted(stack_factory):
    stack = await stack_factory(image(worker("a", heartbeat_interval=0.2, heartbeat_misses=3))).boot()
    async with stack.service("tester") as client:
        old = await pid_of(client, "a")
        async with client.messages("kernel.process.a", ProcessStateChanged) as changes:
            await wait_state(changes, "ready")
            stopped_at = trio.current_time()
            os.kill(old, signal.SIGSTOP)
            ready = await wait_state(changes, "ready", timeout=10)
        # heartbeat x misses = 0.6 s, plus the restart; never the 5 s a start would allow.
        assert trio.current_time() - stopped_at < 3.0
        assert ready.pid != old
    assert await stack.stop() == 0


FAILED_SETUP = (f'[process.setup]\ncommand = ["{PY}", "-c", "import sys; sys.exit(3)"]\n'
                'restart = "temporary"\n')


async def test_a_process_whose_dependency_failed_says_what_it_waits_for(stack_factory):
    stack = stack_factory(image(FAILED_SETUP + worker("nav", after=["setup"])))
    stack.start()
    status = await stack.wait_for_notification("STATUS=nav waits for setup")
    assert status == "STATUS=nav waits for setup, which failed and is not restarted"
    out = stack.output()
    assert "] blocked " in out and "reason='setup failed and is not restarted (exit 3)'" in out
    assert "carnel start setup" in out
    ps = stack.carnel("ps")
    assert ps.stdout.splitlines()[-1] == (
        "nav waits for setup (failed, exit 3): `carnel start setup` starts both")
    assert await stack.stop() == 0
    assert "image_ready" not in stack.output()


async def test_the_blocked_hint_names_no_command_the_operator_may_not_use(stack_factory):
    # The image's operator may list processes but not start them.
    stack = stack_factory(image(FAILED_SETUP + worker("nav", after=["setup"])).replace(
        'call = [">"]', 'call = ["kernel.ps"]'))
    stack.start()
    await stack.wait_for_notification("STATUS=nav waits for setup")
    blocked = next(line for line in stack.output().splitlines() if "] blocked " in line)
    assert "carnel start" not in blocked
    assert "hint='booting the image again starts both: its [operator] may not call " \
        "kernel.start'" in blocked
    assert stack.carnel("ps").stdout.splitlines()[-1] == (
        "nav waits for setup (failed, exit 3): booting the image again starts both "
        "(its [operator] may not call kernel.start)")
    assert await stack.stop() == 0


NOBODY = pwd.getpwnam("nobody")
FREE_UID = next(uid for uid in range(4343, 60000) if uid not in {u.pw_uid for u in pwd.getpwall()})
as_root = pytest.mark.skipif(os.geteuid() != 0,
                             reason="only a kernel run as root gives processes a uid")
# The identities a process is given, by its uid and gid lines, and what it must run as.
IDENTITIES = [
    (f"uid = {NOBODY.pw_uid}", f"uid={NOBODY.pw_uid} gid={NOBODY.pw_gid} groups=[]"),
    (f"uid = {NOBODY.pw_uid}\ngid = 4242", f"uid={NOBODY.pw_uid} gid=4242 groups=[]"),
    # A uid no user has: the group of the same number.
    (f"uid = {FREE_UID}", f"uid={FREE_UID} gid={FREE_UID} groups=[]"),
]


async def runs_as(stack_factory, how: str) -> None:
    body = "".join(f'[process.p{i}]\n{how}\n{ids}\nrestart = "temporary"\n'
                   f'env = {{ PYTHONPATH = "{PROGRAMS}" }}\n\n'
                   for i, (ids, _) in enumerate(IDENTITIES))
    stack = stack_factory(image(body))
    stack.start()
    with trio.fail_after(20):
        while len(found := identities(stack.output())) < len(IDENTITIES):
            await trio.sleep(0.05)
    assert found == {f"p{i}": expected for i, (_, expected) in enumerate(IDENTITIES)}
    await stack.stop()


@as_root
@pytest.mark.skipif(not Path(SYSTEM_PY).exists(), reason=f"needs {SYSTEM_PY}")
async def test_a_process_given_a_uid_keeps_none_of_the_kernel_s_groups(stack_factory):
    # The system's Python: the one running the tests may sit where nobody can read it.
    await runs_as(stack_factory, f'command = ["{SYSTEM_PY}", "{PROGRAMS / "identity.py"}"]')


@as_root
def test_a_process_forked_by_the_zygote_keeps_none_of_the_kernel_s_groups():
    # Asked of the zygote directly: boot refuses a module process run as a user who cannot
    # read this Python, and on some machines (a Python under /root) nobody cannot.
    for ids, expected in IDENTITIES:
        numbers = [line.split(" = ")[1] for line in ids.splitlines()]
        done = subprocess.run([PY, str(PROGRAMS / "zygote_identity.py"), *numbers],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert done.stdout == f"identity {expected}\n"


@as_root
def test_a_process_the_zygote_cannot_set_up_says_why_and_exits_71():
    # Boot refuses a limit the system will not set (unreachable_limits); asked directly, the
    # forked process still ends with its reason on its own stderr rather than run unlimited.
    beyond = int(Path("/proc/sys/fs/nr_open").read_text()) + 1
    done = subprocess.run([PY, str(PROGRAMS / "zygote_identity.py"), str(os.getuid()), "-",
                           str(beyond)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    said, status = done.stdout.splitlines()
    assert said.startswith("carnel: cannot start the process: ValueError(")
    assert status == "exit 71"


def identities(log: str) -> dict[str, str]:
    found = {}
    for line in log.splitlines():
        if "identity uid=" in line:
            process = line.split("process=")[1].split()[0]
            found[process] = line.split("identity ")[1].split("'")[0]
    return found


async def test_restart_storm_escalates_and_stops_the_image(stack_factory):
    crasher = f'[process.crasher]\ncommand = ["{PY}", "-c", "import sys; sys.exit(3)"]\n'
    stack = stack_factory(image(worker("a") + crasher, intensity=3, period=10))
    stack.start()
    with trio.fail_after(30):
        await wait_exit(stack.proc.pid)
    assert stack.proc.wait() != 0
    out = stack.output()
    assert "escalated" in out and "crasher" in out
    # Never a loop: a bounded number of attempts.
    assert out.count("spawned") <= 2 + 3 + 1


async def test_kill_9_of_the_kernel_leaves_no_child(stack_factory):
    stack = await stack_factory(image(worker("a") + worker("b") + module_worker("m"))).boot()
    async with stack.service("tester") as client:
        listing = await client.call("kernel.ps", Empty(), ProcessList)
    pids = [p.pid for p in listing.processes] + [zygote_pid(stack)]
    stack.proc.kill()
    stack.proc.wait()
    with trio.fail_after(1):
        while any(_alive(pid) for pid in pids):
            await trio.sleep(0.01)


async def test_module_process_is_forked_by_the_zygote_as_the_kernel_s_own_child(stack_factory):
    stack = await stack_factory(image(module_worker("m") + worker("c"))).boot()
    async with stack.service("tester") as client:
        old = await pid_of(client, "m")
        command = await pid_of(client, "c")
        assert _stat(old)[1:3] == [str(stack.proc.pid), str(old)]  # parent, process group
        assert _cmdline(old) == _cmdline(zygote_pid(stack))
        assert "worker.py" in _cmdline(command)
        with open(f"/proc/{old}/comm") as comm:
            assert comm.read().strip() == "m"
        async with client.messages("kernel.process.m", ProcessStateChanged) as changes:
            await wait_state(changes, "ready")
            os.kill(old, signal.SIGKILL)
            ready = await wait_state(changes, "ready")
        assert ready.pid != old and _stat(ready.pid)[1] == str(stack.proc.pid)


async def test_a_process_left_behind_by_a_service_is_reaped_when_it_exits(stack_factory):
    # The subshell forks `sleep` and exits at once: `sleep` is orphaned to the kernel.
    leaver = (f'[process.leaver]\ncommand = ["sh", "-c", "(sleep 0.3 &); exec {PY} '
              f'{PROGRAMS / "worker.py"}"]\nprovide = ["leaver"]\n')
    stack = await stack_factory(image(leaver)).boot()
    with trio.fail_after(10):
        while "orphan_reaped" not in stack.output():
            await trio.sleep(0.05)
    assert not [pid for pid in os.listdir("/proc") if pid.isdigit() and _is_zombie_child(
        int(pid), stack.proc.pid)]


def _is_zombie_child(pid: int, parent: int) -> bool:
    try:
        state, ppid = _stat(pid)[:2]
    except FileNotFoundError:
        return False
    return state == "Z" and int(ppid) == parent


def zygote_pid(stack) -> int:
    line = next(line for line in stack.output().splitlines() if "zygote_ready" in line)
    return int(line.split("pid=")[1].split()[0])


def _stat(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()


def _cmdline(pid: int) -> str:
    with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
        return cmdline.read().replace(b"\0", b" ").decode()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


async def test_sigterm_stops_in_reverse_order_and_exits_0(stack_factory):
    stack = await stack_factory(image(worker("a") + worker("b", after=["a"]) + worker("c", after=["b"]))).boot()
    assert await stack.stop() == 0
    out = stack.output()
    order = [line.split("target=")[1].split()[0] for line in out.splitlines()
             if "killing" in line and "SIGTERM" in line]
    assert order == ["c", "b", "a"]
