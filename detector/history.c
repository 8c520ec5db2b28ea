/* history: a source's recently answered destinations; see history.h. */
#include "history.h"
#include "timeutil.h"

#include <stdlib.h>

#define MS_PER_MIN 60000
#define REL_MAX    0xffffu /* the last minute a slot can hold, after the base */

void fw_history_init(fw_history_t *h) {
        h->slots = NULL;
        h->cap = 0;
        h->used = 0;
        h->base = 0;
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
        int64_t m = fw_floor_div(t_ms, MS_PER_MIN);
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

/* Live entries: last contact >= oldest (minutes since 1970). */
static uint32_t live_count(const fw_history_t *h, uint32_t oldest) {
        uint32_t live = 0;
        for (uint32_t i = 0; i < h->cap; i++)
                live += h->slots[i].fp != 0 && h->base + h->slots[i].last >= oldest;
        return live;
}

/* Rebuild into a table sized for the live entries (last contact >= oldest) plus one, its minutes
 * counted from base (<= oldest; an earlier first contact is clamped to it). */
static int rebuild(fw_history_t *h, uint32_t oldest, uint32_t base) {
        uint32_t live = live_count(h, oldest);
        uint32_t cap = 4;
        while ((uint64_t)(live + 1) * 4 > (uint64_t)cap * 3)
                cap *= 2;
        fw_history_slot_t *n = calloc(cap, sizeof(*n));
        if (n == NULL)
                return -1;
        for (uint32_t i = 0; i < h->cap; i++) {
                const fw_history_slot_t *o = &h->slots[i];
                uint32_t first = h->base + o->first, last = h->base + o->last;
                if (o->fp == 0 || last < oldest)
                        continue;
                fw_history_slot_t *sl = &n[find(n, cap, o->fp)];
                sl->fp = o->fp;
                sl->first = (uint16_t)(first > base ? first - base : 0);
                sl->last = (uint16_t)(last - base);
        }
        free(h->slots);
        h->slots = n;
        h->cap = (uint16_t)cap;
        h->used = (uint16_t)live;
        h->base = base;
        return 0;
}

int fw_history_contact(fw_history_t *h, uint64_t elem, int64_t t_ms, int64_t history_ms,
                       int64_t grace_ms, uint32_t max) {
        uint32_t fp = fingerprint(elem), now = minute_of(t_ms);
        if (max > FW_HISTORY_LIMIT)
                max = FW_HISTORY_LIMIT;
        uint32_t span = minutes_up(history_ms), grace = minutes_up(grace_ms);
        if (span > REL_MAX / 2)
                span = REL_MAX / 2; /* detect.history is at most 7 days: 10,080 minutes */
        uint32_t oldest = now > span ? now - span : 0;
        if (h->cap != 0 && now < h->base)
                return 0; /* before the source's history began: new, and not worth a rebase */
        if (h->cap != 0 && now - h->base > REL_MAX) {
                /* event time ran past what 16 bits hold: move the base to the history's start */
                if (rebuild(h, oldest, oldest) < 0)
                        return -1;
        }
        if (h->cap != 0) {
                fw_history_slot_t *sl = &h->slots[find(h->slots, h->cap, fp)];
                if (sl->fp != 0) {
                        uint16_t rel = (uint16_t)(now - h->base);
                        if (h->base + sl->last < oldest && rel > sl->last) {
                                /* not contacted within the history: a first visit again */
                                sl->first = sl->last = rel;
                                return 0;
                        }
                        if (rel < sl->first)
                                sl->first = rel;
                        if (rel > sl->last)
                                sl->last = rel;
                        return (uint32_t)(rel - sl->first) >= grace;
                }
        }
        if ((uint64_t)(h->used + 1) * 4 > (uint64_t)h->cap * 3) {
                /* full: drop the expired entries first; at max live ones, stop learning */
                if (h->cap != 0 && live_count(h, oldest) >= max)
                        return 1;
                if (rebuild(h, oldest, h->cap != 0 ? h->base : oldest) < 0)
                        return -1;
        }
        fw_history_slot_t *sl = &h->slots[find(h->slots, h->cap, fp)];
        sl->fp = fp;
        sl->first = sl->last = (uint16_t)(now - h->base);
        h->used++;
        return 0;
}
