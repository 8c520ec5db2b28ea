/* session: fanwatch's model of one Arkime session record (one SPI document, sessions3 schema).
 *
 * Counters Arkime did not report are FW_ABSENT (-1), as in Arkime's own API. Strings are
 * bounded and NUL-terminated copies, so a session outlives the buffer it was decoded from.
 * Long connections arrive as several records (mid-session saves) sharing root_id. */
#ifndef FW_SESSION_H
#define FW_SESSION_H

#include <stdint.h>

#include "net.h"

#define FW_ABSENT           (-1)
#define FW_COUNTER_MAX      ((int64_t)1 << 53) /* largest integer JSON (and Arkime) carries exactly */
#define FW_SESSION_ID_MAX   127 /* Arkime ids are ~45 bytes; "consistent" ids are longer */
#define FW_NODE_MAX         63
#define FW_COMMUNITY_ID_MAX 63 /* "1:" + base64(SHA-1) = 30 bytes */

/* Arkime's tcpflags.* counts (number of packets carrying each flag). */
typedef struct fw_tcpflags {
        int32_t syn, syn_ack, ack, psh, fin, rst, urg, src_zero, dst_zero;
} fw_tcpflags_t;

typedef struct fw_session {
        char id[FW_SESSION_ID_MAX + 1];             /* Arkime session id ("3@240518-...") */
        char root_id[FW_SESSION_ID_MAX + 1];        /* rootId, "" unless the session was split */
        char node[FW_NODE_MAX + 1];                 /* capture node name */
        char community_id[FW_COMMUNITY_ID_MAX + 1]; /* "" when absent */
        int64_t first_packet_ms;                    /* firstPacket */
        int64_t last_packet_ms;                     /* lastPacket */
        int64_t db_time_ms; /* @timestamp (write time), FW_ABSENT if unknown */
        fw_ip_t src_ip, dst_ip;
        uint16_t src_port, dst_port;          /* 0 when the protocol has no ports */
        uint8_t ip_protocol;                  /* ipProtocol: 6 tcp, 17 udp, 1 icmp, ... */
        int64_t src_packets, dst_packets;     /* source.packets, destination.packets */
        int64_t src_bytes, dst_bytes;         /* source.bytes, destination.bytes */
        int64_t src_databytes, dst_databytes; /* client.bytes, server.bytes (payload) */
        fw_tcpflags_t tcpflags;               /* all FW_ABSENT when not reported */
} fw_session_t;

/* Reset to an empty session: strings empty, counters and times FW_ABSENT, addresses unset. */
void fw_session_init(fw_session_t *s);

/* Field-by-field equality (strings, times, addresses, ports, counters, flags). */
int fw_session_equal(const fw_session_t *a, const fw_session_t *b);

/* Total packets / bytes / payload bytes, or FW_ABSENT if either direction is absent (inline:
 * rules evaluate them per session). */
static inline int64_t fw_session_sum_(int64_t a, int64_t b) {
        return (a < 0 || b < 0) ? FW_ABSENT : a + b;
}
static inline int64_t fw_session_packets(const fw_session_t *s) {
        return fw_session_sum_(s->src_packets, s->dst_packets);
}
static inline int64_t fw_session_bytes(const fw_session_t *s) {
        return fw_session_sum_(s->src_bytes, s->dst_bytes);
}
static inline int64_t fw_session_databytes(const fw_session_t *s) {
        return fw_session_sum_(s->src_databytes, s->dst_databytes);
}

/* Copy src into a bounded string field; returns 0, or -1 if it does not fit or contains NUL. */
int fw_session_set_str(char *field, size_t fieldsize, const char *src, size_t len);

#endif
