"""The kernel's ZAP handler: libzmq asks it whether each new bus connection may join.

ZAP (ZeroMQ RFC 27) is a REP socket at a fixed inproc address in the kernel's context; libzmq
sends it one request per handshake and admits the peer only on a 200 reply, whose user id then
travels with every message from that connection (the router reads it at HELLO). If this task
dies, the bus socket's ZAP_ENFORCE_DOMAIN makes libzmq refuse every new connection instead of
admitting it: the bus fails closed.
"""
from __future__ import annotations

import collections

import structlog
import trio
import zmq

from carnel.ipc.trio_socket import TrioSocket
from carnel.kernel.credentials import CredentialStore, Verdict

ZAP_ENDPOINT = "inproc://zeromq.zap.01"
DOMAIN = b"carnel"
_LOG_EVERY_S = 5.0


def answer(request: list[bytes], store: CredentialStore) -> tuple[list[bytes], Verdict]:
    """The reply frames for one ZAP request, and the decision behind them.

    A REP socket must answer every request before it can receive the next, so even a request
    it cannot read gets a refusal.
    """
    if len(request) < 6 or request[0] != b"1.0":
        request_id = request[1] if len(request) > 1 else b""
        verdict = Verdict(None, "malformed ZAP request")
        return [b"1.0", request_id, b"400", verdict.reason.encode(), b"", b""], verdict
    version, request_id, domain, address, _routing_id, mechanism, *credentials = request
    if domain != DOMAIN:
        verdict = Verdict(None, f"unknown domain {domain!r}")
    elif mechanism != b"PLAIN" or len(credentials) != 2:
        verdict = Verdict(None, f"mechanism {mechanism.decode('ascii', 'replace')} is not accepted")
    else:
        verdict = store.check(credentials[0], credentials[1], address.decode("ascii", "replace"))
    if verdict.principal is None:
        return [version, request_id, b"400", verdict.reason.encode(), b"", b""], verdict
    return [version, request_id, b"200", b"OK", verdict.principal.encode(), b""], verdict


class ZapHandler:
    """Answers ZAP requests in its own task; counts refusals and logs them once per burst."""

    def __init__(self, ctx: zmq.Context, store: CredentialStore) -> None:
        self.ctx = ctx
        self.store = store
        self.refused: collections.Counter[str] = collections.Counter()
        self.accepted = 0
        self.log = structlog.get_logger().bind(process="kernel")
        self._unlogged = 0
        self._last_log = -_LOG_EVERY_S

    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        sock = self.ctx.socket(zmq.REP)
        sock.setsockopt(zmq.LINGER, 0)
        sock.bind(ZAP_ENDPOINT)
        tsock = TrioSocket(sock)
        try:
            task_status.started()
            while True:
                request = await tsock.recv_multipart()
                reply, verdict = answer([frame.bytes for frame in request], self.store)
                if verdict.principal is None:
                    self._refused(verdict)
                else:
                    self.accepted += 1
                await tsock.send_multipart(reply)
        finally:
            tsock.close()

    def _refused(self, verdict: Verdict) -> None:
        self.refused["unauthenticated"] += 1
        self._unlogged += 1
        now = trio.current_time()
        if now - self._last_log >= _LOG_EVERY_S:
            self.log.warning("connection_refused", reason=verdict.reason,
                             refused_since_last_log=self._unlogged)
            self._unlogged = 0
            self._last_log = now
