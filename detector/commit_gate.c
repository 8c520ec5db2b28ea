/* commit_gate: the commit rule of one partition; see commit_gate.h. */
#include "commit_gate.h"

#include "session.h"

void fw_gate_init(fw_gate_t *g) {
        g->head = g->tail = NULL;
        g->waiting = 0;
        g->processed = -1;
        g->clock_processed = FW_ABSENT;
        g->committed = -1;
}

void fw_gate_push(fw_gate_t *g, fw_gate_item_t *it, int64_t offset, int64_t clock_before) {
        it->next = NULL;
        it->offset = offset;
        it->clock_before = clock_before; /* not the state: its report may have come already */
        if (g->tail != NULL)
                g->tail->next = it;
        else
                g->head = it;
        g->tail = it;
        g->waiting++;
}

void fw_gate_processed(fw_gate_t *g, int64_t next, int64_t clock) {
        g->processed = next;
        g->clock_processed = clock;
}

int fw_gate_report(fw_gate_item_t *it, int ok) {
        /* one swap: either the release saw it in flight and made it an orphan (freed here), or
         * the release sees it reported and frees it itself */
        return atomic_exchange(&it->state, ok ? FW_GATE_DELIVERED : FW_GATE_FAILED) ==
               FW_GATE_ORPHAN;
}

size_t fw_gate_settle(fw_gate_t *g, fw_gate_free_fn free_fn, fw_gate_resend_fn resend, void *ud) {
        size_t released = 0;
        while (g->head != NULL && atomic_load(&g->head->state) == FW_GATE_DELIVERED) {
                fw_gate_item_t *it = g->head;
                g->head = it->next;
                if (g->head == NULL)
                        g->tail = NULL;
                g->waiting--;
                free_fn(it, ud);
                released++;
        }
        for (fw_gate_item_t *it = g->head; it != NULL; it = it->next)
                if (atomic_load(&it->state) == FW_GATE_FAILED && resend != NULL)
                        (void)resend(it, ud);
        return released;
}

int fw_gate_safe(const fw_gate_t *g, int64_t *offset, int64_t *clock) {
        if (g->head != NULL) {
                *offset = g->head->offset;
                *clock = g->head->clock_before;
        } else {
                *offset = g->processed;
                *clock = g->clock_processed;
        }
        return *offset >= 0 && *offset > g->committed;
}

void fw_gate_commit_sent(fw_gate_t *g, int64_t offset) {
        g->committed = offset;
}

void fw_gate_commit_failed(fw_gate_t *g) {
        g->committed = -1;
}

size_t fw_gate_release(fw_gate_t *g, fw_gate_free_fn free_fn, void *ud) {
        size_t n = 0;
        for (fw_gate_item_t *it = g->head, *next; it != NULL; it = next) {
                next = it->next;
                n++;
                int in_flight = FW_GATE_IN_FLIGHT;
                if (!atomic_compare_exchange_strong(&it->state, &in_flight, FW_GATE_ORPHAN))
                        free_fn(it, ud); /* reported already; else its report frees it */
        }
        fw_gate_init(g); /* nothing offered: a lost partition commits nothing after this */
        return n;
}
