/* session_fields: the one list of a session's fields, with every name each side gives them.
 *
 * FW_SESSION_FIELDS(X) calls X(NAME, member, KIND, arkime, wire, expr) once per field of
 * fw_session_t, in wire order (the order the encoder writes them, docs/wire-format.md):
 *   NAME    suffix of the field's index FW_SF_NAME
 *   member  the fw_session_t member ("tcpflags.syn" for a nested one)
 *   KIND    how it is read, checked and written (fw_field_kind_t without its FW_FK_ prefix)
 *   arkime  the sessions3 db field, dotted ("source.port": nested {"source":{"port":..}} in a
 *           document); the viewer's fields= names and fw_arkime's messages use it
 *   wire    the wire-format map key; a FLAG's key is inside the "tf" map
 *   expr    the Arkime expression name rules use for it (detector/expr.c), NULL when rules cannot
 *           name it
 *
 * Users: common/wire.c (keys, order, presence, required keys), common/arkime_page.c (the fields
 * read from a document, FW_ARKIME_FIELDS), common/session.c (init, equality); detector/expr.c is
 * checked against the expr column (tests/unit/test_session_fields.c), the stand-in viewer against
 * the arkime and expr columns (tests/arkime_standin/test_session_fields.py), and
 * tests/support/fwtest.py reads this file for the producer's field list. */
#ifndef FW_SESSION_FIELDS_H
#define FW_SESSION_FIELDS_H

#include <stddef.h>
#include <stdint.h>

#include "session.h"

/* clang-format off */
#define FW_SESSION_FIELDS(X)                                                                       \
        X(ID,            id,                FW_FK_ID,      "id",                   "id",       NULL)             \
        X(ROOT_ID,       root_id,           FW_FK_STR,     "rootId",               "rid",      "rootId")         \
        X(NODE,          node,              FW_FK_STR,     "node",                 "node",     "node")           \
        X(COMMUNITY_ID,  community_id,      FW_FK_STR,     "network.community_id", "cid",      "communityId")    \
        X(FIRST_PACKET,  first_packet_ms,   FW_FK_TIME,    "firstPacket",          "fp",       NULL)             \
        X(LAST_PACKET,   last_packet_ms,    FW_FK_TIME,    "lastPacket",           "lp",       NULL)             \
        X(DB_TIME,       db_time_ms,        FW_FK_DBTIME,  "@timestamp",           "ts",       NULL)             \
        X(SRC_IP,        src_ip,            FW_FK_IP,      "source.ip",            "sip",      "ip.src")         \
        X(DST_IP,        dst_ip,            FW_FK_IP,      "destination.ip",       "dip",      "ip.dst")         \
        X(SRC_PORT,      src_port,          FW_FK_PORT,    "source.port",          "sp",       "port.src")       \
        X(DST_PORT,      dst_port,          FW_FK_PORT,    "destination.port",     "dp",       "port.dst")       \
        X(PROTOCOL,      ip_protocol,       FW_FK_PROTO,   "ipProtocol",           "pr",       "ip.protocol")    \
        X(SRC_PACKETS,   src_packets,       FW_FK_COUNTER, "source.packets",       "spk",      "packets.src")    \
        X(DST_PACKETS,   dst_packets,       FW_FK_COUNTER, "destination.packets",  "dpk",      "packets.dst")    \
        X(SRC_BYTES,     src_bytes,         FW_FK_COUNTER, "source.bytes",         "sby",      "bytes.src")      \
        X(DST_BYTES,     dst_bytes,         FW_FK_COUNTER, "destination.bytes",    "dby",      "bytes.dst")      \
        X(SRC_DATABYTES, src_databytes,     FW_FK_COUNTER, "client.bytes",         "sdb",      "databytes.src")  \
        X(DST_DATABYTES, dst_databytes,     FW_FK_COUNTER, "server.bytes",         "ddb",      "databytes.dst")  \
        X(SYN,           tcpflags.syn,      FW_FK_FLAG,    "tcpflags.syn",         "syn",      "tcpflags.syn")   \
        X(SYN_ACK,       tcpflags.syn_ack,  FW_FK_FLAG,    "tcpflags.syn-ack",     "syn-ack",  "tcpflags.syn-ack") \
        X(ACK,           tcpflags.ack,      FW_FK_FLAG,    "tcpflags.ack",         "ack",      "tcpflags.ack")   \
        X(PSH,           tcpflags.psh,      FW_FK_FLAG,    "tcpflags.psh",         "psh",      "tcpflags.psh")   \
        X(FIN,           tcpflags.fin,      FW_FK_FLAG,    "tcpflags.fin",         "fin",      "tcpflags.fin")   \
        X(RST,           tcpflags.rst,      FW_FK_FLAG,    "tcpflags.rst",         "rst",      "tcpflags.rst")   \
        X(URG,           tcpflags.urg,      FW_FK_FLAG,    "tcpflags.urg",         "urg",      "tcpflags.urg")   \
        X(SRC_ZERO,      tcpflags.src_zero, FW_FK_FLAG,    "tcpflags.srcZero",     "src-zero", NULL)             \
        X(DST_ZERO,      tcpflags.dst_zero, FW_FK_FLAG,    "tcpflags.dstZero",     "dst-zero", NULL)
/* clang-format on */

/* What a field holds. Required ones (ID, TIME, IP, PROTO) must be in every document and record;
 * the others have an "absent" value that fw_session_init sets and the encoder leaves out. */
typedef enum fw_field_kind {
        FW_FK_ID,      /* char[]: non-empty string, required */
        FW_FK_STR,     /* char[]: optional string, "" when absent */
        FW_FK_TIME,    /* int64_t: ms epoch, required */
        FW_FK_DBTIME,  /* int64_t: ms epoch (a document may give ISO-8601 text), FW_ABSENT */
        FW_FK_IP,      /* fw_ip_t: required */
        FW_FK_PORT,    /* uint16_t: 0..65535, 0 when absent */
        FW_FK_PROTO,   /* uint8_t: 0..255, required */
        FW_FK_COUNTER, /* int64_t: 0..FW_COUNTER_MAX, FW_ABSENT when absent */
        FW_FK_FLAG,    /* int32_t: 0..INT32_MAX, FW_ABSENT when absent; a key of the wire's "tf" */
} fw_field_kind_t;

#define FW_FK_REQUIRED(kind)                                                                       \
        ((kind) == FW_FK_ID || (kind) == FW_FK_TIME || (kind) == FW_FK_IP || (kind) == FW_FK_PROTO)

/* FW_SF_ID, FW_SF_ROOT_ID, ...: a field's index in fw_session_fields and in wire order. */
enum fw_session_field_index {
#define FW_SF_ENUM_(name, member, kind, arkime, wire, expr) FW_SF_##name,
        FW_SESSION_FIELDS(FW_SF_ENUM_)
#undef FW_SF_ENUM_
                FW_SF_COUNT
};

typedef struct fw_session_field {
        const char *arkime; /* sessions3 db field, dotted */
        const char *wire;   /* wire-format key (FW_FK_FLAG: key inside "tf") */
        const char *expr;   /* Arkime expression name, or NULL */
        uint8_t kind;       /* fw_field_kind_t */
        uint16_t size;      /* sizeof the member (a string's buffer size) */
        size_t offset;      /* of the member in fw_session_t */
} fw_session_field_t;

extern const fw_session_field_t fw_session_fields[FW_SF_COUNT];

/* The member of s that f describes. */
static inline void *fw_session_field_ptr(fw_session_t *s, const fw_session_field_t *f) {
        return (char *)s + f->offset;
}
static inline const void *fw_session_field_cptr(const fw_session_t *s,
                                                const fw_session_field_t *f) {
        return (const char *)s + f->offset;
}

#endif
