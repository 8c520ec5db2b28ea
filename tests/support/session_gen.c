#include "session_gen.h"

#include <stdio.h>
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
