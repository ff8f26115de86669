"""Who a process runs as: never with the kernel's (root's) groups once it has a uid."""
from __future__ import annotations

import pwd

from carnel.kernel.image import ProcessSpec
from carnel.kernel.spawner import run_as


def spec(**ids: int) -> ProcessSpec:
    return ProcessSpec(name="a", module="m", **ids)


def test_only_a_kernel_run_as_root_gives_an_identity() -> None:
    assert run_as(spec(uid=901, gid=20), as_root=False) == (None, None)
    assert run_as(spec(), as_root=True) == (None, None)


def test_a_gid_of_its_own_is_kept() -> None:
    assert run_as(spec(uid=901, gid=20), as_root=True) == (901, 20)
    assert run_as(spec(gid=20), as_root=True) == (None, 20)


def test_a_uid_alone_takes_its_user_s_primary_group() -> None:
    nobody = pwd.getpwnam("nobody")
    assert run_as(spec(uid=nobody.pw_uid), as_root=True) == (nobody.pw_uid, nobody.pw_gid)


def test_a_uid_no_user_has_takes_the_group_of_the_same_number() -> None:
    free = next(uid for uid in range(4343, 5000) if not _has_user(uid))
    assert run_as(spec(uid=free), as_root=True) == (free, free)


def _has_user(uid: int) -> bool:
    try:
        pwd.getpwuid(uid)
    except KeyError:
        return False
    return True
