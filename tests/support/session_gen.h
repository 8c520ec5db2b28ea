/* session_gen: deterministic synthetic sessions for tests and benchmarks.
 * fw_gen_session(seed, i) always yields the same session for the same (seed, i), so a consumer
 * can regenerate what a producer sent and compare field by field. Sessions vary every field:
 * IPv4 and IPv6, absent and present counters and flags, split sessions, long ids. */
#ifndef FW_SESSION_GEN_H
#define FW_SESSION_GEN_H

#include <stddef.h>
#include <stdint.h>

#include "session.h"

/* Fill s with session number i of the stream identified by seed. */
void fw_gen_session(uint64_t seed, uint64_t i, fw_session_t *s);

/* Set s's packet, byte and data-byte counters (source then destination side). */
void fw_gen_counts(fw_session_t *s, int64_t src_pk, int64_t dst_pk, int64_t src_by, int64_t dst_by,
                   int64_t src_db, int64_t dst_db);

/* Set s's tcpflags counts, in Arkime's order. */
void fw_gen_flags(fw_session_t *s, int32_t syn, int32_t syn_ack, int32_t ack, int32_t psh,
                  int32_t fin, int32_t rst, int32_t urg, int32_t src_zero, int32_t dst_zero);

/* A TCP connection's counters and flags in s (addresses, ports and times untouched): answered
 * (SYN, SYN-ACK, data both ways: pk packets and by bytes per side, of which db data) or, with
 * answered 0, one unanswered SYN (the other arguments ignored). */
void fw_gen_tcp(fw_session_t *s, int answered, int64_t src_pk, int64_t dst_pk, int64_t src_by,
                int64_t dst_by, int64_t src_db, int64_t dst_db);

/* Sorts v (n > 0) and returns its q-quantile (nearest rank), for error and latency figures. */
double fw_gen_quantile(double *v, size_t n, double q);

/* A fast 64-bit mix (splitmix64) for tests that need pseudo-random numbers. */
uint64_t fw_gen_mix(uint64_t x);

#endif
