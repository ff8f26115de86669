# cython: language_level=3
"""The router's hot loop over libzmq's C API: receive, check, stamp and fan out publications.

Twin of ipc/routeloop.py, which documents what the loop does and hands the router; the two are
driven through the same interface and tested by one suite. This one drives pyzmq's socket through
`Socket.underlying` and keeps the Socket referenced, so the handle lives as long as the loop.

Per publication it allocates no Python object: the header is checked where libzmq received it,
the stamped header is built in a C buffer, the payload and attachments go out as zmq_msg_copy
shares of the received frames (the last peer gets the frames themselves), and the peer and route
are found through dict keys cached by their bytes (a routing id, a subject) instead of a new
bytes object per message. Python objects appear only off that path: a slow-path hand-off, a kept
value, a refusal, a new route.

The GIL stays held while routing: no libzmq call here blocks, and the loop reads Python objects
between calls. It runs in the kernel's route thread (`serve`, kernel/routethread.py), where a
drain holds the router's Trio thread off for at most one batch; releasing and re-taking the GIL
around each libzmq call would cost ~25 ns a call, a few percent of a message's cost, for nothing
in return. The thread releases it only to wait.
"""
from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_FillInfo, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.dict cimport PyDict_GetItemWithError
from cpython.exc cimport PyErr_CheckSignals, PyErr_SetFromErrno
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.ref cimport Py_INCREF, Py_XDECREF, PyObject
from libc.errno cimport EAGAIN, EHOSTUNREACH, EINTR, errno
from libc.stdint cimport uint8_t, uint32_t, uint64_t
from libc.string cimport memcmp, memcpy
from posix.unistd cimport read

cimport cython

import zmq

from header cimport *
from libzmq cimport *

cdef extern from "Python.h":
    bint PyUnicode_IS_ASCII(object text)

cdef extern from "<poll.h>" nogil:
    struct pollfd:
        int fd
        short events
        short revents
    enum:
        POLLIN
    int poll(pollfd *fds, unsigned long nfds, int timeout)

BATCH = 1000  # bounds how long the router's Trio side waits for its turn

cdef unsigned long long MAX_SEQ = 0xFFFFFFFF

cdef enum:
    KEY_SLOTS = 256  # direct-mapped, so a power of two
    FIRST_PARTS = 8

# Fault -> the WireError reason ipc/wire.py gives, which peer.rejects counts under.
cdef tuple REASONS = (None, "malformed.short", "malformed.version", "malformed.kind",
                      "malformed.length", "malformed.source", "malformed.subject",
                      "malformed.wildcard", "malformed.range")


cdef class Peer:
    """One connected, authenticated process, with its traffic counters."""

    cdef bytes _identity
    cdef str _name
    cdef bytes _stamp  # the name as it is written into headers
    cdef Fault _name_fault  # why the name cannot be stamped, or FAULT_NONE
    cdef public unsigned long long msgs_in
    cdef public unsigned long long bytes_in
    cdef public unsigned long long msgs_out
    cdef public unsigned long long bytes_out
    cdef public unsigned long long drops  # messages for this peer dropped: its queue or window
    cdef public dict rejects  # reason -> messages refused from this peer
    # Publication bytes it may leave untaken (0: no limit but the queue's), and the total it
    # says it has taken: bytes_out - taken is what the kernel still holds for it.
    cdef public unsigned long long window
    cdef public unsigned long long taken

    def __init__(self, bytes identity not None, str name not None) -> None:
        self._identity = identity
        self.name = name
        self.rejects = {}

    cpdef bint window_full(self, unsigned long long size):
        """Whether `size` more bytes would pass what it may leave untaken."""
        return self.window != 0 and self.bytes_out + size > self.taken + self.window

    @property
    def identity(self) -> bytes:
        return self._identity

    @identity.setter
    def identity(self, value: bytes) -> None:
        if type(value) is not bytes:
            raise TypeError(f"a peer's identity is bytes, not {type(value).__name__}")
        self._identity = value

    @property
    def name(self) -> str:
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        cdef Problem problem
        if not isinstance(value, str):
            raise TypeError(f"a peer's name is a str, not {type(value).__name__}")
        self._name = value
        if PyUnicode_IS_ASCII(value):
            self._stamp = value.encode("ascii")
            self._name_fault = check_source(<const uint8_t *>PyBytes_AS_STRING(self._stamp),
                                            PyBytes_GET_SIZE(self._stamp), &problem)
        else:
            self._stamp = b""
            self._name_fault = FAULT_SOURCE


cdef class Route:
    """A concrete subject: who receives it, its sequence counter, counters and kept value."""

    cdef public bytes subject
    cdef public object peers
    cdef public long long generation
    cdef public unsigned long long seq
    cdef public unsigned long long msgs
    cdef public unsigned long long bytes
    cdef public unsigned long long drops
    cdef public object retained  # [stamped header, payload, *attachments], or None
    cdef public object publisher  # the last Peer allowed to publish here, or None

    def __init__(self, bytes subject not None) -> None:
        self.subject = subject
        self.peers = []
        self.generation = -1  # forces a resolve on first use
        self.retained = None
        self.publisher = None


cdef class RouteTable:
    """What the loop reads: peers by identity, routes by subject, and how to resolve a route.

    `resolve(route)` fills ``route.peers`` from the subscription index; it is called when the
    route is new or the table's generation moved on (any SUB, UNSUB, connect or disconnect).
    `authorize(peer, subject)` says whether the peer may publish on the subject (bytes); without
    it every joined peer may. A publication whose frames after the header add up to more than
    `max_size` bytes is refused.
    """

    cdef public dict peers
    cdef public dict routes
    cdef public long long generation
    cdef public object resolve
    cdef public object authorize
    cdef public unsigned long long max_size
    cdef public list slow  # [identity, header, payload, ...] for the router
    cdef public unsigned long long malformed  # refused before a peer could be charged with them
    cdef public unsigned long long routed_msgs  # publications routed, and the bytes after
    cdef public unsigned long long routed_bytes  # their headers

    def __init__(self, resolve, authorize=None, unsigned long long max_size=2**63 - 1) -> None:
        self.peers = {}
        self.routes = {}
        self.generation = 0
        self.resolve = resolve
        self.authorize = authorize
        self.max_size = max_size
        self.slow = []

    def invalidate(self) -> None:
        self.generation += 1


cdef class Frame:
    """A received payload or attachment, shared with libzmq rather than copied.

    What this loop hands over where the pure loop hands a zmq.Frame (table.slow, Route.retained):
    read it through the buffer protocol (memoryview, bytes(), msgspec, send_multipart with
    copy=False), len(), `.bytes` or `.buffer`, and its metadata with `.get(name)`. Read-only.
    """

    cdef zmq_msg_t msg

    def __cinit__(self) -> None:
        zmq_msg_init(&self.msg)

    def __dealloc__(self) -> None:
        zmq_msg_close(&self.msg)

    def __len__(self) -> int:
        return zmq_msg_size(&self.msg)

    def __getbuffer__(self, Py_buffer *view, int flags):
        PyBuffer_FillInfo(view, self, zmq_msg_data(&self.msg), zmq_msg_size(&self.msg), 1, flags)

    def __releasebuffer__(self, Py_buffer *view):
        pass

    @property
    def bytes(self) -> bytes:
        return PyBytes_FromStringAndSize(<char *>zmq_msg_data(&self.msg), zmq_msg_size(&self.msg))

    @property
    def buffer(self) -> memoryview:
        return memoryview(self)

    def get(self, str name not None) -> str:
        """A metadata property of the message, e.g. "User-Id" (as zmq.Frame.get gives it)."""
        cdef bytes key = name.encode("ascii")
        cdef const char *value = zmq_msg_gets(&self.msg, key)
        if value is NULL:
            raise zmq.ZMQError(zmq_errno())
        return (<bytes>value).decode("utf-8", "replace")


def recv_batch(sock not None, Py_ssize_t limit=1000) -> list:
    """Up to `limit` whole messages waiting on `sock`, taken without blocking: each a list of
    read-only Frames shared with libzmq.

    Twin of ipc/routeloop.py's recv_batch, for the clients' receive loop: pyzmq's
    recv_multipart(copy=False) costs ~2.5 us a message in Python calls, option reads and
    zmq.Frame set-up; this takes the frames straight off the C API.
    """
    cdef void *handle = <void *><size_t>sock.underlying
    cdef list batch = []
    cdef list message
    cdef Frame frame
    cdef int err
    if sock.closed:
        raise zmq.ZMQError(zmq.ENOTSOCK)
    while len(batch) < limit:
        message = []
        while True:
            frame = Frame.__new__(Frame)
            if zmq_msg_recv(&frame.msg, handle, ZMQ_DONTWAIT) < 0:
                err = zmq_errno()
                if not message and err == EAGAIN:
                    return batch
                if not message and err == EINTR:
                    PyErr_CheckSignals()
                    continue
                raise zmq.ZMQError(err)  # libzmq delivers a message's frames all or none
            message.append(frame)
            if not zmq_msg_more(&frame.msg):
                break
        batch.append(message)
    return batch


# A message with a frame this large goes through pyzmq, which lends libzmq the buffer instead of
# copying it (pyzmq's own zmq.COPY_THRESHOLD).
cdef Py_ssize_t COPY_LIMIT = 65536


def send_batch(sock not None, queue not None) -> int:
    """Send the messages at the front of `queue` (a deque of frame lists) until the socket would
    block; removes the ones sent and returns how many.

    Twin of ipc/routeloop.py's send_batch, for the clients' send loop. Small frames are copied
    into libzmq messages through the C API, ~0.3 us a message against ~2.5 us through pyzmq.
    """
    cdef void *handle = <void *><size_t>sock.underlying
    cdef Py_ssize_t sent = 0
    cdef int err
    if sock.closed:
        raise zmq.ZMQError(zmq.ENOTSOCK)
    while queue:
        frames = queue[0]
        if _largest(frames) >= COPY_LIMIT:
            try:
                sock.send_multipart(frames, zmq.NOBLOCK, copy=False)
            except zmq.Again:
                break
        else:
            err = _send_copies(handle, frames)
            if err == EAGAIN:
                break
            if err == EINTR:
                PyErr_CheckSignals()
                continue
            if err:
                raise zmq.ZMQError(err)
        queue.popleft()
        sent += 1
    return sent


cdef Py_ssize_t _largest(list frames) except -1:
    cdef Py_buffer view
    cdef Py_ssize_t largest = 0
    for frame in frames:
        PyObject_GetBuffer(frame, &view, PyBUF_SIMPLE)
        if view.len > largest:
            largest = view.len
        PyBuffer_Release(&view)
    return largest


cdef int _send_copies(void *handle, list frames) except -1:
    """Send one message frame by frame; 0, or the errno of a refusal at its first frame (the
    message is then not sent at all). A later frame failing is a broken socket: raised."""
    cdef Py_buffer view
    cdef zmq_msg_t msg
    cdef Py_ssize_t i, count = len(frames)
    cdef int err
    for i in range(count):
        PyObject_GetBuffer(frames[i], &view, PyBUF_SIMPLE)
        try:
            if zmq_msg_init_size(&msg, view.len) < 0:
                raise zmq.ZMQError(zmq_errno())
            memcpy(zmq_msg_data(&msg), view.buf, view.len)
        finally:
            PyBuffer_Release(&view)
        if zmq_msg_send(&msg, handle, ZMQ_DONTWAIT | (ZMQ_SNDMORE if i + 1 < count else 0)) < 0:
            err = zmq_errno()
            zmq_msg_close(&msg)
            if i == 0 and (err == EAGAIN or err == EINTR):
                return err
            raise zmq.ZMQError(err)
    return 0


cdef inline size_t _slot(const uint8_t *data, Py_ssize_t size) noexcept nogil:
    # FNV-1a
    cdef uint32_t h = 2166136261
    cdef Py_ssize_t i
    for i in range(size):
        h = (h ^ data[i]) * 16777619
    return h & (KEY_SLOTS - 1)


cdef inline object _key(PyObject **slots, const uint8_t *data, Py_ssize_t size):
    """A bytes object equal to `data`: the cached one if it matches, not a new one per message."""
    cdef size_t slot = _slot(data, size)
    cdef PyObject *cached = slots[slot]
    if (cached is not NULL and PyBytes_GET_SIZE(<object>cached) == size
            and memcmp(PyBytes_AS_STRING(<object>cached), data, size) == 0):
        return <object>cached
    key = PyBytes_FromStringAndSize(<const char *>data, size)
    Py_INCREF(key)
    Py_XDECREF(cached)
    slots[slot] = <PyObject *>key
    return key


cdef inline int _forward(void *sock, zmq_msg_t *src, int flags, bint give) noexcept nogil:
    """Send `src`: a shared copy of it, or with `give` the message itself (it is left empty)."""
    cdef zmq_msg_t copy
    cdef int err
    if give:
        return zmq_errno() if zmq_msg_send(src, sock, flags) < 0 else 0
    zmq_msg_init(&copy)
    if zmq_msg_copy(&copy, src) < 0 or zmq_msg_send(&copy, sock, flags) < 0:
        err = zmq_errno()
        zmq_msg_close(&copy)
        return err
    return 0


cdef int _send(void *sock, const char *identity, size_t identity_len, zmq_msg_t *header,
               zmq_msg_t *rest, Py_ssize_t count, bint give) noexcept nogil:
    """Send one peer its copy; 0, errno if the peer refused it, -errno if the socket failed.

    With ROUTER_MANDATORY a ROUTER accepts or refuses a message at its first frame (a full queue
    gives EAGAIN, a vanished peer EHOSTUNREACH); a later frame that fails is a broken socket.
    The last peer is given the frames themselves (`give`), saving a shared copy per frame.
    """
    cdef Py_ssize_t i
    cdef int err
    if zmq_send(sock, identity, identity_len, ZMQ_DONTWAIT | ZMQ_SNDMORE) < 0:
        return zmq_errno()
    err = _forward(sock, header, ZMQ_DONTWAIT | (ZMQ_SNDMORE if count else 0), give)
    i = 0
    while err == 0 and i < count:
        err = _forward(sock, &rest[i], ZMQ_DONTWAIT | (ZMQ_SNDMORE if i + 1 < count else 0), give)
        i += 1
    return -err


cdef inline Peer _peer(object candidate):
    # A checked cast lets None through, and the loop reads a Peer's bytes without checks.
    if type(candidate) is not Peer and not isinstance(candidate, Peer):
        raise TypeError(f"expected a carnel.ext.routeloop.Peer, got {type(candidate).__name__}")
    if (<Peer>candidate)._identity is None or (<Peer>candidate)._stamp is None:
        raise TypeError("a Peer made without Peer(identity, name)")
    return <Peer>candidate


cdef int _reject(Peer peer, Fault fault) except -1:
    return _count(peer, REASONS[fault])


cdef int _count(Peer peer, str reason) except -1:
    rejects = peer.rejects
    rejects[reason] = rejects.get(reason, 0) + 1
    return 0


@cython.final
cdef class RouteLoop:
    """Drains a ROUTER socket and fans publications out; the compiled implementation."""

    implementation = "ext"

    cdef readonly object sock
    cdef public RouteTable table
    cdef public Py_ssize_t batch
    cdef void *handle
    cdef zmq_msg_t *parts  # the message being handled, one zmq_msg_t per frame
    cdef Py_ssize_t capacity
    cdef PyObject *identity_keys[KEY_SLOTS]
    cdef PyObject *subject_keys[KEY_SLOTS]
    cdef uint8_t stamped[MAX_HEADER]

    def __cinit__(self) -> None:
        self.parts = <zmq_msg_t *>PyMem_Malloc(FIRST_PARTS * sizeof(zmq_msg_t))
        if self.parts is NULL:
            raise MemoryError()
        self.capacity = FIRST_PARTS

    def __init__(self, sock: zmq.Socket, RouteTable table not None, Py_ssize_t batch=BATCH) -> None:
        self.handle = <void *><size_t>sock.underlying
        self.sock = sock
        self.table = table
        self.batch = batch

    def __dealloc__(self) -> None:
        cdef Py_ssize_t i
        PyMem_Free(self.parts)
        for i in range(KEY_SLOTS):
            Py_XDECREF(self.identity_keys[i])
            Py_XDECREF(self.subject_keys[i])

    def drain(self) -> int:
        """Handle up to `batch` waiting messages without blocking; returns how many.

        Its own sends can consume the socket FD's edge-triggered signal: after a 0, re-read
        ZMQ_EVENTS and wait on the FD only while POLLIN is clear.
        """
        return self._drain()

    def serve(self, thread) -> None:
        """The route thread's body (kernel/routethread.py's RouteThread is `thread`): drain
        whenever the socket has messages, until `thread.stopping`.

        The pure twin's loop, in C: a wake-up that finds one message (a round trip, a 1 MiB
        payload) costs as much in the interpreter as in routing it. poll() runs without the GIL.
        """
        cdef pollfd fds[2]
        cdef int zmq_fd = 0, rc
        cdef size_t size = sizeof(int)
        cdef uint64_t wakes
        cdef Py_ssize_t backlog = thread.slow_backlog
        cdef bint backed_up, more, hand_over
        lock, turnstile = thread.lock, thread.turnstile
        if self.sock.closed or zmq_getsockopt(self.handle, ZMQ_FD, &zmq_fd, &size) < 0:
            raise zmq.ZMQError(zmq.ENOTSOCK)
        fds[0].fd = thread.wake_fd
        fds[0].events = POLLIN
        fds[1].fd = zmq_fd
        fds[1].events = POLLIN
        while True:
            while True:
                with turnstile:
                    lock.acquire()
                try:
                    if thread.stopping:
                        return
                    backed_up = len(self.table.slow) >= backlog
                    more = False
                    if not backed_up:
                        more = self._drain() >= self.batch or self._readable()
                    hand_over = len(self.table.slow) > 0 and thread.hand_over()
                finally:
                    lock.release()
                if hand_over:
                    thread.on_slow()
                if not more:
                    break
            # While backed up it waits on the wake-up alone, which take_slow() sends.
            with nogil:
                rc = poll(fds, 1 if backed_up else 2, -1)
            if rc < 0:
                if errno == EINTR:
                    continue
                PyErr_SetFromErrno(OSError)
            if fds[0].revents & POLLIN:
                read(fds[0].fd, &wakes, sizeof(wakes))

    cdef bint _readable(self) except -1:
        cdef int events = 0
        cdef size_t size = sizeof(int)
        if zmq_getsockopt(self.handle, ZMQ_EVENTS, &events, &size) < 0:
            raise zmq.ZMQError(zmq_errno())
        return events & ZMQ_POLLIN != 0

    cdef Py_ssize_t _drain(self) except -1:
        cdef RouteTable table = self.table
        cdef Py_ssize_t handled = 0, n
        if self.sock.closed:
            raise zmq.ZMQError(zmq.ENOTSOCK)
        while handled < self.batch:
            n = self._receive()
            if n == 0:
                break
            handled += 1
            try:
                self._handle(table, n)
            finally:
                self._close(n)
        return handled

    cdef Py_ssize_t _receive(self) except -1:
        """Take one whole message off the socket into `parts`; 0 when none is waiting."""
        cdef Py_ssize_t n = 0
        cdef int err
        while True:
            if n == self.capacity:
                self._grow()
            zmq_msg_init(&self.parts[n])
            if zmq_msg_recv(&self.parts[n], self.handle, ZMQ_DONTWAIT) < 0:
                err = zmq_errno()
                zmq_msg_close(&self.parts[n])
                if n == 0 and err == EAGAIN:
                    return 0
                if n == 0 and err == EINTR:
                    PyErr_CheckSignals()
                    continue
                self._close(n)
                raise zmq.ZMQError(err)
            n += 1
            if not zmq_msg_more(&self.parts[n - 1]):
                return n

    cdef int _grow(self) except -1:
        cdef Py_ssize_t i, capacity = self.capacity * 2
        cdef zmq_msg_t *parts = <zmq_msg_t *>PyMem_Malloc(capacity * sizeof(zmq_msg_t))
        if parts is NULL:
            raise MemoryError()
        for i in range(self.capacity):
            zmq_msg_init(&parts[i])
            zmq_msg_move(&parts[i], &self.parts[i])
            zmq_msg_close(&self.parts[i])
        PyMem_Free(self.parts)
        self.parts = parts
        self.capacity = capacity
        return 0

    cdef void _close(self, Py_ssize_t n) noexcept:
        cdef Py_ssize_t i
        for i in range(n):
            zmq_msg_close(&self.parts[i])

    cdef int _handle(self, RouteTable table, Py_ssize_t n) except -1:
        cdef zmq_msg_t *parts = self.parts
        cdef const uint8_t *header
        cdef Py_ssize_t header_len, i, stamped_len
        cdef unsigned long long size = 0
        cdef Layout layout
        cdef Problem problem
        cdef Fault fault
        cdef PyObject *found
        cdef Peer peer
        cdef Route route
        identity = _key(self.identity_keys, <const uint8_t *>zmq_msg_data(&parts[0]),
                        zmq_msg_size(&parts[0]))
        if table.peers is None:
            raise TypeError("RouteTable.peers must be a dict")
        found = PyDict_GetItemWithError(table.peers, identity)
        if found is NULL or <object>found is None or n < 3:
            return self._to_slow(table, n, identity)
        header = <const uint8_t *>zmq_msg_data(&parts[1])
        header_len = zmq_msg_size(&parts[1])
        if header_len < FIXED_SIZE or header[OFF_KIND] != KIND_PUB:
            return self._to_slow(table, n, identity)
        peer = _peer(<object>found)
        for i in range(2, n):
            size += zmq_msg_size(&parts[i])
        peer.msgs_in += 1
        peer.bytes_in += size
        if size > table.max_size:
            return _count(peer, "too_large")
        fault = split_header(header, header_len, &layout, &problem)
        if fault == FAULT_NONE:
            fault = peer._name_fault
        if fault != FAULT_NONE:
            return _reject(peer, fault)
        route = self._route(table, peer, header + FIXED_SIZE + layout.source_len,
                            layout.subject_len)
        if route is None:
            return _count(peer, "denied.publish")
        if route.generation != table.generation:
            table.resolve(route)
            route.generation = table.generation
        route.seq = route.seq + 1 if route.seq < MAX_SEQ else 1
        stamped_len = self._stamp(header, <uint32_t>route.seq, peer, layout)
        route.msgs += 1
        route.bytes += size
        table.routed_msgs += 1
        table.routed_bytes += size
        if header[OFF_FLAGS] & FLAG_RETAIN:
            route.retained = self._retain(n, stamped_len)
        return self._fan_out(route, n, stamped_len, size)

    cdef Route _route(self, RouteTable table, Peer peer, const uint8_t *subject, Py_ssize_t size):
        """The route `peer` publishes on, or None when it may not publish there.

        A route remembers the last peer allowed on it, so the usual case (one publisher per
        subject) costs a pointer comparison; only a new subject or another publisher asks the
        router's policy. A refusal creates no route.
        """
        cdef Route route = None
        subject_key = _key(self.subject_keys, subject, size)
        if table.routes is None:
            raise TypeError("RouteTable.routes must be a dict")
        cdef PyObject *found = PyDict_GetItemWithError(table.routes, subject_key)
        if found is not NULL and <object>found is not None:
            route = <Route?><object>found
            if route.publisher is peer:
                return route
        if table.authorize is not None and not table.authorize(peer, subject_key):
            return None
        if route is None:
            route = Route(subject_key)
            table.routes[subject_key] = route
        route.publisher = peer
        return route

    cdef Py_ssize_t _stamp(self, const uint8_t *header, uint32_t seq, Peer peer, Layout layout):
        cdef uint8_t *out = self.stamped
        cdef Py_ssize_t name_len = PyBytes_GET_SIZE(peer._stamp)
        memcpy(out, header, FIXED_SIZE)
        put_u32(out + OFF_SEQ, seq)
        out[OFF_SOURCE_LEN] = <uint8_t>name_len
        memcpy(out + FIXED_SIZE, PyBytes_AS_STRING(peer._stamp), name_len)
        memcpy(out + FIXED_SIZE + name_len, header + FIXED_SIZE + layout.source_len,
               layout.subject_len)
        return FIXED_SIZE + name_len + layout.subject_len

    cdef list _retain(self, Py_ssize_t n, Py_ssize_t stamped_len):
        cdef Py_ssize_t i
        cdef Frame frame
        kept = [PyBytes_FromStringAndSize(<char *>self.stamped, stamped_len)]
        for i in range(2, n):
            frame = Frame.__new__(Frame)
            if zmq_msg_copy(&frame.msg, &self.parts[i]) < 0:
                raise zmq.ZMQError(zmq_errno())
            kept.append(frame)
        return kept

    cdef int _to_slow(self, RouteTable table, Py_ssize_t n, object identity) except -1:
        cdef Py_ssize_t i
        cdef Frame frame
        frames = [identity]
        if n > 1:
            frames.append(PyBytes_FromStringAndSize(<char *>zmq_msg_data(&self.parts[1]),
                                                    zmq_msg_size(&self.parts[1])))
        for i in range(2, n):
            frame = Frame.__new__(Frame)
            zmq_msg_move(&frame.msg, &self.parts[i])
            frames.append(frame)
        table.slow.append(frames)
        return 0

    cdef int _fan_out(self, Route route, Py_ssize_t n, Py_ssize_t stamped_len,
                      unsigned long long size) except -1:
        cdef zmq_msg_t header
        cdef Py_ssize_t i, count
        cdef Peer sub
        cdef int err
        cdef list subs
        peers = route.peers
        subs = peers if type(peers) is list else list(peers)
        count = len(subs)
        if count == 0:
            return 0
        # One stamped header per message, shared by every peer's copy.
        if zmq_msg_init_size(&header, stamped_len) < 0:
            raise zmq.ZMQError(zmq_errno())
        memcpy(zmq_msg_data(&header), self.stamped, stamped_len)
        try:
            for i in range(count):
                sub = _peer(subs[i])
                if sub.window_full(size):
                    sub.drops += 1  # it has left its window's worth untaken: drop for it alone
                    route.drops += 1
                    continue
                err = _send(self.handle, PyBytes_AS_STRING(sub._identity),
                            PyBytes_GET_SIZE(sub._identity), &header, self.parts + 2, n - 2,
                            i == count - 1)
                if err == 0:
                    sub.msgs_out += 1
                    sub.bytes_out += size
                elif err == EAGAIN or err == EHOSTUNREACH:
                    # Full queue (ROUTER_MANDATORY) or gone before we noticed: drop for it alone.
                    sub.drops += 1
                    route.drops += 1
                else:
                    raise zmq.ZMQError(-err if err < 0 else err)
        finally:
            zmq_msg_close(&header)
        return 0
