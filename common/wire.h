/* wire: the sessions topic's wire format, version 1: one msgpack map per Kafka message.
 *
 *   {"v":1, "id":str, "rid":str, "node":str, "cid":str, "fp":uint, "lp":uint, "ts":uint,
 *    "sip":bin4|16, "dip":bin4|16, "sp":uint, "dp":uint, "pr":uint,
 *    "spk":uint, "dpk":uint, "sby":uint, "dby":uint, "sdb":uint, "ddb":uint,
 *    "tf":{"syn":uint, "syn-ack":uint, "ack":uint, "psh":uint, "fin":uint, "rst":uint,
 *          "urg":uint, "src-zero":uint, "dst-zero":uint}}
 *
 * "v" comes first so foreign data is refused at byte 1. Required: v, id, fp, lp, sip, dip, pr.
 * Absent fields (FW_ABSENT counters, empty strings, port 0) are omitted. Unknown keys are
 * skipped (additions within version 1 stay readable by older detectors); a new major version
 * is refused. docs/wire-format.md is the full specification.
 *
 * Encoding uses msgpack-c's packer. Decoding is a strict bounds-checked reader over the buffer:
 * no allocation, no reads past len, container sizes checked against the bytes left (msgpack-c's
 * object unpacker would allocate whatever a 5-byte header claims), duplicate keys, wrong types,
 * out-of-range values, truncation, trailing bytes and oversized input are all errors. */
#ifndef FW_WIRE_H
#define FW_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "session.h"

#define FW_WIRE_VERSION 1
#define FW_RECORD_MAX   1024 /* bytes; the largest valid record is about 560 */

/* Negative error codes returned by fw_session_decode / fw_session_encode. */
typedef enum {
        FW_WIRE_OK = 0,
        FW_WIRE_ETRUNC = -1,   /* input ends inside a value */
        FW_WIRE_ESIZE = -2,    /* empty or larger than FW_RECORD_MAX */
        FW_WIRE_ETYPE = -3,    /* a value has the wrong msgpack type */
        FW_WIRE_ERANGE = -4,   /* a value is out of range (port > 65535, string too long, ...) */
        FW_WIRE_EVERSION = -5, /* "v" missing, not first, or an unsupported version */
        FW_WIRE_EMISSING = -6, /* a required field is missing */
        FW_WIRE_EDUP = -7,     /* a key appears twice */
        FW_WIRE_ETRAIL = -8,   /* bytes after the record */
        FW_WIRE_EINVAL = -9,   /* (encode) the session is not encodable: unset address, ... */
} fw_wire_err_t;

/* Short name of an error code ("truncated", "mistyped", ...). */
const char *fw_wire_strerror(int err);

/* Encode s into buf (at least FW_RECORD_MAX bytes is always enough); *outlen gets the size.
 * Returns 0, or a negative fw_wire_err_t with a message in err. */
int fw_session_encode(const fw_session_t *s, char *buf, size_t buflen, size_t *outlen, char *err,
                      size_t errlen);

/* Decode exactly one record occupying all of buf[0..len). On error returns a negative
 * fw_wire_err_t, writes "<problem> at byte N (key 'k')" into err, and *s is unspecified. */
int fw_session_decode(const void *buf, size_t len, fw_session_t *s, char *err, size_t errlen);

/* Length of the one msgpack object at buf[0..len): 0 if it is complete and its length is stored
 * in *objlen; 1 if buf ends inside it (more bytes needed); -1 if the bytes are not msgpack
 * (0xc1). Declared sizes are only compared with the bytes left (nothing is allocated, no
 * recursion), so a header claiming 4 billion elements just answers 1. */
int fw_msgpack_skip(const uint8_t *buf, size_t len, size_t *objlen);

/* The Kafka key of s's record: its source address bytes (4 or 16), so that one source's sessions
 * share a partition and one detector engine. */
const void *fw_session_key(const fw_session_t *s, size_t *len);

/* The partition of n that librdkafka's default partitioner (consistent_random: CRC-32 of the
 * key mod n) gives to the record of s, keyed by fw_session_key. n >= 1. */
int32_t fw_session_partition(const fw_session_t *s, int32_t n);

#endif
