# cython: language_level=3
"""The bus header's layout and checks in C, shared by wire.pyx and routeloop.pyx.

ipc/wire.py documents the layout and is the twin: these checks run in its order, so that both
refuse a header for the same reason. A refusal is a Fault (which WireError reason) plus a
Problem (what exactly, for the detail text), so the route loop can count a reason without
raising or building a string.
"""
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t


cdef enum:
    VERSION = 1
    FIXED_SIZE = 38
    MAX_SOURCE = 64
    MAX_SUBJECT = 255
    MAX_HEADER = FIXED_SIZE + MAX_SOURCE + MAX_SUBJECT
    KIND_PUB = 1
    KIND_SUB = 5
    KIND_UNSUB = 6
    KIND_MAX = 10
    FLAG_RETAIN = 0x1
    OFF_KIND = 1
    OFF_FLAGS = 2
    OFF_SEQ = 4
    OFF_MSG_ID = 8
    OFF_CORR_ID = 16
    OFF_TIMESTAMP = 24
    OFF_TIMEOUT = 32
    OFF_SOURCE_LEN = 36
    OFF_SUBJECT_LEN = 37

cdef enum Fault:
    FAULT_NONE = 0
    FAULT_SHORT
    FAULT_VERSION
    FAULT_KIND
    FAULT_LENGTH
    FAULT_SOURCE
    FAULT_SUBJECT
    FAULT_WILDCARD
    FAULT_RANGE
    FAULT_COUNT

cdef enum Detail:
    DETAIL_NONE = 0
    DETAIL_SHORT  # a: header size
    DETAIL_VERSION  # a: version byte
    DETAIL_KIND  # a: kind byte
    DETAIL_LENGTH  # a: header size, b: size its length bytes imply
    DETAIL_SOURCE_LONG  # a: source size
    DETAIL_SOURCE_BYTE  # a: the byte
    DETAIL_NOT_ASCII
    DETAIL_SUBJECT_EMPTY
    DETAIL_SUBJECT_LONG  # a: subject size
    DETAIL_EMPTY_TOKEN  # a: offset of the token
    DETAIL_SUBJECT_BYTE  # a: the byte, b: its offset
    DETAIL_WILDCARD_KIND
    DETAIL_WILDCARD_LAST

ctypedef struct Problem:
    Fault fault
    Detail detail
    Py_ssize_t a
    Py_ssize_t b

ctypedef struct Layout:
    Py_ssize_t source_len
    Py_ssize_t subject_len


cdef inline Fault refuse(Problem *problem, Fault fault, Detail detail, Py_ssize_t a,
                         Py_ssize_t b) noexcept nogil:
    problem.fault = fault
    problem.detail = detail
    problem.a = a
    problem.b = b
    return fault


cdef extern from *:
    """
    /* 1 for the bytes of [A-Za-z0-9_-]; the upper 128 are all 0. */
    static const unsigned char carnel_name_byte[256] = {
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  /* 0.. */
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  /* 16.. */
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0,  /* 32.. */
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0,  /* 48.. */
        0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,  /* 64.. */
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1,  /* 80.. */
        0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,  /* 96.. */
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0,  /* 112.. */
    };
    """
    const unsigned char NAME_BYTE "carnel_name_byte"[256]


cdef inline bint is_name_byte(uint8_t b) noexcept nogil:
    return NAME_BYTE[b]


cdef inline Fault check_source(const uint8_t *raw, Py_ssize_t n, Problem *problem) noexcept nogil:
    cdef Py_ssize_t i
    if n > MAX_SOURCE:
        return refuse(problem, FAULT_SOURCE, DETAIL_SOURCE_LONG, n, 0)
    for i in range(n):
        if not is_name_byte(raw[i]):
            return refuse(problem, FAULT_SOURCE, DETAIL_SOURCE_BYTE, raw[i], 0)
    return FAULT_NONE


cdef inline Fault check_subject(const uint8_t *raw, Py_ssize_t n, bint patterns,
                                Problem *problem) noexcept nogil:
    cdef Py_ssize_t start = 0, end, i
    cdef bint last
    if n == 0:
        return refuse(problem, FAULT_SUBJECT, DETAIL_SUBJECT_EMPTY, 0, 0)
    if n > MAX_SUBJECT:
        return refuse(problem, FAULT_SUBJECT, DETAIL_SUBJECT_LONG, n, 0)
    while True:
        end = start
        while end < n and raw[end] != 46:  # '.'
            end += 1
        last = end == n
        if end == start:
            return refuse(problem, FAULT_SUBJECT, DETAIL_EMPTY_TOKEN, start, 0)
        if end - start == 1 and (raw[start] == 42 or raw[start] == 62):  # '*', '>'
            if not patterns:
                return refuse(problem, FAULT_WILDCARD, DETAIL_WILDCARD_KIND, 0, 0)
            if raw[start] == 62 and not last:
                return refuse(problem, FAULT_WILDCARD, DETAIL_WILDCARD_LAST, 0, 0)
        else:
            for i in range(start, end):
                if not is_name_byte(raw[i]):
                    return refuse(problem, FAULT_SUBJECT, DETAIL_SUBJECT_BYTE, raw[i], i)
        if last:
            return FAULT_NONE
        start = end + 1


cdef inline Fault check_kind(Py_ssize_t kind, Problem *problem) noexcept nogil:
    if not 1 <= kind <= KIND_MAX:
        return refuse(problem, FAULT_KIND, DETAIL_KIND, kind, 0)
    return FAULT_NONE


cdef inline Fault split_header(const uint8_t *raw, Py_ssize_t n, Layout *layout,
                               Problem *problem) noexcept nogil:
    """Check a whole header in place; on success `layout` says where source and subject are."""
    cdef Py_ssize_t source_len, subject_len
    cdef Fault fault
    layout.source_len = 0
    layout.subject_len = 0
    if n < FIXED_SIZE:
        return refuse(problem, FAULT_SHORT, DETAIL_SHORT, n, 0)
    if raw[0] != VERSION:
        return refuse(problem, FAULT_VERSION, DETAIL_VERSION, raw[0], 0)
    fault = check_kind(raw[OFF_KIND], problem)
    if fault != FAULT_NONE:
        return fault
    source_len = raw[OFF_SOURCE_LEN]
    subject_len = raw[OFF_SUBJECT_LEN]
    if n != FIXED_SIZE + source_len + subject_len:
        return refuse(problem, FAULT_LENGTH, DETAIL_LENGTH, n,
                      FIXED_SIZE + source_len + subject_len)
    fault = check_source(raw + FIXED_SIZE, source_len, problem)
    if fault != FAULT_NONE:
        return fault
    fault = check_subject(raw + FIXED_SIZE + source_len, subject_len,
                          raw[OFF_KIND] == KIND_SUB or raw[OFF_KIND] == KIND_UNSUB, problem)
    if fault != FAULT_NONE:
        return fault
    layout.source_len = source_len
    layout.subject_len = subject_len
    return FAULT_NONE


cdef inline uint16_t get_u16(const uint8_t *p) noexcept nogil:
    return <uint16_t>(p[0] | (<uint16_t>p[1] << 8))


cdef inline uint32_t get_u32(const uint8_t *p) noexcept nogil:
    return p[0] | (<uint32_t>p[1] << 8) | (<uint32_t>p[2] << 16) | (<uint32_t>p[3] << 24)


cdef inline uint64_t get_u64(const uint8_t *p) noexcept nogil:
    return get_u32(p) | (<uint64_t>get_u32(p + 4) << 32)


cdef inline void put_u16(uint8_t *p, uint16_t v) noexcept nogil:
    p[0] = v & 0xFF
    p[1] = v >> 8


cdef inline void put_u32(uint8_t *p, uint32_t v) noexcept nogil:
    p[0] = v & 0xFF
    p[1] = (v >> 8) & 0xFF
    p[2] = (v >> 16) & 0xFF
    p[3] = v >> 24


cdef inline void put_u64(uint8_t *p, uint64_t v) noexcept nogil:
    put_u32(p, <uint32_t>v)
    put_u32(p + 4, <uint32_t>(v >> 32))
