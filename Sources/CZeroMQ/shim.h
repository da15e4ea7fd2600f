#ifndef MIEN_CZEROMQ_SHIM_H
#define MIEN_CZEROMQ_SHIM_H
#include <zmq.h>
#include <errno.h>

/* ZMQ_ZAP_ENFORCE_DOMAIN sits in zmq.h's draft section in libzmq 4.3, but the option is
   handled by Debian's libzmq5 4.3.4 (Mien checks it reads back as set and refuses to serve
   CURVE otherwise: without it a missing ZAP handler would let every client in). */
#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif
#endif
