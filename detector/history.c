/* history: a source's recently answered destinations; see history.h. */
#include "history.h"

#include <stdlib.h>

#define MS_PER_MIN 60000

void fw_history_init(fw_history_t *h) {
        h->slots = NULL;
        h->cap = 0;
        h->used = 0;
}

void fw_history_free(fw_history_t *h) {
        free(h->slots);
        fw_history_init(h);
}

size_t fw_history_bytes(const fw_history_t *h) {
        return (size_t)h->cap * sizeof(fw_history_slot_t);
}

/* Minutes since 1970, floored (also before 1970), clamped to 32 bits. */
static uint32_t minute_of(int64_t t_ms) {
        int64_t m = t_ms / MS_PER_MIN;
        if (t_ms % MS_PER_MIN != 0 && t_ms < 0)
                m--;
        return m < 0 ? 0 : m > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)m;
}

static uint32_t minutes_up(int64_t ms) {
        int64_t m = (ms + MS_PER_MIN - 1) / MS_PER_MIN;
        return m < 0 ? 0 : m > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)m;
}

static uint32_t fingerprint(uint64_t elem) {
        uint32_t fp = (uint32_t)(elem >> 32) ^ (uint32_t)elem;
        return fp ? fp : 1;
}

static uint32_t find(const fw_history_slot_t *slots, uint32_t cap, uint32_t fp) {
        uint32_t mask = cap - 1;
        uint32_t i = (fp * 0x9e3779b1u) & mask;
        while (slots[i].fp != 0 && slots[i].fp != fp)
                i = (i + 1) & mask;
        return i;
}

static uint32_t live_count(const fw_history_t *h, uint32_t oldest) {
        uint32_t live = 0;
        for (uint32_t i = 0; i < h->cap; i++)
                live += h->slots[i].fp != 0 && h->slots[i].last >= oldest;
        return live;
}

/* Rebuild into a table sized for the live entries (last contact >= oldest) plus one. */
static int rebuild(fw_history_t *h, uint32_t oldest) {
        uint32_t live = live_count(h, oldest);
        uint32_t cap = 8;
        while ((uint64_t)(live + 1) * 2 > cap)
                cap *= 2;
        fw_history_slot_t *n = calloc(cap, sizeof(*n));
        if (n == NULL)
                return -1;
        for (uint32_t i = 0; i < h->cap; i++)
                if (h->slots[i].fp != 0 && h->slots[i].last >= oldest)
                        n[find(n, cap, h->slots[i].fp)] = h->slots[i];
        free(h->slots);
        h->slots = n;
        h->cap = cap;
        h->used = live;
        return 0;
}

int fw_history_contact(fw_history_t *h, uint64_t elem, int64_t t_ms, int64_t history_ms,
                       int64_t grace_ms, uint32_t max) {
        uint32_t fp = fingerprint(elem), now = minute_of(t_ms);
        uint32_t span = minutes_up(history_ms), grace = minutes_up(grace_ms);
        uint32_t oldest = now > span ? now - span : 0;
        if (h->cap != 0) {
                fw_history_slot_t *sl = &h->slots[find(h->slots, h->cap, fp)];
                if (sl->fp != 0) {
                        if (sl->last < oldest && now > sl->last) {
                                /* not contacted within the history: a first visit again */
                                sl->first = sl->last = now;
                                return 0;
                        }
                        if (now < sl->first)
                                sl->first = now;
                        if (now > sl->last)
                                sl->last = now;
                        return now - sl->first >= grace;
                }
        }
        if ((uint64_t)(h->used + 1) * 2 > h->cap) {
                /* full: drop the expired entries first; at max live ones, stop learning */
                if (h->cap != 0 && live_count(h, oldest) >= max)
                        return 1;
                if (rebuild(h, oldest) < 0)
                        return -1;
        }
        fw_history_slot_t *sl = &h->slots[find(h->slots, h->cap, fp)];
        sl->fp = fp;
        sl->first = sl->last = now;
        h->used++;
        return 0;
}
