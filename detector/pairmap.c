/* pairmap: bounded first-sighting map; see pairmap.h. Linear probing limited to
 * FW_PAIRMAP_PROBE slots; deletion marks the slot expired (ts = INT64_MIN) so probe chains stay
 * intact. */
#include "pairmap.h"

#include <stdlib.h>

#define MIN_CAP 4u

void fw_pairmap_init(fw_pairmap_t *m) {
        m->slots = NULL;
        m->cap = 0;
        m->used = 0;
}

void fw_pairmap_free(fw_pairmap_t *m) {
        free(m->slots);
        fw_pairmap_init(m);
}

size_t fw_pairmap_bytes(const fw_pairmap_t *m) {
        return (size_t)m->cap * sizeof(fw_pair_t);
}

int fw_pairmap_get(const fw_pairmap_t *m, uint64_t key, int64_t cutoff, uint64_t *elem,
                   int64_t *ts) {
        if (m->cap == 0)
                return 0;
        uint32_t mask = m->cap - 1;
        uint32_t probes = m->cap < FW_PAIRMAP_PROBE ? m->cap : FW_PAIRMAP_PROBE;
        for (uint32_t i = 0, s = (uint32_t)key & mask; i < probes; i++, s = (s + 1) & mask) {
                const fw_pair_t *p = &m->slots[s];
                if (p->key == 0)
                        return 0;
                if (p->key == key) {
                        if (p->ts <= cutoff)
                                return 0;
                        *elem = p->elem;
                        *ts = p->ts;
                        return 1;
                }
        }
        return 0;
}

/* Insert without growing: the key's own slot, else the first free or expired slot in the probe
 * window, else (if may_displace) the oldest one there. Returns 1 if a live entry was displaced,
 * or -2 (map unchanged) if the window is full of live entries and !may_displace. */
static int place(fw_pairmap_t *m, uint64_t key, uint64_t elem, int64_t ts, int64_t cutoff,
                 int may_displace) {
        uint32_t mask = m->cap - 1;
        uint32_t probes = m->cap < FW_PAIRMAP_PROBE ? m->cap : FW_PAIRMAP_PROBE;
        fw_pair_t *reuse = NULL, *oldest = NULL;
        for (uint32_t i = 0, s = (uint32_t)key & mask; i < probes; i++, s = (s + 1) & mask) {
                fw_pair_t *p = &m->slots[s];
                if (p->key == key) {
                        p->elem = elem;
                        p->ts = ts;
                        return 0;
                }
                if (p->key == 0) {
                        if (reuse == NULL)
                                reuse = p;
                        break; /* the key cannot be further along */
                }
                if (p->ts <= cutoff && reuse == NULL)
                        reuse = p;
                if (oldest == NULL || p->ts < oldest->ts)
                        oldest = p;
        }
        int displaced = 0;
        fw_pair_t *p = reuse;
        if (p == NULL) {
                if (!may_displace)
                        return -2;
                p = oldest;
                displaced = 1;
        }
        if (p->key == 0)
                m->used++;
        p->key = key;
        p->elem = elem;
        p->ts = ts;
        return displaced;
}

static int grow(fw_pairmap_t *m, uint32_t newcap, int64_t cutoff) {
        fw_pairmap_t n = {calloc(newcap, sizeof(fw_pair_t)), newcap, 0};
        if (n.slots == NULL)
                return -1;
        for (uint32_t i = 0; i < m->cap; i++) {
                const fw_pair_t *p = &m->slots[i];
                if (p->key != 0 && p->ts > cutoff)
                        (void)place(&n, p->key, p->elem, p->ts, cutoff, 1);
        }
        free(m->slots);
        *m = n;
        return 0;
}

int fw_pairmap_put(fw_pairmap_t *m, uint64_t key, uint64_t elem, int64_t ts, int64_t cutoff,
                   uint32_t max_cap) {
        if (max_cap < MIN_CAP)
                max_cap = MIN_CAP;
        if (m->cap == 0) {
                if (grow(m, MIN_CAP, cutoff) < 0)
                        return -1;
        } else if ((uint64_t)(m->used + 1) * 4 > (uint64_t)m->cap * 3 && m->cap < max_cap) {
                /* Rebuild: drops expired entries, doubles only if the live ones need it. */
                uint32_t live = 0;
                for (uint32_t i = 0; i < m->cap; i++)
                        live += m->slots[i].key != 0 && m->slots[i].ts > cutoff;
                uint32_t newcap = m->cap;
                if ((uint64_t)(live + 1) * 2 > newcap)
                        newcap *= 2;
                if (grow(m, newcap, cutoff) < 0)
                        return -1;
        }
        /* Below the cap a probe window full of live entries grows the map rather than displace
         * (at 75% load linear probing makes such runs of FW_PAIRMAP_PROBE slots common). */
        int r;
        while ((r = place(m, key, elem, ts, cutoff, m->cap >= max_cap)) == -2)
                if (grow(m, m->cap * 2, cutoff) < 0)
                        return -1;
        return r;
}

void fw_pairmap_del(fw_pairmap_t *m, uint64_t key) {
        if (m->cap == 0)
                return;
        uint32_t mask = m->cap - 1;
        uint32_t probes = m->cap < FW_PAIRMAP_PROBE ? m->cap : FW_PAIRMAP_PROBE;
        for (uint32_t i = 0, s = (uint32_t)key & mask; i < probes; i++, s = (s + 1) & mask) {
                fw_pair_t *p = &m->slots[s];
                if (p->key == 0)
                        return;
                if (p->key == key) {
                        p->ts = INT64_MIN;
                        return;
                }
        }
}
