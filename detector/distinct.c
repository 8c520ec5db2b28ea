/* distinct: sliding-window distinct counter, exact table promoted to a Sliding HyperLogLog.
 * See distinct.h for the contract and the memory layout. */
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
#define EXACT_MIN_CAP 4
#define SWEEP_DIV     4 /* sweep every list every window / SWEEP_DIV of event time */
#define GROUP_BITS    5 /* registers per group: 32 */
#define GROUP_REGS    (1u << GROUP_BITS)
#define RETAIN_MAX    ((int64_t)1 << 30) /* exact offsets stay below 2^32 ms with room to rebase */

struct fw_distinct_slot {
        uint64_t hash;
        uint32_t first; /* first and last sighting, ms after fw_distinct.base; last == 0 marks a */
        uint32_t last;  /* free slot */
};

/* The lists of GROUP_REGS consecutive registers, concatenated in register order. */
struct fw_group {
        uint32_t *
                pairs; /* (offset in ticks from base) << RHO_BITS | rho; per list ts up, rho down */
        uint16_t used; /* pairs in use (at most GROUP_REGS * FW_DISTINCT_LPFM_CAP) */
        uint16_t cap;  /* pairs allocated */
};

/* Sketch state, one allocation: this header, the groups, then one length byte per register. */
struct fw_sketch {
        int64_t base;     /* time of offset 0; pairs have offsets >= 1 */
        int64_t tick;     /* ms per tick: 1 unless the window exceeds 2^23 ms */
        int64_t sweep_at; /* newest time at which every list is expired and the base moved */
        uint32_t alloc;   /* pairs allocated over all groups */
        uint32_t ngroups; /* max(1, m / GROUP_REGS) */
        struct fw_group g[];
};

struct fw_distinct {
        int64_t window;
        int64_t newest; /* newest event time added, EMPTY_TS before the first */
        int64_t base;   /* exact: time of slot offset 0 (EMPTY_TS before the first add) */
        union {
                struct fw_distinct_slot *slots; /* exact: linear probing, no deletions */
                struct fw_sketch *sk;           /* sketch */
        } u;
        uint32_t cap;  /* exact: slots allocated */
        uint32_t used; /* exact: slots in use (live or expired) */
        uint32_t exact_max;
        uint32_t retain; /* exact: elements kept while last > newest - retain (>= window) */
        uint8_t p;
        uint8_t exact;
};

/* The slots allocated with the header (see fw_distinct_new). */
static struct fw_distinct_slot *inline_slots(fw_distinct_t *d) {
        return (struct fw_distinct_slot *)(d + 1);
}

static const struct fw_distinct_slot *inline_slots_c(const fw_distinct_t *d) {
        return (const struct fw_distinct_slot *)(d + 1);
}

static void free_slots(fw_distinct_t *d, struct fw_distinct_slot *slots) {
        if (slots != inline_slots(d))
                free(slots);
}

/* t - w without overflow: the newest time that is out of the window ending at t. */
static int64_t cutoff_of(int64_t t, int64_t w) {
        return t < INT64_MIN + w ? INT64_MIN : t - w;
}

/* a + b, saturated at INT64_MAX (b >= 0). */
static int64_t add_sat(int64_t a, int64_t b) {
        return a > INT64_MAX - b ? INT64_MAX : a + b;
}

fw_distinct_t *fw_distinct_new(const fw_distinct_cfg_t *cfg) {
        fw_distinct_t *d;

        if (cfg == NULL || cfg->window_ms <= 0 || cfg->hll_p < FW_DISTINCT_P_MIN ||
            cfg->hll_p > FW_DISTINCT_P_MAX || cfg->exact_max > UINT32_MAX / 2 ||
            cfg->retain_ms < 0 || cfg->window_ms > RETAIN_MAX || cfg->retain_ms > RETAIN_MAX)
                return NULL;
        /* the first EXACT_MIN_CAP slots live right behind the header: one allocation (and one
         * cache miss) for the many small keys */
        d = malloc(sizeof(*d) + EXACT_MIN_CAP * sizeof(struct fw_distinct_slot));
        if (d == NULL)
                return NULL;
        memset(d, 0, sizeof(*d));
        d->u.slots = inline_slots(d);
        d->cap = EXACT_MIN_CAP;
        for (uint32_t i = 0; i < EXACT_MIN_CAP; i++)
                d->u.slots[i].last = 0;
        d->window = cfg->window_ms;
        d->newest = EMPTY_TS;
        d->base = EMPTY_TS;
        d->retain = (uint32_t)(cfg->retain_ms > cfg->window_ms ? cfg->retain_ms : cfg->window_ms);
        d->exact_max = cfg->exact_max;
        d->p = cfg->hll_p;
        d->exact = 1;
        return d;
}

static uint8_t *sk_len(const struct fw_sketch *sk) {
        return (uint8_t *)(sk->g + sk->ngroups);
}

static void sketch_free(struct fw_sketch *sk) {
        if (sk == NULL)
                return;
        for (uint32_t i = 0; i < sk->ngroups; i++)
                free(sk->g[i].pairs);
        free(sk);
}

void fw_distinct_free(fw_distinct_t *d) {
        if (d == NULL)
                return;
        if (d->exact)
                free_slots(d, d->u.slots);
        else
                sketch_free(d->u.sk);
        free(d);
}

int fw_distinct_is_exact(const fw_distinct_t *d) {
        return d->exact;
}

static size_t sketch_fixed_bytes(uint32_t ngroups, size_t m) {
        return sizeof(struct fw_sketch) + ngroups * sizeof(struct fw_group) + m;
}

size_t fw_distinct_bytes(const fw_distinct_t *d) {
        const struct fw_sketch *sk = d->u.sk;

        size_t head = sizeof(*d) + EXACT_MIN_CAP * sizeof(struct fw_distinct_slot);
        if (d->exact)
                return head + (d->u.slots == inline_slots_c(d)
                                       ? 0
                                       : (size_t)d->cap * sizeof(struct fw_distinct_slot));
        return head + sketch_fixed_bytes(sk->ngroups, (size_t)1 << d->p) +
               (size_t)sk->alloc * sizeof(uint32_t);
}

/* ---- exact regime ---------------------------------------------------------------------- */

static uint32_t home_slot(uint64_t hash, uint32_t cap);

void fw_distinct_prefetch(const fw_distinct_t *d, uint64_t hash) {
        if (d->exact && d->cap > 0)
                __builtin_prefetch(&d->u.slots[home_slot(hash, d->cap)]);
}

static uint32_t home_slot(uint64_t hash, uint32_t cap) {
        return (uint32_t)(((hash >> 32) * (uint64_t)cap) >> 32);
}

/* The slot holding hash, or the free slot where it belongs (the table always has one free). */
static uint32_t find_slot(const struct fw_distinct_slot *slots, uint32_t cap, uint64_t hash) {
        uint32_t i = home_slot(hash, cap);

        while (slots[i].last != 0 && slots[i].hash != hash)
                i = i + 1 == cap ? 0 : i + 1;
        return i;
}

/* Times of an exact entry. */
static int64_t slot_last(const fw_distinct_t *d, const struct fw_distinct_slot *s) {
        return d->base + (int64_t)s->last;
}

static int64_t slot_first(const fw_distinct_t *d, const struct fw_distinct_slot *s) {
        return d->base + (int64_t)s->first;
}

/* Entries whose last sighting is after cut. */
static uint32_t exact_live(const fw_distinct_t *d, int64_t cut) {
        uint32_t n = 0;

        for (uint32_t i = 0; i < d->cap; i++)
                if (d->u.slots[i].last != 0 && slot_last(d, &d->u.slots[i]) > cut)
                        n++;
        return n;
}

/* Moves the entries whose last sighting is after cut into a fresh table of newcap slots, with
 * offsets from newbase (every kept time must lie in (newbase, newbase + 2^32)). */
static int exact_rebuild_base(fw_distinct_t *d, uint32_t newcap, int64_t cut, int64_t newbase) {
        struct fw_distinct_slot *ns = malloc((size_t)newcap * sizeof(*ns));
        uint32_t used = 0;

        if (ns == NULL)
                return -1;
        for (uint32_t i = 0; i < newcap; i++)
                ns[i].last = 0;
        for (uint32_t i = 0; i < d->cap; i++) {
                const struct fw_distinct_slot *o = &d->u.slots[i];
                if (o->last == 0 || slot_last(d, o) <= cut)
                        continue;
                int64_t first = slot_first(d, o);
                if (first <= newbase)
                        first = newbase + 1; /* older than any window still queried */
                struct fw_distinct_slot *n = &ns[find_slot(ns, newcap, o->hash)];
                n->hash = o->hash;
                n->first = (uint32_t)(first - newbase);
                n->last = (uint32_t)(slot_last(d, o) - newbase);
                used++;
        }
        free_slots(d, d->u.slots);
        d->u.slots = ns;
        d->cap = newcap;
        d->used = used;
        d->base = newbase;
        return 0;
}

static int exact_rebuild(fw_distinct_t *d, uint32_t newcap, int64_t cut) {
        return exact_rebuild_base(d, newcap, cut, d->base);
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

/* The last tick out of the window ending at t: offsets <= it are expired (-1: none is). */
static int64_t cut_ticks(const fw_distinct_t *d, int64_t t) {
        int64_t cut = cutoff_of(t, d->window);
        const struct fw_sketch *sk = d->u.sk;

        uint64_t diff;

        if (cut < sk->base)
                return -1;
        diff = (uint64_t)cut - (uint64_t)sk->base;
        return (int64_t)(sk->tick == 1 ? diff : diff / (uint64_t)sk->tick);
}

/* Index of register r's first pair in its group: the sum of the lengths before it. */
static uint32_t reg_start(const uint8_t *len, uint32_t r) {
        uint32_t s = r & ~(GROUP_REGS - 1);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        uint64_t acc = 0, w;

        /* bytes <= 16, at most GROUP_REGS / 8 words: byte lanes stay below 256 */
        for (; s + 8 <= r; s += 8) {
                memcpy(&w, len + s, 8);
                acc += w;
        }
        if (s < r) { /* the group is a multiple of 8 registers: this word is in bounds */
                memcpy(&w, len + s, 8);
                acc += w & ((1ull << (8 * (r - s))) - 1);
        }
        acc = (acc & 0x00ff00ff00ff00ffull) + ((acc >> 8) & 0x00ff00ff00ff00ffull);
        return (uint32_t)((acc * 0x0001000100010001ull) >> 48);
#else
        uint32_t n = 0;

        for (; s < r; s++)
                n += len[s];
        return n;
#endif
}

/* Resizes group g's buffer to newcap pairs (>= used); 0, or -1 when growing fails. */
static int group_resize(struct fw_sketch *sk, struct fw_group *g, uint32_t newcap) {
        uint32_t *np;

        if (newcap == 0) {
                free(g->pairs);
                g->pairs = NULL;
        } else {
                np = realloc(g->pairs, (size_t)newcap * sizeof(*np));
                if (np == NULL)
                        return newcap > g->cap ? -1 : 0;
                g->pairs = np;
        }
        sk->alloc = sk->alloc - g->cap + newcap;
        g->cap = (uint16_t)newcap;
        return 0;
}

/* Slack kept after a resize, and the excess that triggers a shrink. */
static uint32_t group_target(uint32_t used) {
        return used == 0 ? 0 : used + used / 8 + 2;
}

static void group_maybe_shrink(struct fw_sketch *sk, struct fw_group *g) {
        if (g->cap > g->used + g->used / 4 + 4 || (g->used == 0 && g->cap > 0))
                (void)group_resize(sk, g, group_target(g->used));
}

/* Replaces the n pairs at s in group g (register r) by src[0..nn). 0, or -1 on out of memory
 * (nothing changed). */
static int group_splice(struct fw_sketch *sk, uint32_t r, uint32_t s, uint32_t n,
                        const uint32_t *src, uint32_t nn) {
        struct fw_group *g = &sk->g[r >> GROUP_BITS];
        uint32_t used = g->used - n + nn, tail = g->used - s - n;

        if (used > g->cap && group_resize(sk, g, group_target(used)) != 0)
                return -1;
        if (tail > 0 && nn != n)
                memmove(g->pairs + s + nn, g->pairs + s + n, (size_t)tail * sizeof(uint32_t));
        if (nn > 0)
                memcpy(g->pairs + s, src, (size_t)nn * sizeof(uint32_t));
        g->used = (uint16_t)used;
        sk_len(sk)[r] = (uint8_t)nn;
        if (nn < n)
                group_maybe_shrink(sk, g);
        return 0;
}

/* Drops every expired pair, moves the base to the last expired tick (offsets stay below about
 * 1.25 windows in ticks) and gives back spare buffer space. */
static void sketch_sweep(fw_distinct_t *d) {
        struct fw_sketch *sk = d->u.sk;
        uint8_t *len = sk_len(sk);
        size_t m = (size_t)1 << d->p;
        int64_t shift = cut_ticks(d, d->newest);
        uint32_t regs = m < GROUP_REGS ? (uint32_t)m : GROUP_REGS;

        if (shift > 0) {
                for (uint32_t gi = 0; gi < sk->ngroups; gi++) {
                        struct fw_group *g = &sk->g[gi];
                        uint32_t rd = 0, wr = 0;

                        if (g->used == 0)
                                continue;
                        for (uint32_t r = gi * regs; r < gi * regs + regs; r++) {
                                uint32_t n = 0;

                                for (uint32_t i = 0; i < len[r]; i++, rd++) {
                                        uint32_t pr = g->pairs[rd];

                                        if ((int64_t)pair_off(pr) <= shift)
                                                continue;
                                        g->pairs[wr++] = (uint32_t)(((int64_t)pair_off(pr) - shift)
                                                                    << RHO_BITS) |
                                                         pair_rho(pr);
                                        n++;
                                }
                                len[r] = (uint8_t)n;
                        }
                        g->used = (uint16_t)wr;
                        group_maybe_shrink(sk, g);
                }
                sk->base += shift * sk->tick;
        }
        /* next sweep once the cutoff is a quarter window (in ticks) past the base again */
        sk->sweep_at = add_sat(add_sat(sk->base, d->window),
                               (1 + (d->window - 1) / sk->tick / SWEEP_DIV) * sk->tick);
}

/* Inserts a sighting (ts > newest - window, ts <= newest) into its register's LPFM.
 * 0, or -1 on out of memory (the register is unchanged). */
static int sketch_add(fw_distinct_t *d, uint64_t hash, int64_t ts) {
        struct fw_sketch *sk = d->u.sk;
        uint8_t *len = sk_len(sk);
        uint32_t r = (uint32_t)(hash >> (64 - d->p));
        uint64_t w = hash << d->p;
        uint32_t rho = w == 0 ? (uint32_t)(64 - d->p + 1) : (uint32_t)__builtin_clzll(w) + 1;
        uint32_t tmp[FW_DISTINCT_LPFM_CAP + 1];
        const uint32_t *list;
        uint32_t s, n, k = 0, nn, i0, i1, j;
        uint64_t diff;
        int64_t off, cut;

        if (d->newest >= sk->sweep_at)
                sketch_sweep(d);
        /* ts > cutoff >= base; the offset is rounded up: never expires early */
        diff = (uint64_t)ts - (uint64_t)sk->base;
        off = sk->tick == 1 ? (int64_t)diff
                            : (int64_t)((diff + (uint64_t)sk->tick - 1) / (uint64_t)sk->tick);
        if (off >= (int64_t)OFF_LIMIT) /* not reached: sweeps keep offsets below ~1.25 windows */
                return 0;
        n = len[r];
        if (n == 0) {
                tmp[0] = (uint32_t)(off << RHO_BITS) | rho;
                return group_splice(sk, r, reg_start(len, r), 0, tmp, 1);
        }
        s = reg_start(len, r);
        list = sk->g[r >> GROUP_BITS].pairs + s;
        cut = cut_ticks(d, d->newest);
        while (k < n && (int64_t)pair_off(list[k]) <= cut)
                k++;
        list += k;
        nn = n - k;

        /* Dominated if a pair at least as late has a rho at least as large; rho decreases with
         * time, so only the first pair with off >= this one needs checking. */
        for (i0 = 0; i0 < nn && (int64_t)pair_off(list[i0]) < off; i0++)
                ;
        if (i0 < nn && pair_rho(list[i0]) >= rho) {
                if (k == 0)
                        return 0;
                memcpy(tmp, list, (size_t)nn * sizeof(*tmp));
                return group_splice(sk, r, s, n, tmp, nn);
        }
        /* It dominates the pairs no later with rho no larger: a suffix of [0, i1). */
        memcpy(tmp, list, (size_t)nn * sizeof(*tmp));
        for (i1 = i0; i1 < nn && (int64_t)pair_off(tmp[i1]) == off; i1++)
                ;
        for (j = 0; j < i1 && pair_rho(tmp[j]) > rho; j++)
                ;
        if (j == i1 && nn == FW_DISTINCT_LPFM_CAP) { /* full: drop the oldest pair */
                if (j == 0) /* the new pair would be the oldest one itself */
                        return k == 0 ? 0 : group_splice(sk, r, s, n, tmp, nn);
                memmove(tmp, tmp + 1, (size_t)(nn - 1) * sizeof(*tmp));
                nn--;
                j--;
                i1--;
        }
        memmove(tmp + j + 1, tmp + i1, (size_t)(nn - i1) * sizeof(*tmp));
        nn = nn - (i1 - j) + 1;
        tmp[j] = (uint32_t)(off << RHO_BITS) | rho;
        return group_splice(sk, r, s, n, tmp, nn);
}

/* Allocates the registers and moves every live exact entry into them. */
static int promote(fw_distinct_t *d) {
        size_t m = (size_t)1 << d->p;
        uint32_t ngroups = m < GROUP_REGS ? 1 : (uint32_t)(m / GROUP_REGS);
        struct fw_sketch *sk = calloc(1, sketch_fixed_bytes(ngroups, m));
        struct fw_distinct_slot *slots = d->u.slots;
        int64_t cut = cutoff_of(d->newest, d->window);

        if (sk == NULL)
                return -1;
        sk->ngroups = ngroups;
        sk->tick = 1 + (d->window - 1) / WINDOW_TICKS;
        sk->base = cut;
        d->u.sk = sk;
        d->exact = 0;
        sketch_sweep(d); /* sets sweep_at */
        for (uint32_t i = 0; i < d->cap; i++) {
                if (slots[i].last == 0 || slot_last(d, &slots[i]) <= cut)
                        continue;
                if (sketch_add(d, slots[i].hash, slot_last(d, &slots[i])) != 0) {
                        sketch_free(sk);
                        d->u.slots = slots;
                        d->exact = 1;
                        return -1;
                }
        }
        free_slots(d, slots);
        d->cap = 0;
        d->used = 0;
        return 0;
}

/* ---- public ---------------------------------------------------------------------------- */

int fw_distinct_add_ex(fw_distinct_t *d, uint64_t hash, int64_t ts_ms, int64_t *changed_from) {
        int64_t old_newest = d->newest;
        int64_t keep = d->exact ? (int64_t)d->retain : d->window;
        uint32_t i;

        if (changed_from != NULL)
                *changed_from = INT64_MAX;
        if (ts_ms == EMPTY_TS)
                return 0;
        if (d->newest != EMPTY_TS && ts_ms <= cutoff_of(d->newest, keep))
                return 0; /* already out of every window still to be queried */
        if (d->newest == EMPTY_TS || ts_ms > d->newest)
                d->newest = ts_ms;
        if (!d->exact) {
                if (sketch_add(d, hash, ts_ms) != 0) {
                        d->newest = old_newest;
                        return -1;
                }
                if (changed_from != NULL)
                        *changed_from = ts_ms;
                return 0;
        }
        if (d->base == EMPTY_TS) {
                d->base = cutoff_of(ts_ms, (int64_t)d->retain + 1);
        } else if (ts_ms - d->base >= (int64_t)UINT32_MAX ||
                   ts_ms - d->base < 1) { /* offsets out of 32 bits: rebase on the retention */
                int64_t nb = cutoff_of(d->newest, (int64_t)d->retain + 1);
                if (ts_ms - nb < 1)
                        nb = ts_ms - 1;
                if (exact_rebuild_base(d, d->cap, cutoff_of(d->newest, d->retain), nb) != 0) {
                        d->newest = old_newest;
                        return -1;
                }
        }
        uint32_t off = (uint32_t)(ts_ms - d->base);
        if (d->cap > 0) {
                i = find_slot(d->u.slots, d->cap, hash);
                struct fw_distinct_slot *sl = &d->u.slots[i];
                if (sl->last != 0 && off > sl->last && (int64_t)(off - sl->last) > d->retain) {
                        /* seen again after more than the retention: a new run of sightings */
                        sl->first = sl->last = off;
                        if (changed_from != NULL)
                                *changed_from = ts_ms;
                        return 0;
                }
                if (sl->last != 0) {
                        int64_t from = INT64_MAX;
                        if (off < sl->first) { /* windows ending in [ts, first) gain it */
                                sl->first = off;
                                from = ts_ms;
                        }
                        if (off > sl->last) { /* ... and those ending in [last + W, ts + W) */
                                int64_t g = slot_last(d, sl) + d->window;
                                if (g < from)
                                        from = g;
                                sl->last = off;
                        }
                        if (changed_from != NULL)
                                *changed_from = from;
                        return 0;
                }
        }
        if (d->used >= d->exact_max || !fits(d->used + 1, d->cap)) {
                int64_t cut = cutoff_of(d->newest, d->retain);
                uint32_t live = d->cap > 0 ? exact_live(d, cut) : 0;

                if (live >= d->exact_max) {
                        /* the sketch keeps one window: an older (late) sighting is dropped */
                        if (promote(d) != 0 || (ts_ms > cutoff_of(d->newest, d->window) &&
                                                sketch_add(d, hash, ts_ms) != 0)) {
                                d->newest = old_newest;
                                return -1;
                        }
                        if (changed_from != NULL)
                                *changed_from = ts_ms;
                        return 0;
                }
                if (exact_rebuild(d, exact_target_cap(d, live), cut) != 0) {
                        d->newest = old_newest;
                        return -1;
                }
        }
        i = find_slot(d->u.slots, d->cap, hash);
        d->u.slots[i].hash = hash;
        d->u.slots[i].first = off;
        d->u.slots[i].last = off;
        d->used++;
        if (changed_from != NULL)
                *changed_from = ts_ms;
        return 0;
}

int fw_distinct_add(fw_distinct_t *d, uint64_t hash, int64_t ts_ms) {
        return fw_distinct_add_ex(d, hash, ts_ms, NULL);
}

uint32_t fw_distinct_size(const fw_distinct_t *d) {
        return d->exact ? d->used : UINT32_MAX;
}

static int cmp_i64(const void *a, const void *b) {
        int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
        return (x > y) - (x < y);
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
        uint32_t regs = m < GROUP_REGS ? (uint32_t)m : GROUP_REGS;
        uint32_t hist[64 - FW_DISTINCT_P_MIN + 2]; /* registers per value 0 .. 64 - p + 1 */
        const struct fw_sketch *sk = d->u.sk;
        const uint8_t *len;
        int64_t cut;

        if (d->exact) {
                int64_t cutms = cutoff_of(now_ms, d->window);
                uint64_t n = 0;

                for (uint32_t i = 0; i < d->cap; i++) {
                        const struct fw_distinct_slot *sl = &d->u.slots[i];
                        if (sl->last != 0 && slot_last(d, sl) > cutms &&
                            slot_first(d, sl) <= now_ms)
                                n++;
                }
                return n;
        }
        len = sk_len(sk);
        cut = cut_ticks(d, now_ms);
        memset(hist, 0, sizeof(hist));
        for (uint32_t gi = 0; gi < sk->ngroups; gi++) {
                const uint32_t *list = sk->g[gi].pairs;

                if (sk->g[gi].used == 0) {
                        hist[0] += regs;
                        continue;
                }
                for (uint32_t r = gi * regs; r < gi * regs + regs; r++) {
                        uint32_t rho = 0;

                        /* the first pair still in the window has the largest rho of those in it */
                        for (uint32_t i = 0; i < len[r]; i++) {
                                if ((int64_t)pair_off(list[i]) > cut) {
                                        rho = pair_rho(list[i]);
                                        break;
                                }
                        }
                        list += len[r];
                        hist[rho]++;
                }
        }
        return (uint64_t)(ertl_estimate(hist, 64u - d->p, m) + 0.5);
}

/* Scan the windows ending in [lo, hi] in increasing order (count(e) rises only at a first
 * sighting: the candidates are lo and the first sightings in (lo, hi]). With thr > 0, stop at the
 * first window reaching thr (returns its count, 0 if none); else the highest count. */
static uint64_t scan_windows(fw_distinct_t *d, int64_t lo_ms, int64_t hi_ms, uint64_t thr,
                             int64_t *at_ms) {
        uint32_t n = 0;
        int64_t stack_f[64], stack_l[64];
        int64_t *f = stack_f, *l = stack_l;
        if (d->used > 64) {
                f = malloc((size_t)d->used * 2 * sizeof(int64_t));
                if (f == NULL) {
                        *at_ms = hi_ms; /* best effort */
                        uint64_t c = fw_distinct_count(d, hi_ms);
                        return thr == 0 || c >= thr ? c : 0;
                }
                l = f + d->used;
        }
        for (uint32_t i = 0; i < d->cap; i++) {
                const struct fw_distinct_slot *sl = &d->u.slots[i];
                if (sl->last == 0)
                        continue;
                f[n] = slot_first(d, sl);
                l[n] = slot_last(d, sl);
                n++;
        }
        qsort(f, n, sizeof(*f), cmp_i64);
        qsort(l, n, sizeof(*l), cmp_i64);
        uint64_t best = 0;
        int64_t best_at = hi_ms;
        uint32_t a = 0, b = 0;
        for (uint32_t c = 0; c <= n; c++) {
                int64_t e;
                if (c == 0) {
                        e = lo_ms;
                } else {
                        e = f[c - 1];
                        if (e <= lo_ms)
                                continue;
                        if (e > hi_ms)
                                break;
                }
                while (a < n && f[a] <= e)
                        a++;
                int64_t cut = cutoff_of(e, d->window);
                while (b < n && l[b] <= cut)
                        b++;
                uint64_t cnt = a > b ? (uint64_t)(a - b) : 0;
                if (thr > 0) {
                        if (cnt >= thr) {
                                best = cnt;
                                best_at = e;
                                break;
                        }
                } else if (cnt > best || (c == 0 && best == 0)) {
                        best = cnt;
                        best_at = e;
                }
        }
        if (f != stack_f)
                free(f);
        *at_ms = best_at;
        return best;
}

uint64_t fw_distinct_peak(fw_distinct_t *d, int64_t lo_ms, int64_t hi_ms, int64_t *at_ms) {
        int64_t at = hi_ms;
        uint64_t best = !d->exact || lo_ms >= hi_ms ? fw_distinct_count(d, hi_ms)
                                                    : scan_windows(d, lo_ms, hi_ms, 0, &at);
        if (at_ms != NULL)
                *at_ms = at;
        return best;
}

int fw_distinct_first_reach(fw_distinct_t *d, int64_t lo_ms, int64_t hi_ms, uint64_t thr,
                            int64_t *at_ms) {
        if (!d->exact)
                return -1;
        if (thr == 0)
                thr = 1;
        int64_t at = hi_ms;
        if (lo_ms > hi_ms || scan_windows(d, lo_ms, hi_ms, thr, &at) < thr)
                return 0;
        *at_ms = at;
        return 1;
}
