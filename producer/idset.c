#include "idset.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

/* hash 0 marks an empty slot; a real hash of 0 is stored as 1. */
struct fw_idset_slot {
        uint64_t hash;
        int64_t ts_ms;
};

static uint64_t id_hash(const char *id, size_t len) {
        uint64_t h = XXH3_64bits(id, len);
        return h ? h : 1;
}

void fw_idset_init(fw_idset_t *s) {
        memset(s, 0, sizeof(*s));
}

void fw_idset_free(fw_idset_t *s) {
        free(s->slots);
        memset(s, 0, sizeof(*s));
}

static struct fw_idset_slot *find(struct fw_idset_slot *slots, size_t cap, uint64_t h) {
        size_t i = (size_t)h & (cap - 1);
        while (slots[i].hash && slots[i].hash != h)
                i = (i + 1) & (cap - 1);
        return &slots[i];
}

/* Rebuild into a table of newcap slots, keeping entries with ts_ms >= cutoff_ms. */
static int rebuild(fw_idset_t *s, size_t newcap, int64_t cutoff_ms) {
        struct fw_idset_slot *n = calloc(newcap, sizeof(*n));
        if (!n)
                return -1;
        size_t count = 0;
        for (size_t i = 0; i < s->cap; i++) {
                if (s->slots[i].hash && s->slots[i].ts_ms >= cutoff_ms) {
                        *find(n, newcap, s->slots[i].hash) = s->slots[i];
                        count++;
                }
        }
        free(s->slots);
        s->slots = n;
        s->cap = newcap;
        s->count = count;
        return 0;
}

int fw_idset_add(fw_idset_t *s, const char *id, size_t len, int64_t ts_ms) {
        uint64_t h = id_hash(id, len);
        if (s->cap && find(s->slots, s->cap, h)->hash == h)
                return 0;
        /* keep the load factor at or below 1/2 */
        if ((s->count + 1) * 2 > s->cap && rebuild(s, s->cap ? s->cap * 2 : 1024, INT64_MIN) != 0)
                return -1;
        struct fw_idset_slot *slot = find(s->slots, s->cap, h);
        slot->hash = h;
        slot->ts_ms = ts_ms;
        s->count++;
        return 1;
}

int fw_idset_contains(const fw_idset_t *s, const char *id, size_t len) {
        if (!s->cap)
                return 0;
        uint64_t h = id_hash(id, len);
        return find(s->slots, s->cap, h)->hash == h;
}

size_t fw_idset_prune(fw_idset_t *s, int64_t cutoff_ms) {
        size_t before = s->count;
        if (!s->cap)
                return 0;
        /* shrink when mostly empty afterwards, but never below the initial size */
        size_t live = 0;
        for (size_t i = 0; i < s->cap; i++)
                live += s->slots[i].hash && s->slots[i].ts_ms >= cutoff_ms;
        size_t cap = s->cap;
        while (cap > 1024 && live * 8 < cap)
                cap /= 2;
        if (live == before && cap == s->cap)
                return 0;
        if (rebuild(s, cap, cutoff_ms) != 0)
                return 0; /* out of memory: keep everything, prune later */
        return before - s->count;
}
