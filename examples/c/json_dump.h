/* Prints any protobuf-c message as proto3 JSON (proto field names), walking its descriptor. */
#ifndef MIEN_JSON_DUMP_H
#define MIEN_JSON_DUMP_H
#include <stdio.h>
#include <protobuf-c/protobuf-c.h>

/* Writes `msg` as one JSON object to `out`, following the proto3 JSON mapping:
 * 64-bit integers as strings, enums by name, bytes as base64, fields with default values
 * omitted (except a set oneof member), maps as objects. */
void mien_json_dump(FILE *out, const ProtobufCMessage *msg);

#endif
