/* distinct: per-key sliding-window distinct counter in event time.
 *
 * Counts the distinct elements (given as 64-bit hashes) sighted in (now - window, now]. Small
 * sets are exact: an open-addressing table of (hash, first and last sighting as 32-bit ms
 * offsets), 16 bytes per slot (at least 4 slots, load at most 4/5), entries kept for `retain_ms`
 * after their last sighting and dropped lazily, behind a 56-byte header; the first 4 slots share
 * the header's allocation (120 B for up to 3 elements,
 * one allocation and one cache line pair per small key). When more than exact_max live elements are
 * seen the counter is promoted, once, to a Sliding HyperLogLog (Chabchoub & Hebrail 2010): 2^hll_p
 * registers, each a list of possible future maxima (LPFM) of at most FW_DISTINCT_LPFM_CAP (ts, rho)
 * pairs packed in 32 bits. Estimate: Ertl's improved HLL estimator; relative standard error 1.04 /
 * sqrt(m) (1.6% at hll_p = 12).
 *
 * Sketch memory: the lists are variable-length. Registers are grouped by 32; each group owns one
 * heap buffer holding its registers' lists back to back (a list is found by summing the length
 * bytes before it), grown to used + used/8 + 2 pairs and shrunk when more than used/4 + 4 are
 * spare. Per key: 120 B header (with the unused inline slots) + 32 B sketch header + 16 B per group
 * + 1 length byte per register
 * + 4 B per stored pair; lists hold 1.3 pairs on average at 10,000 live elements and p = 12,
 * 3.0 at 100,000, 4.6 at 1,000,000 (measured; the number of right-to-left rho records among a
 * register's live sightings). Every quarter window of event time an add sweeps every list, dropping
 * expired pairs and giving back buffer space, so memory follows the live elements; between sweeps
 * an add also expires its own register.
 *
 * Time: any event-time unit works as long as it is used consistently; the names say ms.
 * Exact regime, order independent: an element counts in the window ending at e when its first
 * sighting is <= e and its last is > e - window (between two sightings less than retain_ms apart
 * it counts throughout), so the counts of every window, and fw_distinct_peak, depend on the set of
 * sightings only, not on their order, for sightings within retain_ms of the newest. A sighting
 * older than that is ignored. Sketch regime: sightings older than newest - window are ignored and
 * counts are meant for now >= the newest time added (sightings later than now count as live).
 * Not thread-safe; one counter per key.
 */
#ifndef FW_DISTINCT_H
#define FW_DISTINCT_H

#include <stddef.h>
#include <stdint.h>

/* Maximum pairs kept per sketch register; the oldest (largest rho) pair is dropped beyond it. */
#define FW_DISTINCT_LPFM_CAP 16
#define FW_DISTINCT_P_MIN    4
#define FW_DISTINCT_P_MAX    18

typedef struct fw_distinct_cfg {
        int64_t window_ms; /* window length, > 0 */
        uint32_t
                exact_max; /* exact while live distinct elements <= exact_max (0: sketch at once) */
        uint8_t hll_p;     /* sketch precision, FW_DISTINCT_P_MIN..FW_DISTINCT_P_MAX, m = 2^hll_p */
        int64_t retain_ms; /* exact regime: how long an element is kept after its last sighting,
                            * window + lateness for late sightings (<= window: the window) */
} fw_distinct_cfg_t;

typedef struct fw_distinct fw_distinct_t;

/* Allocates an empty counter; NULL on out of memory or invalid configuration. */
fw_distinct_t *fw_distinct_new(const fw_distinct_cfg_t *cfg);

/* Frees the counter; NULL is a no-op. */
void fw_distinct_free(fw_distinct_t *d);

/* Records a sighting of the element `hash` at event time ts_ms (> INT64_MIN).
 * Returns 0, or -1 on out of memory (the counter is unchanged and still usable). */
int fw_distinct_add(fw_distinct_t *d, uint64_t hash, int64_t ts_ms);

/* fw_distinct_add that also reports, in *changed_from (may be NULL), the earliest end of a window
 * whose count the sighting may have raised (INT64_MAX: none; the windows concerned end before
 * ts_ms + window). */
int fw_distinct_add_ex(fw_distinct_t *d, uint64_t hash, int64_t ts_ms, int64_t *changed_from);

/* Elements stored (exact regime, live or not yet dropped): an upper bound of every count;
 * UINT32_MAX in the sketch regime. */
uint32_t fw_distinct_size(const fw_distinct_t *d);

/* The highest count of the windows ending in [lo_ms, hi_ms], and in *at_ms (may be NULL) the end
 * of the first window reaching it. Exact regime: O(n log n); sketch: the count at hi_ms. */
uint64_t fw_distinct_peak(fw_distinct_t *d, int64_t lo_ms, int64_t hi_ms, int64_t *at_ms);

/* The end of the earliest window ending in [lo_ms, hi_ms] whose count reaches thr, in *at_ms;
 * 1 if there is one, 0 if not. Exact regime only (the sketch keeps no past windows): -1. */
int fw_distinct_first_reach(fw_distinct_t *d, int64_t lo_ms, int64_t hi_ms, uint64_t thr,
                            int64_t *at_ms);

/* Prefetch the memory an add or query of hash will touch (a hint; no effect on the result). */
void fw_distinct_prefetch(const fw_distinct_t *d, uint64_t hash);

/* Distinct elements sighted in (now_ms - window, now_ms] (see above); exact or estimated. */
uint64_t fw_distinct_count(fw_distinct_t *d, int64_t now_ms);

/* 1 while the counter is in the exact regime, 0 once promoted to the sketch. */
int fw_distinct_is_exact(const fw_distinct_t *d);

/* Heap bytes owned by the counter, including the counter itself (for memory caps and metrics):
 * the sizes requested from malloc, allocator headers not included. */
size_t fw_distinct_bytes(const fw_distinct_t *d);

#endif /* FW_DISTINCT_H */
