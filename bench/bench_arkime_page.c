/* bench_arkime_page: fw_arkime_page_parse throughput on an Arkime-shaped /api/sessions page.
 *
 * Builds one 2,000-item page in memory in each of Arkime's two shapes -- flat (flatten=1, dotted
 * keys, every field of FW_ARKIME_FIELDS plus "id") and nested ({"source":{"ip":...}}, the
 * viewer's default) -- then, for each shape, times N parses (argv[1], default 500) with each of
 *   impl=fw_arkime_page   fw_arkime_page_parse: JSON parse + extraction into fw_session_t
 *   impl=cjson            cJSON_ParseWithLengthOpts + cJSON_Delete alone (the parser we use)
 *   impl=jansson          json_loadb + json_decref alone (the parser we replaced)
 * and prints one machine-readable line per (shape, impl), e.g.
 *   bench=arkime_page shape=flat impl=fw_arkime_page items=1000000 bytes=603698000
 *   page_bytes=1207396 seconds=3.1 items_per_s=322000 mb_per_s=190 best_items_per_s=340000
 * The three run interleaved, CHUNK parses at a time, so that they share whatever else the
 * machine is doing: compare them within one run. seconds/items_per_s/mb_per_s are over all N
 * parses; best_items_per_s is the fastest chunk (the least disturbed). Exit status 1 if a page
 * does not parse into 2,000 sessions.
 *
 * Built with the project (bench/CMakeLists.txt): build/bench/bench_arkime_page 500 */
#include <cjson/cJSON.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arkime_page.h"

#define PAGE_ITEMS 2000

/* ---- page generation ---- */

typedef struct buf {
        char *p;
        size_t len, cap;
} buf_t;

__attribute__((format(printf, 2, 3))) static void add(buf_t *b, const char *fmt, ...) {
        va_list ap;
        for (;;) {
                size_t room = b->cap - b->len;
                va_start(ap, fmt);
                int n = vsnprintf(b->p + b->len, room, fmt, ap);
                va_end(ap);
                if (n < 0) {
                        fprintf(stderr, "vsnprintf failed\n");
                        exit(2);
                }
                if ((size_t)n < room) {
                        b->len += (size_t)n;
                        return;
                }
                b->cap = b->cap * 2 + (size_t)n;
                b->p = realloc(b->p, b->cap);
                if (b->p == NULL) {
                        fprintf(stderr, "out of memory\n");
                        exit(2);
                }
        }
}

static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static uint64_t rnd(void) { /* xorshift64* */
        rng_state ^= rng_state >> 12;
        rng_state ^= rng_state << 25;
        rng_state ^= rng_state >> 27;
        return rng_state * 0x2545F4914F6CDD1Du;
}

/* One session's values, drawn so that the text looks like a busy sensor's: a mix of IPv4 and
 * IPv6, TCP with flags and UDP without, the occasional split session with a rootId. */
typedef struct item {
        char id[64], root_id[64], node[16], cid[40], sip[48], dip[48];
        long long first, last, db;
        unsigned sport, dport, proto;
        long long spk, dpk, sby, dby, cby, sdb;
        int flags[9];
} item_t;

static void b64(char *out, size_t n) {
        static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for (size_t i = 0; i < n; i++)
                out[i] = a[rnd() % 64];
        out[n] = '\0';
}

static void make_item(item_t *it, size_t i) {
        char r[32];
        b64(r, 24);
        snprintf(it->id, sizeof(it->id), "3@240518-%s", r);
        it->root_id[0] = '\0';
        if (i % 10 == 7) {
                b64(r, 24);
                snprintf(it->root_id, sizeof(it->root_id), "240518-%s", r);
        }
        snprintf(it->node, sizeof(it->node), "sensor%02u", (unsigned)(rnd() % 12));
        b64(r, 27);
        snprintf(it->cid, sizeof(it->cid), "1:%s=", r);
        if (rnd() % 4 == 0) {
                snprintf(it->sip, sizeof(it->sip), "2001:db8:%x::%x", (unsigned)(rnd() % 65536),
                         (unsigned)(rnd() % 65536));
                snprintf(it->dip, sizeof(it->dip), "2001:db8:1::%x", (unsigned)(rnd() % 65536));
        } else {
                snprintf(it->sip, sizeof(it->sip), "10.%u.%u.%u", (unsigned)(rnd() % 256),
                         (unsigned)(rnd() % 256), (unsigned)(1 + rnd() % 254));
                snprintf(it->dip, sizeof(it->dip), "10.0.%u.%u", (unsigned)(rnd() % 16),
                         (unsigned)(1 + rnd() % 254));
        }
        it->first = 1716026400000LL + (long long)i * 37 + (long long)(rnd() % 1000);
        it->last = it->first + (long long)(rnd() % 600000);
        it->db = it->last + 60000;
        it->proto = rnd() % 5 ? 6 : 17;
        it->sport = 1024 + (unsigned)(rnd() % 64000);
        it->dport = (const unsigned[]){445, 135, 5985, 3389, 22, 443, 53, 88}[rnd() % 8];
        it->spk = 1 + (long long)(rnd() % 5000);
        it->dpk = (long long)(rnd() % 5000);
        it->sby = it->spk * 60 + (long long)(rnd() % 100000);
        it->dby = it->dpk * 60 + (long long)(rnd() % 1000000);
        it->cby = it->sby / 2;
        it->sdb = it->dby / 2;
        for (int k = 0; k < 9; k++)
                it->flags[k] = (int)(rnd() % (k < 4 ? 2000 : 3));
}

static const char *const flag_names[9] = {"syn", "syn-ack", "ack",     "psh",    "fin",
                                          "rst", "urg",     "srcZero", "dstZero"};

/* Arkime's reply shape: {"recordsTotal":..,"recordsFiltered":..,"graph":{},"map":{},"data":[...]}
 * (the viewer puts data last). */
static char *make_page(int nested, size_t *len) {
        buf_t b = {malloc(1 << 20), 0, 1 << 20};
        item_t it;

        if (b.p == NULL)
                exit(2);
        rng_state = 0x9E3779B97F4A7C15u; /* both shapes carry the same sessions */
        add(&b,
            "{\"recordsTotal\":48213377,\"recordsFiltered\":%d,\"graph\":{},\"map\":{},"
            "\"data\":[",
            PAGE_ITEMS);
        for (size_t i = 0; i < PAGE_ITEMS; i++) {
                make_item(&it, i);
                add(&b, "%s{", i ? "," : "");
                if (it.root_id[0])
                        add(&b, "\"rootId\":\"%s\",", it.root_id);
                add(&b,
                    "\"node\":\"%s\",\"firstPacket\":%lld,\"lastPacket\":%lld,"
                    "\"@timestamp\":%lld,\"ipProtocol\":%u,",
                    it.node, it.first, it.last, it.db, it.proto);
                /* the same fields as dotted keys (flat) or as objects (nested) */
                add(&b,
                    nested ? "\"source\":{\"ip\":\"%s\",\"port\":%u,\"packets\":%lld,"
                             "\"bytes\":%lld},\"destination\":{\"ip\":\"%s\",\"port\":%u,"
                             "\"packets\":%lld,\"bytes\":%lld},\"client\":{\"bytes\":%lld},"
                             "\"server\":{\"bytes\":%lld},\"network\":{\"community_id\":\"%s\"}"
                           : "\"source.ip\":\"%s\",\"source.port\":%u,\"source.packets\":%lld,"
                             "\"source.bytes\":%lld,\"destination.ip\":\"%s\","
                             "\"destination.port\":%u,\"destination.packets\":%lld,"
                             "\"destination.bytes\":%lld,\"client.bytes\":%lld,"
                             "\"server.bytes\":%lld,\"network.community_id\":\"%s\"",
                    it.sip, it.sport, it.spk, it.sby, it.dip, it.dport, it.dpk, it.dby, it.cby,
                    it.sdb, it.cid);
                if (it.proto == 6) {
                        if (nested)
                                add(&b, ",\"tcpflags\":{");
                        for (int k = 0; k < 9; k++)
                                add(&b, nested ? "%s\"%s\":%d" : "%s\"tcpflags.%s\":%d",
                                    nested && k == 0 ? "" : ",", flag_names[k], it.flags[k]);
                        if (nested)
                                add(&b, "}");
                }
                add(&b, ",\"id\":\"%s\"}", it.id); /* getSessions adds id last */
        }
        add(&b, "]}");
        *len = b.len;
        return b.p; /* not NUL-terminated as far as the parsers are told: they get len */
}

/* ---- timing ---- */

static double now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

enum impl { I_FW, I_CJSON, I_JANSSON, I_N };
static const char *const impl_names[I_N] = {"fw_arkime_page", "cjson", "jansson"};

static int fails;

/* Time n parses of body with one implementation. */
static double run(enum impl which, const char *body, size_t len, long n, fw_arkime_page_t *p) {
        char err[256];
        double t0 = now();
        for (long r = 0; r < n; r++) {
                switch (which) {
                case I_FW:
                        if (fw_arkime_page_parse(p, body, len, err, sizeof(err)) != 0 ||
                            p->count != PAGE_ITEMS) {
                                fprintf(stderr, "parse failed: %s (count %zu, rejected %zu: %s)\n",
                                        err, p->count, p->rejected, p->first_reject);
                                fails++;
                                return now() - t0;
                        }
                        break;
                case I_CJSON: {
                        const char *end = NULL;
                        cJSON *root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
                        if (root == NULL) {
                                fprintf(stderr, "cJSON failed at byte %td\n", end - body);
                                fails++;
                                return now() - t0;
                        }
                        cJSON_Delete(root);
                        break;
                }
                case I_JANSSON: {
                        json_error_t jerr;
                        json_t *root = json_loadb(body, len, 0, &jerr);
                        if (root == NULL) {
                                fprintf(stderr, "jansson failed: %s\n", jerr.text);
                                fails++;
                                return now() - t0;
                        }
                        json_decref(root);
                        break;
                }
                case I_N:
                        break;
                }
        }
        return now() - t0;
}

#define CHUNK 10 /* parses per timed slice */

int main(int argc, char **argv) {
        long n = argc > 1 ? strtol(argv[1], NULL, 10) : 500;
        static const char *const shape_names[2] = {"flat", "nested"};
        fw_arkime_page_t page;

        if (n <= 0) {
                fprintf(stderr, "usage: %s [parses per implementation and shape, default 500]\n",
                        argv[0]);
                return 2;
        }
        fw_arkime_page_init(&page);
        for (int nested = 0; nested < 2; nested++) {
                size_t len;
                char *body = make_page(nested, &len);
                double total[I_N], best[I_N];

                for (int k = 0; k < I_N; k++) {
                        run((enum impl)k, body, len, 2, &page); /* warm caches and allocator */
                        total[k] = 0;
                        best[k] = 1e300;
                }
                for (long done = 0; done < n; done += CHUNK) {
                        long c = n - done < CHUNK ? n - done : CHUNK;
                        for (int k = 0; k < I_N; k++) {
                                double t = run((enum impl)k, body, len, c, &page);
                                total[k] += t;
                                if (t / (double)c < best[k])
                                        best[k] = t / (double)c;
                        }
                }
                for (int k = 0; k < I_N; k++) {
                        double items = (double)n * PAGE_ITEMS;
                        printf("bench=arkime_page shape=%s impl=%s items=%.0f bytes=%.0f "
                               "page_bytes=%zu seconds=%.3f items_per_s=%.0f mb_per_s=%.1f "
                               "best_items_per_s=%.0f\n",
                               shape_names[nested], impl_names[k], items, (double)n * (double)len,
                               len, total[k], items / total[k],
                               (double)n * (double)len / total[k] / 1e6, PAGE_ITEMS / best[k]);
                }
                fflush(stdout);
                free(body);
        }
        fw_arkime_page_free(&page);
        return fails ? 1 : 0;
}
