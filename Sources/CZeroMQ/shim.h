#ifndef MIEN_CZEROMQ_SHIM_H
#define MIEN_CZEROMQ_SHIM_H
#include <zmq.h>
#include <errno.h>
#endif
