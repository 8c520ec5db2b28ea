#include "session.h"

#include <string.h>

void fw_session_init(fw_session_t *s) {
        memset(s, 0, sizeof(*s));
        s->first_packet_ms = s->last_packet_ms = s->db_time_ms = FW_ABSENT;
        s->src_packets = s->dst_packets = FW_ABSENT;
        s->src_bytes = s->dst_bytes = FW_ABSENT;
        s->src_databytes = s->dst_databytes = FW_ABSENT;
        fw_tcpflags_t *f = &s->tcpflags;
        f->syn = f->syn_ack = f->ack = f->psh = f->fin = f->rst = f->urg = FW_ABSENT;
        f->src_zero = f->dst_zero = FW_ABSENT;
}

int fw_session_equal(const fw_session_t *a, const fw_session_t *b) {
        return strcmp(a->id, b->id) == 0 && strcmp(a->root_id, b->root_id) == 0 &&
               strcmp(a->node, b->node) == 0 && strcmp(a->community_id, b->community_id) == 0 &&
               a->first_packet_ms == b->first_packet_ms && a->last_packet_ms == b->last_packet_ms &&
               a->db_time_ms == b->db_time_ms && fw_ip_equal(&a->src_ip, &b->src_ip) &&
               fw_ip_equal(&a->dst_ip, &b->dst_ip) && a->src_port == b->src_port &&
               a->dst_port == b->dst_port && a->ip_protocol == b->ip_protocol &&
               a->src_packets == b->src_packets && a->dst_packets == b->dst_packets &&
               a->src_bytes == b->src_bytes && a->dst_bytes == b->dst_bytes &&
               a->src_databytes == b->src_databytes && a->dst_databytes == b->dst_databytes &&
               memcmp(&a->tcpflags, &b->tcpflags, sizeof(a->tcpflags)) == 0;
}

int fw_session_set_str(char *field, size_t fieldsize, const char *src, size_t len) {
        if (len >= fieldsize || memchr(src, '\0', len) != NULL)
                return -1;
        memcpy(field, src, len);
        field[len] = '\0';
        return 0;
}
