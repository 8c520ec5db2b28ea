/* distinct: sliding-window distinct counter, exact table promoted to a Sliding HyperLogLog.
 * See distinct.h for the contract. */
#include "distinct.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define EMPTY_TS      INT64_MIN
#define RHO_BITS      6
#define RHO_MASK      ((1u << RHO_BITS) - 1u)
#define OFF_LIMIT     (1u << (32 - RHO_BITS)) /* sketch time offsets are < 2^26 ticks */
#define WINDOW_TICKS  (1 << 23)               /* the window is at most 2^23 ticks */
#define LOAD_NUM      4                       /* exact table load factor at most 4/5 */
#define LOAD_DEN      5
#define EXACT_MIN_CAP 8

struct fw_distinct_slot {
        uint64_t hash;
        int64_t ts; /* last sighting; EMPTY_TS marks a free slot */
};

struct fw_distinct {
        int64_t window;
        int64_t newest; /* newest event time added, EMPTY_TS before the first */
        uint32_t exact_max;
        uint8_t p;
        uint8_t exact;
        /* exact regime: linear probing, no deletions (expired entries go on rebuild) */
        struct fw_distinct_slot *slots;
        uint32_t cap;
        uint32_t used;
        /* sketch regime: register r owns pairs[r * CAP .. r * CAP + len[r]) */
        uint32_t *pairs; /* (offset in ticks from base) << RHO_BITS | rho; ts up, rho down */
        uint8_t *len;
        int64_t base;
        int64_t tick; /* ms per tick: 1 unless the window exceeds 2^23 ms */
};

/* t - w without overflow: the newest time that is out of the window ending at t. */
static int64_t cutoff_of(int64_t t, int64_t w) {
        return t < INT64_MIN + w ? INT64_MIN : t - w;
}

fw_distinct_t *fw_distinct_new(const fw_distinct_cfg_t *cfg) {
        fw_distinct_t *d;

        if (cfg == NULL || cfg->window_ms <= 0 || cfg->hll_p < FW_DISTINCT_P_MIN ||
            cfg->hll_p > FW_DISTINCT_P_MAX || cfg->exact_max > UINT32_MAX / 2)
                return NULL;
        d = calloc(1, sizeof(*d));
        if (d == NULL)
                return NULL;
        d->window = cfg->window_ms;
        d->newest = EMPTY_TS;
        d->exact_max = cfg->exact_max;
        d->p = cfg->hll_p;
        d->exact = 1;
        d->tick = 1 + (cfg->window_ms - 1) / WINDOW_TICKS;
        return d;
}

void fw_distinct_free(fw_distinct_t *d) {
        if (d == NULL)
                return;
        free(d->slots);
        free(d->pairs);
        free(d->len);
        free(d);
}

int fw_distinct_is_exact(const fw_distinct_t *d) {
        return d->exact;
}

size_t fw_distinct_bytes(const fw_distinct_t *d) {
        size_t m = (size_t)1 << d->p;

        if (d->exact)
                return sizeof(*d) + (size_t)d->cap * sizeof(struct fw_distinct_slot);
        return sizeof(*d) + m * FW_DISTINCT_LPFM_CAP * sizeof(uint32_t) + m;
}

/* ---- exact regime ---------------------------------------------------------------------- */

static uint32_t home_slot(uint64_t hash, uint32_t cap) {
        return (uint32_t)(((hash >> 32) * (uint64_t)cap) >> 32);
}

/* The slot holding hash, or the free slot where it belongs (the table always has one free). */
static uint32_t find_slot(const struct fw_distinct_slot *slots, uint32_t cap, uint64_t hash) {
        uint32_t i = home_slot(hash, cap);

        while (slots[i].ts != EMPTY_TS && slots[i].hash != hash)
                i = i + 1 == cap ? 0 : i + 1;
        return i;
}

static uint32_t exact_live(const fw_distinct_t *d, int64_t cut) {
        uint32_t n = 0;

        for (uint32_t i = 0; i < d->cap; i++)
                if (d->slots[i].ts != EMPTY_TS && d->slots[i].ts > cut)
                        n++;
        return n;
}

/* Moves the entries newer than cut into a fresh table of newcap slots. */
static int exact_rebuild(fw_distinct_t *d, uint32_t newcap, int64_t cut) {
        struct fw_distinct_slot *ns = malloc((size_t)newcap * sizeof(*ns));
        uint32_t used = 0;

        if (ns == NULL)
                return -1;
        for (uint32_t i = 0; i < newcap; i++)
                ns[i].ts = EMPTY_TS;
        for (uint32_t i = 0; i < d->cap; i++) {
                if (d->slots[i].ts == EMPTY_TS || d->slots[i].ts <= cut)
                        continue;
                ns[find_slot(ns, newcap, d->slots[i].hash)] = d->slots[i];
                used++;
        }
        free(d->slots);
        d->slots = ns;
        d->cap = newcap;
        d->used = used;
        return 0;
}

static int fits(uint32_t n, uint32_t cap) {
        return (uint64_t)n * LOAD_DEN <= (uint64_t)cap * LOAD_NUM;
}

/* Capacity for `live` entries plus one new one, growing by half while purges free little. */
static uint32_t exact_target_cap(const fw_distinct_t *d, uint32_t live) {
        uint32_t maxcap = (uint32_t)(((uint64_t)d->exact_max + 1) * LOAD_DEN / LOAD_NUM + 1);
        uint32_t cap = d->cap;

        if (cap >= EXACT_MIN_CAP && fits(live + 1, cap) && (uint64_t)live * 2 <= cap)
                return cap;
        if (cap < EXACT_MIN_CAP)
                cap = EXACT_MIN_CAP;
        while (!fits(live + 1, cap) || (uint64_t)live * 2 > cap) {
                if (cap >= maxcap)
                        break;
                cap += cap / 2;
        }
        if (cap > maxcap)
                cap = maxcap;
        return cap;
}

/* ---- sketch regime --------------------------------------------------------------------- */

static uint32_t pair_off(uint32_t pr) {
        return pr >> RHO_BITS;
}

static uint32_t pair_rho(uint32_t pr) {
        return pr & RHO_MASK;
}

/* Drops pairs that are out of the window ending at the newest time, shifting the list down. */
static void lpfm_expire(const fw_distinct_t *d, uint32_t *list, uint8_t *n) {
        int64_t cut = cutoff_of(d->newest, d->window) - d->base;
        uint32_t k = 0;

        while (k < *n && (int64_t)pair_off(list[k]) * d->tick <= cut)
                k++;
        if (k > 0) {
                memmove(list, list + k, (size_t)(*n - k) * sizeof(*list));
                *n = (uint8_t)(*n - k);
        }
}

/* Moves the base to newest - window so offsets stay below 2^26 ticks; drops expired pairs. */
static void sketch_rebase(fw_distinct_t *d) {
        size_t m = (size_t)1 << d->p;
        int64_t shift = (cutoff_of(d->newest, d->window) - d->base) / d->tick;

        if (shift <= 0)
                return;
        d->base += shift * d->tick;
        for (size_t r = 0; r < m; r++) {
                uint32_t *list = d->pairs + r * FW_DISTINCT_LPFM_CAP;
                uint8_t n = 0;

                for (uint8_t i = 0; i < d->len[r]; i++) {
                        if ((int64_t)pair_off(list[i]) <= shift)
                                continue;
                        list[n++] = (uint32_t)(((int64_t)pair_off(list[i]) - shift) << RHO_BITS) |
                                    pair_rho(list[i]);
                }
                d->len[r] = n;
        }
}

/* Inserts a sighting (ts > newest - window) into its register's LPFM. */
static void sketch_add(fw_distinct_t *d, uint64_t hash, int64_t ts) {
        uint32_t r = (uint32_t)(hash >> (64 - d->p));
        uint64_t w = hash << d->p;
        uint32_t rho = w == 0 ? (uint32_t)(64 - d->p + 1) : (uint32_t)__builtin_clzll(w) + 1;
        int64_t off = (ts - d->base + d->tick - 1) / d->tick; /* rounded up: never expires early */
        uint32_t *list;
        uint8_t *n;
        uint32_t i0, i1, k;

        if (off >= (int64_t)OFF_LIMIT) {
                sketch_rebase(d);
                off = (ts - d->base + d->tick - 1) / d->tick;
        }
        list = d->pairs + (size_t)r * FW_DISTINCT_LPFM_CAP;
        n = &d->len[r];
        lpfm_expire(d, list, n);

        /* Dominated if a pair at least as late has a rho at least as large; rho decreases with
         * time, so only the first pair with off >= this one needs checking. */
        for (i0 = 0; i0 < *n && (int64_t)pair_off(list[i0]) < off; i0++)
                ;
        if (i0 < *n && pair_rho(list[i0]) >= rho)
                return;
        /* It dominates the pairs no later with rho no larger: a suffix of [0, i1). */
        for (i1 = i0; i1 < *n && (int64_t)pair_off(list[i1]) == off; i1++)
                ;
        for (k = 0; k < i1 && pair_rho(list[k]) > rho; k++)
                ;
        if (k == i1 && *n == FW_DISTINCT_LPFM_CAP) { /* full: drop the oldest pair */
                if (k == 0)
                        return; /* the new pair would be the oldest one itself */
                memmove(list, list + 1, (size_t)(*n - 1) * sizeof(*list));
                (*n)--;
                k--;
                i1--;
        }
        memmove(list + k + 1, list + i1, (size_t)(*n - i1) * sizeof(*list));
        *n = (uint8_t)(*n - (i1 - k) + 1);
        list[k] = (uint32_t)(off << RHO_BITS) | rho;
}

/* Allocates the registers and moves every live exact entry into them. */
static int promote(fw_distinct_t *d) {
        size_t m = (size_t)1 << d->p;
        int64_t cut = cutoff_of(d->newest, d->window);

        d->pairs = malloc(m * FW_DISTINCT_LPFM_CAP * sizeof(uint32_t));
        d->len = calloc(m, 1);
        if (d->pairs == NULL || d->len == NULL) {
                free(d->pairs);
                free(d->len);
                d->pairs = NULL;
                d->len = NULL;
                return -1;
        }
        d->base = cut;
        for (uint32_t i = 0; i < d->cap; i++)
                if (d->slots[i].ts != EMPTY_TS && d->slots[i].ts > cut)
                        sketch_add(d, d->slots[i].hash, d->slots[i].ts);
        free(d->slots);
        d->slots = NULL;
        d->cap = 0;
        d->used = 0;
        d->exact = 0;
        return 0;
}

/* ---- public ---------------------------------------------------------------------------- */

int fw_distinct_add(fw_distinct_t *d, uint64_t hash, int64_t ts_ms) {
        int64_t old_newest = d->newest;
        uint32_t i;

        if (ts_ms == EMPTY_TS)
                return 0;
        if (d->newest != EMPTY_TS && ts_ms <= cutoff_of(d->newest, d->window))
                return 0; /* already out of every window still to be queried */
        if (d->newest == EMPTY_TS || ts_ms > d->newest)
                d->newest = ts_ms;
        if (!d->exact) {
                sketch_add(d, hash, ts_ms);
                return 0;
        }
        if (d->cap > 0) {
                i = find_slot(d->slots, d->cap, hash);
                if (d->slots[i].ts != EMPTY_TS) {
                        if (ts_ms > d->slots[i].ts)
                                d->slots[i].ts = ts_ms;
                        return 0;
                }
        }
        if (d->used >= d->exact_max || !fits(d->used + 1, d->cap)) {
                int64_t cut = cutoff_of(d->newest, d->window);
                uint32_t live = d->cap > 0 ? exact_live(d, cut) : 0;

                if (live >= d->exact_max) {
                        if (promote(d) != 0) {
                                d->newest = old_newest;
                                return -1;
                        }
                        sketch_add(d, hash, ts_ms);
                        return 0;
                }
                if (exact_rebuild(d, exact_target_cap(d, live), cut) != 0) {
                        d->newest = old_newest;
                        return -1;
                }
        }
        i = find_slot(d->slots, d->cap, hash);
        d->slots[i].hash = hash;
        d->slots[i].ts = ts_ms;
        d->used++;
        return 0;
}

/* Ertl 2017 ("New cardinality estimation algorithms for HyperLogLog sketches", eqs. for sigma
 * and tau): corrections for empty and saturated registers, unbiased over the whole range. */
static double ertl_sigma(double x) {
        double y = 1.0, z = x, prev;

        if (x >= 1.0)
                return INFINITY;
        do {
                x *= x;
                prev = z;
                z += x * y;
                y += y;
        } while (z != prev);
        return z;
}

static double ertl_tau(double x) {
        double y = 1.0, z = 1.0 - x, prev;

        if (x <= 0.0 || x >= 1.0)
                return 0.0;
        do {
                x = sqrt(x);
                prev = z;
                y *= 0.5;
                z -= (1.0 - x) * (1.0 - x) * y;
        } while (z != prev);
        return z / 3.0;
}

/* Improved raw estimator from the register histogram c[0..q+1], q = 64 - p. */
static double ertl_estimate(const uint32_t *c, uint32_t q, size_t m) {
        double md = (double)m, z;

        if (c[0] == m)
                return 0.0;
        z = md * ertl_tau(1.0 - (double)c[q + 1] / md);
        for (uint32_t k = q; k >= 1; k--)
                z = 0.5 * (z + (double)c[k]);
        z += md * ertl_sigma((double)c[0] / md);
        return md * md / (2.0 * log(2.0)) / z;
}

uint64_t fw_distinct_count(fw_distinct_t *d, int64_t now_ms) {
        size_t m = (size_t)1 << d->p;
        int64_t cut = cutoff_of(now_ms, d->window);
        uint32_t hist[64 - FW_DISTINCT_P_MIN + 2]; /* registers per value 0 .. 64 - p + 1 */

        if (d->exact) {
                uint64_t n = 0;

                for (uint32_t i = 0; i < d->cap; i++)
                        if (d->slots[i].ts != EMPTY_TS && d->slots[i].ts > cut &&
                            d->slots[i].ts <= now_ms)
                                n++;
                return n;
        }
        cut -= d->base;
        memset(hist, 0, sizeof(hist));
        for (size_t r = 0; r < m; r++) {
                const uint32_t *list = d->pairs + r * FW_DISTINCT_LPFM_CAP;
                uint32_t rho = 0;

                /* the first pair still in the window has the largest rho of those in it */
                for (uint8_t i = 0; i < d->len[r]; i++) {
                        if ((int64_t)pair_off(list[i]) * d->tick > cut) {
                                rho = pair_rho(list[i]);
                                break;
                        }
                }
                hist[rho]++;
        }
        return (uint64_t)(ertl_estimate(hist, 64u - d->p, m) + 0.5);
}
