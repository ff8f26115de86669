"""Per-process bus credentials: issued at spawn, checked by the ZAP handler, revoked at exit.

A credential is a random secret sent over ZeroMQ's PLAIN mechanism with the process's name as
the user name. PLAIN sends it in clear, which is fine here: the bus is an ipc:// socket in a
directory only the kernel's user can enter, so nobody can watch the handshake, while CURVE would
encrypt every message on the hot path for no gain. The secret reaches the process through an
inherited pipe (never argv, never a file), and dies with the process: a restarted process gets a
new one, and the old one is refused.
"""
from __future__ import annotations

import hmac
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from carnel.ipc.settings import OPERATOR, OPERATOR_FILE


@dataclass(frozen=True, slots=True)
class Verdict:
    principal: str | None  # who it is, or None when refused
    reason: str = ""  # why it was refused


@dataclass(frozen=True, slots=True)
class PeerCredentials:
    """What the kernel's OS says about the other end of an ipc:// connection."""

    uid: int
    gid: int
    pid: int

    @classmethod
    def from_zap_address(cls, address: str) -> PeerCredentials | None:
        # libzmq writes "localhost:UID:GID:PID" for ipc:// peers when the OS tells it (SO_PEERCRED).
        parts = address.split(":")
        if len(parts) != 4 or parts[0] != "localhost" or not all(p.isdigit() for p in parts[1:]):
            return None
        return cls(int(parts[1]), int(parts[2]), int(parts[3]))


class CredentialStore:
    """Live secrets by principal, and the uid a principal must connect as (when enforced)."""

    def __init__(self, uids: dict[str, int] | None = None) -> None:
        self._secrets: dict[str, bytes] = {}
        self.uids = uids or {}

    def issue(self, principal: str) -> bytes:
        """A new secret for `principal`, replacing (and so revoking) any earlier one."""
        secret = secrets.token_hex(32).encode("ascii")
        self._secrets[principal] = secret
        return secret

    def revoke(self, principal: str) -> None:
        self._secrets.pop(principal, None)

    def check(self, user: bytes, password: bytes, address: str) -> Verdict:
        try:
            principal = user.decode("ascii")
        except UnicodeDecodeError:
            return Verdict(None, "bad user name")
        expected = self._secrets.get(principal)
        # compare_digest even for unknown users, so the time taken does not tell which exist.
        if not hmac.compare_digest(expected or b"\0" * 64, password) or expected is None:
            return Verdict(None, f"no live credential for {principal!r}" if expected is None
                           else f"wrong secret for {principal!r}")
        uid = self.uids.get(principal)
        if uid is not None:
            peer = PeerCredentials.from_zap_address(address)
            if peer is None or peer.uid != uid:
                seen = "unknown" if peer is None else peer.uid
                return Verdict(None, f"{principal!r} must connect as uid {uid}, not {seen}")
        return Verdict(principal)


def write_operator_credential(run_dir: Path, store: CredentialStore) -> Path:
    """Issue the operator's secret and write it where only the kernel's user can read it."""
    path = run_dir / OPERATOR_FILE
    secret = store.issue(OPERATOR)
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(secret)
    if stat.S_IMODE(path.stat().st_mode) != 0o600:
        raise PermissionError(f"{path} must be readable by its owner only")
    return path
