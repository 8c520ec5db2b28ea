/* commit_gate: the detector's commit rule for one partition, with no Kafka in it.
 *
 * The alerts a partition's messages raise wait here, in the order they were raised (so in
 * offset order), until Kafka acknowledges them. The offset safe to commit is the offset of the
 * oldest alert not yet acknowledged or, with none waiting, the last processed offset + 1; it is
 * committed with the partition's event-time clock before that message, so that a new owner
 * rebuilds the same state (consumer.h). A crash therefore re-reads, and re-raises with the same
 * ids, whatever was not acknowledged; a failed delivery is produced again, never skipped. When
 * the partition is revoked or lost, the alerts still in flight are handed to their delivery
 * reports (orphaned): the report frees them, and nothing of the old gate is committed after.
 *
 * A released gate offers nothing to commit: a lost partition commits nothing, a revoked one
 * commits what was safe before its release.
 *
 * Threads: a gate is changed under its partition's lock; fw_gate_report may run on another
 * thread (the delivery report): it only swaps the item's atomic state, so that exactly one of
 * fw_gate_release and fw_gate_report hands a released item back to be freed. */
#ifndef FW_COMMIT_GATE_H
#define FW_COMMIT_GATE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* An item's state. FW_GATE_ORPHAN: released while in flight, its delivery report frees it. */
enum { FW_GATE_IN_FLIGHT, FW_GATE_DELIVERED, FW_GATE_FAILED, FW_GATE_ORPHAN };

/* One alert waiting for its acknowledgement; embed it first in the caller's own record. */
typedef struct fw_gate_item {
        struct fw_gate_item *next;
        int64_t offset;       /* the message that raised it */
        int64_t clock_before; /* the partition's event-time clock before that message */
        _Atomic int state;    /* FW_GATE_IN_FLIGHT, _DELIVERED, _FAILED or _ORPHAN */
} fw_gate_item_t;

typedef struct fw_gate {
        fw_gate_item_t *head, *tail; /* waiting, oldest first */
        size_t waiting;
        int64_t processed;       /* last processed offset + 1; -1 before the first */
        int64_t clock_processed; /* the clock after it */
        int64_t committed;       /* the offset last committed (or being committed); -1 none */
} fw_gate_t;

/* Called for an item leaving the gate (acknowledged, or dropped with its partition). */
typedef void (*fw_gate_free_fn)(fw_gate_item_t *it, void *ud);

/* Called for a failed item to produce it again: 0 if queued (the callee marks it in flight),
 * -1 if not (it stays failed and is tried at the next settle). */
typedef int (*fw_gate_resend_fn)(fw_gate_item_t *it, void *ud);

/* An empty gate: nothing processed, nothing committed. */
void fw_gate_init(fw_gate_t *g);

/* Append an alert raised by the message at offset (clock_before: the clock before it). Its state
 * is the caller's: FW_GATE_IN_FLIGHT (0) when it was produced, and its delivery report may set
 * it before the push. */
void fw_gate_push(fw_gate_t *g, fw_gate_item_t *it, int64_t offset, int64_t clock_before);

/* The messages before next (an offset) are handled; clock is the partition's clock after them. */
void fw_gate_processed(fw_gate_t *g, int64_t next, int64_t clock);

/* The delivery report of it (ok: acknowledged). Returns 1 when it is an orphan, which the caller
 * must free now; else 0 (the gate releases it at a settle). */
int fw_gate_report(fw_gate_item_t *it, int ok);

/* Release the acknowledged items at the head (free_fn) and resend the failed ones (resend).
 * Returns the items released. */
size_t fw_gate_settle(fw_gate_t *g, fw_gate_free_fn free_fn, fw_gate_resend_fn resend, void *ud);

/* The offset safe to commit, and the clock to record with it (FW_ABSENT before any); 1 when it
 * is beyond the offset last committed, else 0. */
int fw_gate_safe(const fw_gate_t *g, int64_t *offset, int64_t *clock);

/* A commit of offset was sent (fw_gate_safe stops offering it) / it failed (offer it again). */
void fw_gate_commit_sent(fw_gate_t *g, int64_t offset);
void fw_gate_commit_failed(fw_gate_t *g);

/* Give the partition up (revoked or lost): items in flight become orphans (their report frees
 * them), the others are freed now; the gate is empty after and offers nothing to commit (as
 * fw_gate_init). Returns the items it held. */
size_t fw_gate_release(fw_gate_t *g, fw_gate_free_fn free_fn, void *ud);

#endif
