# cython: language_level=3
"""The compiled fast path of NMEA framing: one pass over a sentence's bytes.

For the usual sentence (starts with '$', not proprietary, printable ASCII, '*' and two upper-case
hex digits that match the XOR of the body, within `max_length` with its CRLF) it returns the
body's comma-separated fields as str, exactly what nmea.py's careful path would. For anything
else it returns None and nmea.py takes the careful path, which refuses the sentence with its
one reason: so errors stay those of the pure code, and only the common case is made fast.
"""
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.unicode cimport PyUnicode_DecodeASCII


cdef inline int _hex(unsigned char c) noexcept:
    if 48 <= c <= 57:
        return c - 48
    if 65 <= c <= 70:
        return c - 55
    return -1


def sentence_fields(bytes line not None, Py_ssize_t max_length):
    cdef Py_ssize_t n = PyBytes_GET_SIZE(line), i, start = 1
    cdef const unsigned char *p = <const unsigned char *>PyBytes_AS_STRING(line)
    cdef unsigned char c, xor = 0
    cdef int high, low
    if n < 4 or n + 2 > max_length or p[0] != 36 or p[1] == 80 or p[n - 3] != 42:
        return None
    high = _hex(p[n - 2])
    low = _hex(p[n - 1])
    if high < 0 or low < 0:
        return None
    fields = []
    for i in range(1, n - 3):
        c = p[i]
        if c < 32 or c > 126:
            return None
        xor ^= c
        if c == 44:  # ','
            fields.append(PyUnicode_DecodeASCII(<const char *>p + start, i - start, NULL))
            start = i + 1
    if xor != ((high << 4) | low):
        return None
    fields.append(PyUnicode_DecodeASCII(<const char *>p + start, n - 3 - start, NULL))
    return fields
