/* history: the destinations one source has reached with answered connections recently.
 *
 * The fan-out detections count a session when its connection failed (Zeek's scan policy) or
 * when it was answered by a destination new to the source: a host that reaches the same hosts
 * every few minutes (monitoring, backup, configuration management) then counts nothing, while
 * lateral movement to hosts the source has not talked to does. A destination stays new for a
 * grace period after its first answered contact (every session of a first visit counts, whatever
 * the order they arrive in: 445, then 3389 to the same host) and becomes known after it, for as
 * long as it is contacted again within the history. An open-addressing table of (32-bit
 * fingerprint, first and last contact as 16-bit minutes after the table's base minute), 8 bytes
 * per slot, at least 4 slots, load at most 3/4, entries older than the history dropped when the
 * table is rebuilt (also when event time runs 45 days past the base, which then moves). Not
 * thread-safe.
 */
#ifndef FW_HISTORY_H
#define FW_HISTORY_H

#include <stddef.h>
#include <stdint.h>

typedef struct fw_history_slot {
        uint32_t fp;    /* fingerprint of the destination; 0: free */
        uint16_t first; /* first answered contact, minutes after the table's base */
        uint16_t last;  /* last answered contact */
} fw_history_slot_t;

/* Live destinations one history holds at most, whatever max is given (its counters are 16-bit). */
#define FW_HISTORY_LIMIT 16384

typedef struct fw_history { /* 16 bytes: one per source */
        fw_history_slot_t *slots;
        uint32_t base; /* minutes since 1970 of the slots' minute 0 */
        uint16_t cap;  /* slots, a power of two (0 before the first contact) */
        uint16_t used; /* slots in use (some may have expired) */
} fw_history_t;

/* An empty history (no allocation). */
void fw_history_init(fw_history_t *h);

/* Free the table and reset to empty. */
void fw_history_free(fw_history_t *h);

/* Heap bytes owned (for the engine's memory accounting). */
size_t fw_history_bytes(const fw_history_t *h);

/* Record an answered contact with destination `elem` (a 64-bit hash) at event time t_ms.
 * Returns 1 if the destination is known at t_ms: its first answered contact is at least grace_ms
 * (rounded to whole minutes) before t_ms and its last contact before t_ms within history_ms (a
 * late session finds the contacts after it too); 0 if it is new (also, not recorded, for a
 * session older than the table's base, a history before the source's first contact); -1 on out of
 * memory (nothing recorded). Once max live destinations are known (checked when the table must
 * grow), a new one is not recorded and reported known (1): a source reaching that many hosts
 * with answered connections within the history is a server or a proxy, not a worm. */
int fw_history_contact(fw_history_t *h, uint64_t elem, int64_t t_ms, int64_t history_ms,
                       int64_t grace_ms, uint32_t max);

#endif
