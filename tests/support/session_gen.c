#include "session_gen.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t fw_gen_mix(uint64_t x) {
        x += 0x9e3779b97f4a7c15ULL;
        x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
        x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
        return x ^ (x >> 31);
}

void fw_gen_session(uint64_t seed, uint64_t i, fw_session_t *s) {
        uint64_t r = fw_gen_mix(seed ^ fw_gen_mix(i));
        uint64_t r2 = fw_gen_mix(r);
        fw_session_init(s);

        snprintf(s->id, sizeof(s->id), "3@240518-%016llx%06llu", (unsigned long long)r,
                 (unsigned long long)(i % 1000000));
        if (r % 7 == 0) /* a mid-session save: rootId set, long id */
                snprintf(s->root_id, sizeof(s->root_id), "240518-root-%0100llu",
                         (unsigned long long)(i / 3));
        snprintf(s->node, sizeof(s->node), "sensor%02u", (unsigned)(r % 12));
        if (r % 3 != 0)
                snprintf(s->community_id, sizeof(s->community_id),
                         "1:%026llx=", (unsigned long long)r2);

        int64_t base = 1716026405123LL + (int64_t)(i * 10);
        s->first_packet_ms = base;
        s->last_packet_ms = base + (int64_t)(r % 600000);
        s->db_time_ms = (r % 11 == 0) ? FW_ABSENT : s->last_packet_ms + 5000 + (int64_t)(r % 90000);

        /* A small set of sources so keys repeat; 1 in 4 sessions is IPv6. */
        uint32_t src = (uint32_t)(r2 % 500);
        if (r % 4 == 0) {
                uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8};
                a6[14] = (uint8_t)(src >> 8);
                a6[15] = (uint8_t)src;
                fw_ip_from_bytes(a6, 16, &s->src_ip);
                a6[13] = 0xdd;
                a6[15] = (uint8_t)(r2 >> 20);
                fw_ip_from_bytes(a6, 16, &s->dst_ip);
        } else {
                uint8_t a4[4] = {10, 0, (uint8_t)(src >> 8), (uint8_t)src};
                fw_ip_from_bytes(a4, 4, &s->src_ip);
                uint8_t d4[4] = {131, 206, (uint8_t)(r2 >> 24), (uint8_t)(r2 >> 32)};
                fw_ip_from_bytes(d4, 4, &s->dst_ip);
        }

        static const uint8_t protos[] = {6, 6, 6, 17, 17, 1, 58, 132};
        s->ip_protocol = protos[r % sizeof(protos)];
        if (s->ip_protocol == 6 || s->ip_protocol == 17 || s->ip_protocol == 132) {
                s->src_port = (uint16_t)(1024 + r2 % 64000);
                s->dst_port = (uint16_t)((r >> 40) % 65536);
        }
        if (r % 13 != 0) {
                s->src_packets = (int64_t)(r2 % 100);
                s->dst_packets = (int64_t)((r2 >> 8) % 100);
                s->src_bytes = (int64_t)(r2 % 1000000);
                s->dst_bytes = (r % 17 == 0) ? FW_COUNTER_MAX : (int64_t)((r2 >> 16) % 1000000);
                s->src_databytes = (int64_t)(r2 % 5000);
                s->dst_databytes = (int64_t)((r2 >> 4) % 5000);
        }
        if (s->ip_protocol == 6 && r % 5 != 0) {
                fw_tcpflags_t *f = &s->tcpflags;
                f->syn = 1;
                f->syn_ack = (int32_t)(r % 2);
                f->ack = (int32_t)(r2 % 50);
                f->psh = (int32_t)(r2 % 9);
                f->fin = (int32_t)(r % 3);
                f->rst = (int32_t)(r2 % 2);
                f->urg = 0;
                if (r % 10 != 1) { /* older Arkime versions lack these two */
                        f->src_zero = 0;
                        f->dst_zero = (int32_t)(r % 2);
                }
        }
}

void fw_gen_counts(fw_session_t *s, int64_t src_pk, int64_t dst_pk, int64_t src_by, int64_t dst_by,
                   int64_t src_db, int64_t dst_db) {
        s->src_packets = src_pk;
        s->dst_packets = dst_pk;
        s->src_bytes = src_by;
        s->dst_bytes = dst_by;
        s->src_databytes = src_db;
        s->dst_databytes = dst_db;
}

void fw_gen_flags(fw_session_t *s, int32_t syn, int32_t syn_ack, int32_t ack, int32_t psh,
                  int32_t fin, int32_t rst, int32_t urg, int32_t src_zero, int32_t dst_zero) {
        s->tcpflags = (fw_tcpflags_t){.syn = syn,
                                      .syn_ack = syn_ack,
                                      .ack = ack,
                                      .psh = psh,
                                      .fin = fin,
                                      .rst = rst,
                                      .urg = urg,
                                      .src_zero = src_zero,
                                      .dst_zero = dst_zero};
}

void fw_gen_tcp(fw_session_t *s, int answered, int64_t src_pk, int64_t dst_pk, int64_t src_by,
                int64_t dst_by, int64_t src_db, int64_t dst_db) {
        s->ip_protocol = 6;
        if (!answered) {
                fw_gen_counts(s, 1, 0, 60, 0, 0, 0);
                fw_gen_flags(s, 1, 0, 0, 0, 0, 0, 0, 0, 0);
                return;
        }
        fw_gen_counts(s, src_pk, dst_pk, src_by, dst_by, src_db, dst_db);
        fw_gen_flags(s, 1, 1, (int32_t)(src_pk > 2 ? src_pk - 1 : 1),
                     (int32_t)(src_db > 0) + (int32_t)(dst_db > 0), 2, 0, 0, 0, 0);
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *)a, y = *(const double *)b;
        return x < y ? -1 : x > y;
}

double fw_gen_quantile(double *v, size_t n, double q) {
        size_t i = (size_t)ceil(q * (double)n);
        qsort(v, n, sizeof(*v), cmp_double);
        return v[i == 0 ? 0 : i - 1];
}
