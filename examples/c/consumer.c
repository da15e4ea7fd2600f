/* Example downstream consumer of Mien's result stream, in C.
 *
 * Subscribes to a Mien PUB/XPUB endpoint (the aggregator's result stream, or
 * `mien selftest publish`), decodes every message with protobuf-c code generated from
 * Mien's proto/ files, and prints each envelope as one line of proto3 JSON.
 *
 *   mien-consumer ENDPOINT [COUNT] [TOPIC]
 *     ENDPOINT  e.g. tcp://127.0.0.1:5600
 *     COUNT     stop after this many envelopes (default: run until interrupted)
 *     TOPIC     only this kind, e.g. frame_result (default: everything)
 *
 * Each message is two frames: the topic (the body kind) and one serialized mien.v1.Envelope.
 * A message that does not decode is reported on stderr and skipped; the consumer goes on.
 * Exit status: 0 when COUNT envelopes were printed, 1 on a timeout (20 s without a message)
 * or a ZeroMQ error, 2 on bad arguments.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "json_dump.h"
#include "mien/v1/envelope.pb-c.h"

#define MIEN_PROTOCOL_VERSION 1
#define IDLE_TIMEOUT_MS 20000

int main(int argc, char **argv) {
    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: %s ENDPOINT [COUNT] [TOPIC]\n", argv[0]);
        return 2;
    }
    const char *endpoint = argv[1];
    long count = argc > 2 ? strtol(argv[2], NULL, 10) : -1;
    const char *topic = argc > 3 ? argv[3] : "";

    void *ctx = zmq_ctx_new();
    void *sub = zmq_socket(ctx, ZMQ_SUB);
    int timeout = IDLE_TIMEOUT_MS, linger = 0;
    zmq_setsockopt(sub, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    zmq_setsockopt(sub, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(sub, ZMQ_SUBSCRIBE, topic, strlen(topic));
    if (zmq_connect(sub, endpoint) != 0) {
        fprintf(stderr, "mien-consumer: cannot connect to %s: %s\n", endpoint, zmq_strerror(zmq_errno()));
        return 1;
    }

    int status = 0;
    long printed = 0;
    while (count < 0 || printed < count) {
        zmq_msg_t frames[2];
        int nframes = 0, more = 1;
        while (more) {
            zmq_msg_t part;
            zmq_msg_init(&part);
            if (zmq_msg_recv(&part, sub, 0) < 0) {
                int e = zmq_errno();
                zmq_msg_close(&part);
                fprintf(stderr, "mien-consumer: %s after %ld message(s)\n",
                        e == EAGAIN ? "no message for 20 s" : zmq_strerror(e), printed);
                status = 1;
                goto done;
            }
            more = zmq_msg_more(&part);
            if (nframes < 2) frames[nframes] = part; else zmq_msg_close(&part);
            nframes++;
        }
        if (nframes != 2) {
            fprintf(stderr, "mien-consumer: skipped a message of %d frame(s), expected 2 (topic, envelope)\n", nframes);
        } else {
            Mien__V1__Envelope *env = mien__v1__envelope__unpack(NULL, zmq_msg_size(&frames[1]), zmq_msg_data(&frames[1]));
            if (env == NULL) {
                fprintf(stderr, "mien-consumer: skipped %zu bytes that are not a mien.v1.Envelope\n", zmq_msg_size(&frames[1]));
            } else if (env->protocol_version != MIEN_PROTOCOL_VERSION) {
                fprintf(stderr, "mien-consumer: skipped an envelope of protocol version %u (this consumer speaks %d)\n",
                        env->protocol_version, MIEN_PROTOCOL_VERSION);
                mien__v1__envelope__free_unpacked(env, NULL);
            } else {
                mien_json_dump(stdout, &env->base);
                fputc('\n', stdout);
                fflush(stdout);
                printed++;
                mien__v1__envelope__free_unpacked(env, NULL);
            }
        }
        for (int i = 0; i < nframes && i < 2; i++) zmq_msg_close(&frames[i]);
    }
done:
    zmq_close(sub);
    zmq_ctx_term(ctx);
    return status;
}
