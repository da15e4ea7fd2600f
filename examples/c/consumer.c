/* Example downstream consumer of Mien's result stream, in C.
 *
 * Subscribes to a Mien PUB/XPUB endpoint (the aggregator's result stream, or
 * `mien selftest publish`), decodes every message with protobuf-c code generated from
 * Mien's proto/ files, and prints each message as one line of proto3 JSON.
 *
 *   mien-consumer [--timeout S] [--curve-server-key FILE --curve-secret-key FILE] ENDPOINT [COUNT] [TOPIC]
 *     ENDPOINT  e.g. tcp://127.0.0.1:5600
 *     COUNT     stop after this many messages (default: run until interrupted)
 *     TOPIC     only this kind, e.g. frame_result (default: everything)
 *     --timeout S              seconds without a message before giving up (default 20)
 *     --curve-server-key FILE  the aggregator's public key file (.pub, from `mien keys generate`)
 *     --curve-secret-key FILE  this consumer's key file (.key); its .pub must be on the
 *                              aggregator's --curve-allow, or nothing arrives
 *
 * Each message is two frames: the topic (the body kind) and one serialized mien.v1.Published
 * (proto/mien/v1/envelope.proto: the result stream's own message).
 * A message that does not decode is reported on stderr and skipped; the consumer goes on.
 * Exit status: 0 when COUNT messages were printed, 1 on a timeout (--timeout s without a message)
 * or a ZeroMQ error, 2 on bad arguments.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "json_dump.h"
#include "mien/v1/envelope.pb-c.h"

#define MIEN_PROTOCOL_VERSION 2
#define IDLE_TIMEOUT_MS 20000

/* Reads a key file written by `mien keys generate`: NAME.pub is one line (the Z85 public key),
 * NAME.key has `public-key = "..."` and `secret-key = "..."` lines. Copies the wanted key
 * (40 Z85 characters + NUL) into out; returns 0, or -1 after printing what is wrong with the file. */
static int read_key(const char *path, const char *field, char out[41]) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "mien-consumer: cannot read CURVE key file %s: %s; make one with `mien keys generate`\n", path, strerror(errno));
        return -1;
    }
    char line[512], single[512] = "";
    int lines = 0, found = 0;
    while (fgets(line, sizeof line, f)) {
        char *p = line;
        while (*p == ' ' || *p == '\t') p++;
        char *end = p + strlen(p);
        while (end > p && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t')) *--end = 0;
        if (*p == 0 || *p == '#') continue;
        lines++;
        snprintf(single, sizeof single, "%s", p);
        if (strncmp(p, field, strlen(field)) == 0 && strchr(p, '=')) {
            char *v = strchr(p, '=') + 1;
            while (*v == ' ' || *v == '"') v++;
            char *q = v;
            while (*q && *q != '"') q++;
            *q = 0;
            snprintf(single, sizeof single, "%s", v);
            found = 1;
            break;
        }
    }
    fclose(f);
    if (!found && !(strcmp(field, "public-key") == 0 && lines == 1)) {
        fprintf(stderr, "mien-consumer: %s has no %s (give the %s file from `mien keys generate`)\n", path, field,
                strcmp(field, "secret-key") == 0 ? ".key" : ".pub");
        return -1;
    }
    uint8_t raw[32];
    if (strlen(single) != 40 || zmq_z85_decode(raw, single) == NULL) {
        fprintf(stderr, "mien-consumer: %s: the %s is not a 40-character Z85 CURVE key\n", path, field);
        return -1;
    }
    memcpy(out, single, 41);
    return 0;
}

int main(int argc, char **argv) {
    const char *server_key_file = NULL, *secret_key_file = NULL;
    int timeout = IDLE_TIMEOUT_MS;
    int first = 1, bad = 0;
    while (first + 1 < argc && strncmp(argv[first], "--", 2) == 0) {
        if (strcmp(argv[first], "--curve-server-key") == 0) server_key_file = argv[first + 1];
        else if (strcmp(argv[first], "--curve-secret-key") == 0) secret_key_file = argv[first + 1];
        else if (strcmp(argv[first], "--timeout") == 0) {
            double s = strtod(argv[first + 1], NULL);
            if (s <= 0) bad = 1;
            timeout = (int)(s * 1000);
        } else {
            bad = 1;
            break;
        }
        first += 2;
    }
    int rest = argc - first;
    if (bad || rest < 1 || rest > 3 || (server_key_file == NULL) != (secret_key_file == NULL)) {
        fprintf(stderr, "usage: %s [--timeout S] [--curve-server-key FILE --curve-secret-key FILE] ENDPOINT [COUNT] [TOPIC]\n", argv[0]);
        return 2;
    }
    const char *endpoint = argv[first];
    long count = rest > 1 ? strtol(argv[first + 1], NULL, 10) : -1;
    const char *topic = rest > 2 ? argv[first + 2] : "";

    char server_public[41], own_public[41], own_secret[41];
    if (server_key_file && (read_key(server_key_file, "public-key", server_public) != 0 ||
                            read_key(secret_key_file, "public-key", own_public) != 0 ||
                            read_key(secret_key_file, "secret-key", own_secret) != 0)) {
        return 2;
    }

    void *ctx = zmq_ctx_new();
    void *sub = zmq_socket(ctx, ZMQ_SUB);
    if (server_key_file) {
        zmq_setsockopt(sub, ZMQ_CURVE_SERVERKEY, server_public, 41);
        zmq_setsockopt(sub, ZMQ_CURVE_PUBLICKEY, own_public, 41);
        zmq_setsockopt(sub, ZMQ_CURVE_SECRETKEY, own_secret, 41);
    }
    int linger = 0;
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
                        e == EAGAIN ? "no message within the timeout" : zmq_strerror(e), printed);
                status = 1;
                goto done;
            }
            more = zmq_msg_more(&part);
            if (nframes < 2) frames[nframes] = part; else zmq_msg_close(&part);
            nframes++;
        }
        if (nframes != 2) {
            fprintf(stderr, "mien-consumer: skipped a message of %d frame(s), expected 2 (topic, published)\n", nframes);
        } else {
            Mien__V1__Published *env = mien__v1__published__unpack(NULL, zmq_msg_size(&frames[1]), zmq_msg_data(&frames[1]));
            if (env == NULL) {
                fprintf(stderr, "mien-consumer: skipped %zu bytes that are not a mien.v1.Published\n", zmq_msg_size(&frames[1]));
            } else if (env->protocol_version != MIEN_PROTOCOL_VERSION) {
                fprintf(stderr, "mien-consumer: skipped a message of protocol version %u (this consumer speaks %d)\n",
                        env->protocol_version, MIEN_PROTOCOL_VERSION);
                mien__v1__published__free_unpacked(env, NULL);
            } else {
                mien_json_dump(stdout, &env->base);
                fputc('\n', stdout);
                fflush(stdout);
                printed++;
                mien__v1__published__free_unpacked(env, NULL);
            }
        }
        for (int i = 0; i < nframes && i < 2; i++) zmq_msg_close(&frames[i]);
    }
done:
    zmq_close(sub);
    zmq_ctx_term(ctx);
    return status;
}
