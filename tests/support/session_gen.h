/* session_gen: deterministic synthetic sessions for tests and benchmarks.
 * fw_gen_session(seed, i) always yields the same session for the same (seed, i), so a consumer
 * can regenerate what a producer sent and compare field by field. Sessions vary every field:
 * IPv4 and IPv6, absent and present counters and flags, split sessions, long ids. */
#ifndef FW_SESSION_GEN_H
#define FW_SESSION_GEN_H

#include <stdint.h>

#include "session.h"

/* Fill s with session number i of the stream identified by seed. */
void fw_gen_session(uint64_t seed, uint64_t i, fw_session_t *s);

/* A fast 64-bit mix (splitmix64) for tests that need pseudo-random numbers. */
uint64_t fw_gen_mix(uint64_t x);

#endif
