#include "json_dump.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

static void dump_message(FILE *out, const ProtobufCMessage *msg);

static void dump_string(FILE *out, const char *s) {
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\t': fputs("\\t", out); break;
        default:
            if (*p < 0x20) fprintf(out, "\\u%04x", *p);
            else fputc(*p, out); /* UTF-8 passes through */
        }
    }
    fputc('"', out);
}

static void dump_base64(FILE *out, const ProtobufCBinaryData *b) {
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    fputc('"', out);
    size_t i = 0;
    for (; i + 2 < b->len; i += 3) {
        uint32_t v = (uint32_t)b->data[i] << 16 | (uint32_t)b->data[i + 1] << 8 | b->data[i + 2];
        fprintf(out, "%c%c%c%c", tbl[v >> 18], tbl[(v >> 12) & 63], tbl[(v >> 6) & 63], tbl[v & 63]);
    }
    if (b->len - i == 1) {
        uint32_t v = (uint32_t)b->data[i] << 16;
        fprintf(out, "%c%c==", tbl[v >> 18], tbl[(v >> 12) & 63]);
    } else if (b->len - i == 2) {
        uint32_t v = (uint32_t)b->data[i] << 16 | (uint32_t)b->data[i + 1] << 8;
        fprintf(out, "%c%c%c=", tbl[v >> 18], tbl[(v >> 12) & 63], tbl[(v >> 6) & 63]);
    }
    fputc('"', out);
}

/* Size in bytes of one element of a field of this type, as protobuf-c stores it. */
static size_t element_size(ProtobufCType t) {
    switch (t) {
    case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32: case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_ENUM: return 4;
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64: case PROTOBUF_C_TYPE_DOUBLE: return 8;
    case PROTOBUF_C_TYPE_BOOL: return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING: return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE: return sizeof(ProtobufCMessage *);
    }
    return 0;
}

/* True when the value at `p` is the type's default (proto3 omits those in JSON). */
static int is_default(const ProtobufCFieldDescriptor *f, const void *p) {
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32: case PROTOBUF_C_TYPE_ENUM:
        return *(const uint32_t *)p == 0;
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
        return *(const uint64_t *)p == 0;
    case PROTOBUF_C_TYPE_FLOAT: return *(const float *)p == 0.0f && !signbit(*(const float *)p);
    case PROTOBUF_C_TYPE_DOUBLE: return *(const double *)p == 0.0 && !signbit(*(const double *)p);
    case PROTOBUF_C_TYPE_BOOL: return !*(const protobuf_c_boolean *)p;
    case PROTOBUF_C_TYPE_STRING: { const char *s = *(char *const *)p; return s == NULL || s[0] == '\0'; }
    case PROTOBUF_C_TYPE_BYTES: return ((const ProtobufCBinaryData *)p)->len == 0;
    case PROTOBUF_C_TYPE_MESSAGE: return *(ProtobufCMessage *const *)p == NULL;
    }
    return 1;
}

/* Prints one value; `as_key` quotes numbers (JSON object keys are strings). */
static void dump_value(FILE *out, const ProtobufCFieldDescriptor *f, const void *p, int as_key) {
    const char *q = as_key ? "\"" : "";
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
        fprintf(out, "%s%" PRId32 "%s", q, *(const int32_t *)p, q); break;
    case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32:
        fprintf(out, "%s%" PRIu32 "%s", q, *(const uint32_t *)p, q); break;
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
        fprintf(out, "\"%" PRId64 "\"", *(const int64_t *)p); break;
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
        fprintf(out, "\"%" PRIu64 "\"", *(const uint64_t *)p); break;
    case PROTOBUF_C_TYPE_FLOAT: fprintf(out, "%.9g", (double)*(const float *)p); break;
    case PROTOBUF_C_TYPE_DOUBLE: fprintf(out, "%.17g", *(const double *)p); break;
    case PROTOBUF_C_TYPE_BOOL: fprintf(out, "%s%s%s", q, *(const protobuf_c_boolean *)p ? "true" : "false", q); break;
    case PROTOBUF_C_TYPE_ENUM: {
        const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(f->descriptor, *(const int32_t *)p);
        if (v) dump_string(out, v->name); else fprintf(out, "%" PRId32, *(const int32_t *)p);
        break;
    }
    case PROTOBUF_C_TYPE_STRING: dump_string(out, *(char *const *)p ? *(char *const *)p : ""); break;
    case PROTOBUF_C_TYPE_BYTES: dump_base64(out, (const ProtobufCBinaryData *)p); break;
    case PROTOBUF_C_TYPE_MESSAGE: dump_message(out, *(ProtobufCMessage *const *)p); break;
    }
}

/* protobuf-c has no map type: a map is a repeated message `XxxEntry` with fields key (1) and
 * value (2). Every such field in Mien's protocol is a map. */
static int is_map_entry(const ProtobufCFieldDescriptor *f) {
    if (f->type != PROTOBUF_C_TYPE_MESSAGE || f->label != PROTOBUF_C_LABEL_REPEATED) return 0;
    const ProtobufCMessageDescriptor *d = f->descriptor;
    size_t n = strlen(d->short_name);
    return n > 5 && strcmp(d->short_name + n - 5, "Entry") == 0 && d->n_fields == 2 &&
           strcmp(d->fields[0].name, "key") == 0 && strcmp(d->fields[1].name, "value") == 0;
}

static void dump_message(FILE *out, const ProtobufCMessage *msg) {
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    const char *base = (const char *)msg;
    int first = 1;
    fputc('{', out);
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const void *p = base + f->offset;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + f->quantifier_offset);
            if (n == 0) continue;
            const char *arr = *(char *const *)p;
            fprintf(out, "%s\"%s\":", first ? "" : ",", f->name);
            first = 0;
            if (is_map_entry(f)) {
                const ProtobufCMessageDescriptor *e = f->descriptor;
                fputc('{', out);
                for (size_t k = 0; k < n; k++) {
                    const char *entry = *(char *const *)(arr + k * sizeof(void *));
                    if (k) fputc(',', out);
                    dump_value(out, &e->fields[0], entry + e->fields[0].offset, 1);
                    fputc(':', out);
                    dump_value(out, &e->fields[1], entry + e->fields[1].offset, 0);
                }
                fputc('}', out);
            } else {
                fputc('[', out);
                for (size_t k = 0; k < n; k++) {
                    if (k) fputc(',', out);
                    dump_value(out, f, arr + k * element_size(f->type), 0);
                }
                fputc(']', out);
            }
            continue;
        }
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            if (*(const uint32_t *)(base + f->quantifier_offset) != f->id) continue;
        } else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_MESSAGE &&
                   f->type != PROTOBUF_C_TYPE_STRING) {
            if (!*(const protobuf_c_boolean *)(base + f->quantifier_offset)) continue;
        } else if (is_default(f, p)) {
            continue;
        }
        fprintf(out, "%s\"%s\":", first ? "" : ",", f->name);
        first = 0;
        dump_value(out, f, p, 0);
    }
    fputc('}', out);
}

void mien_json_dump(FILE *out, const ProtobufCMessage *msg) { dump_message(out, msg); }
