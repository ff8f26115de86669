# cython: language_level=3
"""The bus envelope's header: pack, parse and re-stamp, compiled.

Twin of ipc/wire.py, which documents the layout: the same bytes out for every input, and the same
inputs refused with a WireError of the same reason. This module imports nothing of carnel's:
`bind(WireError, Header)` hands it the error and result types before first use.
"""
from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytes cimport (
    PyBytes_AS_STRING,
    PyBytes_Check,
    PyBytes_FromStringAndSize,
    PyBytes_GET_SIZE,
)
from cpython.long cimport PyLong_Check
from cpython.number cimport PyNumber_Index
from cpython.unicode cimport PyUnicode_DATA, PyUnicode_DecodeASCII, PyUnicode_GET_LENGTH
from libc.stdint cimport int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memcpy

from header cimport *

cdef extern from "Python.h":
    bint PyUnicode_IS_ASCII(object text)
    # Declared without an exception value: callers look at PyErr_Occurred themselves.
    unsigned long long as_unsigned "PyLong_AsUnsignedLongLong"(object number)
    long long as_signed "PyLong_AsLongLong"(object number)
    void *PyErr_Occurred()
    void PyErr_Clear()

cdef unsigned long long MAX_SEQ = 0xFFFFFFFF
_PATTERN_KINDS = frozenset((KIND_SUB, KIND_UNSUB))
_tuple_new = tuple.__new__

WireError = None
Header = None


def bind(wire_error: type, header: type) -> None:
    """Hand over the error and result types (ipc/wire.py's), which this module cannot import."""
    global WireError, Header
    WireError = wire_error
    Header = header


cdef object _error(str reason, str detail):
    if WireError is None:
        raise RuntimeError("carnel.ext.wire.bind() must be called before use")
    return WireError(reason, detail)


cdef object _refusal(const Problem *problem):
    cdef Detail d = problem.detail
    cdef Py_ssize_t a = problem.a, b = problem.b
    if d == DETAIL_SHORT:
        return _error("short", f"header is {a} bytes, at least {FIXED_SIZE} needed")
    if d == DETAIL_VERSION:
        return _error("version", f"version {a}, this bus speaks {VERSION}")
    if d == DETAIL_KIND:
        return _error("kind", f"unknown kind {a}")
    if d == DETAIL_LENGTH:
        return _error("length", f"header is {a} bytes, its lengths say {b}")
    if d == DETAIL_SOURCE_LONG:
        return _error("source", f"source is {a} bytes, the limit is {MAX_SOURCE}")
    if d == DETAIL_SOURCE_BYTE:
        return _error("source", f"source byte 0x{a:02x} is not one of [A-Za-z0-9_-]")
    if d == DETAIL_SUBJECT_EMPTY:
        return _error("subject", "subject is empty")
    if d == DETAIL_SUBJECT_LONG:
        return _error("subject", f"subject is {a} bytes, the limit is {MAX_SUBJECT}")
    if d == DETAIL_EMPTY_TOKEN:
        return _error("subject", f"empty token at byte {a}")
    if d == DETAIL_SUBJECT_BYTE:
        return _error("subject", f"subject byte 0x{a:02x} at {b} is not allowed")
    if d == DETAIL_WILDCARD_KIND:
        return _error("wildcard", "wildcards are allowed only in SUB and UNSUB")
    if d == DETAIL_WILDCARD_LAST:
        return _error("wildcard", "'>' must be the last token")
    return _error("range", "a numeric field is out of its range")


cdef const uint8_t *_ascii(str text, str field, Py_ssize_t *size) except NULL:
    # An ASCII str already holds its bytes: no encoded copy needed.
    if not PyUnicode_IS_ASCII(text):
        raise _error(field, "not ASCII")
    size[0] = PyUnicode_GET_LENGTH(text)
    return <const uint8_t *>PyUnicode_DATA(text)


cdef bint _unsigned(object value, unsigned long long limit, unsigned long long *out) except -1:
    """Whether `value` is an integer in 0..limit, struct.pack's rule (anything with __index__)."""
    if not PyLong_Check(value):
        try:
            value = PyNumber_Index(value)
        except TypeError:
            return False
    out[0] = as_unsigned(value)
    if PyErr_Occurred() != NULL:
        PyErr_Clear()  # negative or wider than 64 bits
        return False
    return out[0] <= limit


cdef bint _signed(object value, long long *out) except -1:
    if not PyLong_Check(value):
        try:
            value = PyNumber_Index(value)
        except TypeError:
            return False
    out[0] = as_signed(value)
    if PyErr_Occurred() != NULL:
        PyErr_Clear()
        return False
    return True


def pack_header(
    kind,
    str subject not None,
    *,
    flags=0,
    seq=0,
    msg_id=0,
    corr_id=0,
    timestamp_ns=0,
    timeout_ms=0,
    str source not None="",
) -> bytes:
    """Build a header; raises WireError for anything parse_header would refuse."""
    cdef Problem problem
    cdef Py_ssize_t source_len = 0, subject_len = 0
    cdef const uint8_t *raw_source
    cdef const uint8_t *raw_subject
    cdef unsigned long long c_kind, c_flags, c_seq, c_msg_id, c_corr_id, c_timeout
    cdef long long c_timestamp
    cdef uint8_t *out
    if not 1 <= kind <= KIND_MAX:
        raise _error("kind", f"unknown kind {kind}")
    raw_source = _ascii(source, "source", &source_len)
    raw_subject = _ascii(subject, "subject", &subject_len)
    if check_source(raw_source, source_len, &problem) != FAULT_NONE:
        raise _refusal(&problem)
    if check_subject(raw_subject, subject_len, kind in _PATTERN_KINDS, &problem) != FAULT_NONE:
        raise _refusal(&problem)
    if not (
        _unsigned(kind, 0xFF, &c_kind)
        and _unsigned(flags, 0xFFFF, &c_flags)
        and _unsigned(seq, 0xFFFFFFFF, &c_seq)
        and _unsigned(msg_id, 0xFFFFFFFFFFFFFFFF, &c_msg_id)
        and _unsigned(corr_id, 0xFFFFFFFFFFFFFFFF, &c_corr_id)
        and _signed(timestamp_ns, &c_timestamp)
        and _unsigned(timeout_ms, 0xFFFFFFFF, &c_timeout)
    ):
        raise _error("range", "a numeric field is out of its range")
    result = PyBytes_FromStringAndSize(NULL, FIXED_SIZE + source_len + subject_len)
    out = <uint8_t *>PyBytes_AS_STRING(result)
    out[0] = VERSION
    out[OFF_KIND] = <uint8_t>c_kind
    put_u16(out + OFF_FLAGS, <uint16_t>c_flags)
    put_u32(out + OFF_SEQ, <uint32_t>c_seq)
    put_u64(out + OFF_MSG_ID, c_msg_id)
    put_u64(out + OFF_CORR_ID, c_corr_id)
    put_u64(out + OFF_TIMESTAMP, <uint64_t>c_timestamp)
    put_u32(out + OFF_TIMEOUT, <uint32_t>c_timeout)
    out[OFF_SOURCE_LEN] = <uint8_t>source_len
    out[OFF_SUBJECT_LEN] = <uint8_t>subject_len
    memcpy(out + FIXED_SIZE, raw_source, source_len)
    memcpy(out + FIXED_SIZE + source_len, raw_subject, subject_len)
    return result


cdef bint _borrow(object buf, Py_buffer *view) except -1:
    """Borrow `buf`'s bytes in place if they are one contiguous block (as bytes(buf) reads them)."""
    try:
        PyObject_GetBuffer(buf, view, PyBUF_SIMPLE)
    except (BufferError, TypeError):
        return False
    return True


cdef inline void _check(const uint8_t *raw, Py_ssize_t size, Layout *layout) except *:
    cdef Problem problem
    if split_header(raw, size, layout, &problem) != FAULT_NONE:
        raise _refusal(&problem)


cdef object _parse(const uint8_t *raw, Py_ssize_t size):
    cdef Layout layout
    _check(raw, size, &layout)
    if Header is None:
        raise RuntimeError("carnel.ext.wire.bind() must be called before use")
    return _tuple_new(Header, (
        raw[0],
        raw[OFF_KIND],
        get_u16(raw + OFF_FLAGS),
        get_u32(raw + OFF_SEQ),
        get_u64(raw + OFF_MSG_ID),
        get_u64(raw + OFF_CORR_ID),
        <int64_t>get_u64(raw + OFF_TIMESTAMP),
        get_u32(raw + OFF_TIMEOUT),
        PyUnicode_DecodeASCII(<const char *>raw + FIXED_SIZE, layout.source_len, NULL),
        PyUnicode_DecodeASCII(<const char *>raw + FIXED_SIZE + layout.source_len,
                              layout.subject_len, NULL),
    ))


def parse_header(buf) -> object:
    """Parse and validate a header frame (bytes or any buffer); raises WireError."""
    cdef Py_buffer view
    if not PyBytes_Check(buf):
        if not _borrow(buf, &view):
            buf = bytes(buf)  # not one contiguous block: read it as the twin does
        else:
            try:
                return _parse(<const uint8_t *>view.buf, view.len)
            finally:
                PyBuffer_Release(&view)
    return _parse(<const uint8_t *>PyBytes_AS_STRING(buf), PyBytes_GET_SIZE(buf))


def restamp(buf, str source not None, seq) -> bytes:
    """The same header with the kernel's authenticated source and sequence number written in."""
    cdef Py_buffer view
    if not PyBytes_Check(buf):
        if not _borrow(buf, &view):
            buf = bytes(buf)
        else:
            try:
                return _restamp(<const uint8_t *>view.buf, view.len, source, seq)
            finally:
                PyBuffer_Release(&view)
    return _restamp(<const uint8_t *>PyBytes_AS_STRING(buf), PyBytes_GET_SIZE(buf), source, seq)


cdef bytes _restamp(const uint8_t *raw, Py_ssize_t size, str source, object seq):
    cdef Layout layout
    cdef Problem problem
    cdef Py_ssize_t source_len = 0
    cdef const uint8_t *raw_source
    cdef unsigned long long c_seq
    cdef uint8_t *out
    _check(raw, size, &layout)
    raw_source = _ascii(source, "source", &source_len)
    if check_source(raw_source, source_len, &problem) != FAULT_NONE:
        raise _refusal(&problem)
    if not PyLong_Check(seq) and not 0 <= seq <= MAX_SEQ:
        raise _error("range", f"seq {seq} is out of range")
    if not _unsigned(seq, MAX_SEQ, &c_seq):
        if PyLong_Check(seq):
            raise _error("range", f"seq {seq} is out of range")
        raise _error("range", f"seq {seq!r} is not an integer")
    result = PyBytes_FromStringAndSize(NULL, FIXED_SIZE + source_len + layout.subject_len)
    out = <uint8_t *>PyBytes_AS_STRING(result)
    memcpy(out, raw, FIXED_SIZE)
    put_u32(out + OFF_SEQ, <uint32_t>c_seq)
    out[OFF_SOURCE_LEN] = <uint8_t>source_len
    memcpy(out + FIXED_SIZE, raw_source, source_len)
    memcpy(out + FIXED_SIZE + source_len, raw + FIXED_SIZE + layout.source_len, layout.subject_len)
    return result
