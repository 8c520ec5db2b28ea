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
        return (size_t)h->cap * sizeof(uint64_t);
}

/* Minutes since 1970, floored (also before 1970), clamped to 32 bits. */
static uint32_t minute_of(int64_t t_ms) {
        int64_t m = t_ms / MS_PER_MIN;
        if (t_ms % MS_PER_MIN != 0 && t_ms < 0)
                m--;
        return m < 0 ? 0 : m > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)m;
}

static uint32_t fingerprint(uint64_t elem) {
        uint32_t fp = (uint32_t)(elem >> 32) ^ (uint32_t)elem;
        return fp ? fp : 1;
}

static uint32_t find(const uint64_t *slots, uint32_t cap, uint32_t fp) {
        uint32_t mask = cap - 1;
        uint32_t i = (fp * 0x9e3779b1u) & mask;
        while (slots[i] != 0 && (uint32_t)(slots[i] >> 32) != fp)
                i = (i + 1) & mask;
        return i;
}

/* Rebuild into a table sized for the live entries (last contact >= oldest) plus one. */
static int rebuild(fw_history_t *h, uint32_t oldest) {
        uint32_t live = 0;
        for (uint32_t i = 0; i < h->cap; i++)
                live += h->slots[i] != 0 && (uint32_t)h->slots[i] >= oldest;
        uint32_t cap = 8;
        while ((uint64_t)(live + 1) * 2 > cap)
                cap *= 2;
        uint64_t *n = calloc(cap, sizeof(*n));
        if (n == NULL)
                return -1;
        for (uint32_t i = 0; i < h->cap; i++)
                if (h->slots[i] != 0 && (uint32_t)h->slots[i] >= oldest)
                        n[find(n, cap, (uint32_t)(h->slots[i] >> 32))] = h->slots[i];
        free(h->slots);
        h->slots = n;
        h->cap = cap;
        h->used = live;
        return 0;
}

int fw_history_contact(fw_history_t *h, uint64_t elem, int64_t t_ms, int64_t history_ms,
                       uint32_t max) {
        uint32_t fp = fingerprint(elem), now = minute_of(t_ms);
        uint32_t span = (uint32_t)((history_ms + MS_PER_MIN - 1) / MS_PER_MIN);
        uint32_t oldest = now > span ? now - span : 0;
        if (h->cap != 0) {
                uint32_t i = find(h->slots, h->cap, fp);
                if (h->slots[i] != 0) {
                        uint32_t last = (uint32_t)h->slots[i];
                        int known = last >= oldest;
                        if (now > last)
                                h->slots[i] = (uint64_t)fp << 32 | now;
                        return known;
                }
        }
        if ((uint64_t)(h->used + 1) * 2 > h->cap) {
                /* full: drop the expired entries first; at max live ones, stop learning */
                if (h->cap != 0) {
                        uint32_t live = 0;
                        for (uint32_t i = 0; i < h->cap; i++)
                                live += h->slots[i] != 0 && (uint32_t)h->slots[i] >= oldest;
                        if (live >= max)
                                return 1;
                }
                if (rebuild(h, oldest) < 0)
                        return -1;
        }
        h->slots[find(h->slots, h->cap, fp)] = (uint64_t)fp << 32 | now;
        h->used++;
        return 0;
}
