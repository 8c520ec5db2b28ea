/* idset: the Arkime session ids published recently, to drop the ones the overlap re-reads.
 *
 * Stores a 64-bit XXH3 hash of each id with its @timestamp (16 bytes per id) in an open-
 * addressing table that grows as needed; entries older than a cut-off are pruned. Two distinct
 * ids collide with probability about n^2 / 2^65 (1e-8 for 600,000 ids): a collision would skip
 * one session, which is why the overlap it guards is kept short. */
#ifndef FW_IDSET_H
#define FW_IDSET_H

#include <stddef.h>
#include <stdint.h>

typedef struct fw_idset {
        struct fw_idset_slot *slots;
        size_t cap;   /* power of two, or 0 */
        size_t count; /* live entries */
} fw_idset_t;

void fw_idset_init(fw_idset_t *s);
void fw_idset_free(fw_idset_t *s);

/* Add id (len bytes) seen with time ts_ms. Returns 1 if it was new, 0 if already present,
 * -1 on allocation failure (the set is unchanged). */
int fw_idset_add(fw_idset_t *s, const char *id, size_t len, int64_t ts_ms);

/* True if id is present. */
int fw_idset_contains(const fw_idset_t *s, const char *id, size_t len);

/* Drop every entry with ts_ms < cutoff_ms; returns how many were dropped. */
size_t fw_idset_prune(fw_idset_t *s, int64_t cutoff_ms);

#endif
