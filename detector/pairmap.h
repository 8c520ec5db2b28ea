/* pairmap: a source's first sightings, so that a sub-key (source+port, source+destination) costs
 * nothing until it has a second distinct target.
 *
 * Maps a 64-bit key (the sub-key's hash) to the first element seen for it (a 64-bit hash) and
 * when. Entries older than a caller-given cutoff count as empty. The table grows up to a cap;
 * at the cap an insertion displaces the oldest entry among the FW_PAIRMAP_PROBE slots it may use,
 * so memory per source is bounded (a displaced first sighting is not counted later: the
 * sub-key's count is then one lower until the element is seen again). Key 0 is reserved. */
#ifndef FW_PAIRMAP_H
#define FW_PAIRMAP_H

#include <stddef.h>
#include <stdint.h>

#define FW_PAIRMAP_PROBE 16 /* slots inspected per lookup or insertion */

typedef struct fw_pair {
        uint64_t key; /* 0: free */
        uint64_t elem;
        int64_t ts;
} fw_pair_t;

typedef struct fw_pairmap {
        fw_pair_t *slots;
        uint32_t cap;  /* power of two, 0 before the first insertion */
        uint32_t used; /* occupied slots, live or expired */
} fw_pairmap_t;

/* An empty map that owns nothing. */
void fw_pairmap_init(fw_pairmap_t *m);
void fw_pairmap_free(fw_pairmap_t *m);

/* 1 and the element and time if key has an entry newer than cutoff, else 0. */
int fw_pairmap_get(const fw_pairmap_t *m, uint64_t key, int64_t cutoff, uint64_t *elem,
                   int64_t *ts);

/* Remember key -> (elem, ts), replacing key's entry if any. Grows while cap < max_cap (dropping
 * entries not newer than cutoff), else displaces. Returns 1 if a live entry of another key was
 * displaced, 0 if not, -1 on out of memory (map unchanged). */
int fw_pairmap_put(fw_pairmap_t *m, uint64_t key, uint64_t elem, int64_t ts, int64_t cutoff,
                   uint32_t max_cap);

/* Forget key's entry (no-op if absent). */
void fw_pairmap_del(fw_pairmap_t *m, uint64_t key);

/* Heap bytes owned by the map. */
size_t fw_pairmap_bytes(const fw_pairmap_t *m);

#endif
