# cython: language_level=3
"""The few parts of libzmq's C API the route loop uses, declared here.

The pyzmq wheel ships no zmq.h, and the extension must drive the very libzmq pyzmq loaded (it
works on pyzmq's sockets through `Socket.underlying`), so setup.py links pyzmq's bundled copy and
these declarations follow zmq.h of libzmq 4.3.5, the version that copy is.
"""


cdef extern from *:
    """
    #include <stddef.h>

    /* zmq.h 4.3.5: an opaque 64-byte message, aligned like a pointer. */
    typedef struct zmq_msg_t {
    #if defined(__GNUC__) || defined(__clang__)
        unsigned char _[64] __attribute__((aligned(sizeof(void *))));
    #else
        unsigned char _[64];
    #endif
    } zmq_msg_t;

    #define ZMQ_DONTWAIT 1
    #define ZMQ_SNDMORE 2
    #define ZMQ_FD 14
    #define ZMQ_EVENTS 15
    #define ZMQ_POLLIN 1

    int zmq_errno(void);
    int zmq_msg_init(zmq_msg_t *msg_);
    int zmq_msg_init_size(zmq_msg_t *msg_, size_t size_);
    int zmq_msg_send(zmq_msg_t *msg_, void *s_, int flags_);
    int zmq_msg_recv(zmq_msg_t *msg_, void *s_, int flags_);
    int zmq_msg_close(zmq_msg_t *msg_);
    int zmq_msg_move(zmq_msg_t *dest_, zmq_msg_t *src_);
    int zmq_msg_copy(zmq_msg_t *dest_, zmq_msg_t *src_);
    void *zmq_msg_data(zmq_msg_t *msg_);
    size_t zmq_msg_size(const zmq_msg_t *msg_);
    int zmq_msg_more(const zmq_msg_t *msg_);
    const char *zmq_msg_gets(const zmq_msg_t *msg_, const char *property_);
    int zmq_send(void *s_, const void *buf_, size_t len_, int flags_);
    int zmq_getsockopt(void *s_, int option_, void *optval_, size_t *optvallen_);
    """
    ctypedef struct zmq_msg_t:
        pass

    enum:
        ZMQ_DONTWAIT
        ZMQ_SNDMORE
        ZMQ_FD
        ZMQ_EVENTS
        ZMQ_POLLIN

    int zmq_errno() nogil
    int zmq_msg_init(zmq_msg_t *msg) nogil
    int zmq_msg_init_size(zmq_msg_t *msg, size_t size) nogil
    int zmq_msg_send(zmq_msg_t *msg, void *sock, int flags) nogil
    int zmq_msg_recv(zmq_msg_t *msg, void *sock, int flags) nogil
    int zmq_msg_close(zmq_msg_t *msg) nogil
    int zmq_msg_move(zmq_msg_t *dest, zmq_msg_t *src) nogil
    int zmq_msg_copy(zmq_msg_t *dest, zmq_msg_t *src) nogil
    void *zmq_msg_data(zmq_msg_t *msg) nogil
    size_t zmq_msg_size(const zmq_msg_t *msg) nogil
    int zmq_msg_more(const zmq_msg_t *msg) nogil
    const char *zmq_msg_gets(const zmq_msg_t *msg, const char *prop) nogil
    int zmq_send(void *sock, const void *buf, size_t size, int flags) nogil
    int zmq_getsockopt(void *sock, int option, void *value, size_t *size) nogil
