/* fuzz_expr: the Arkime expression compiler (detector/expr.h) on arbitrary text.
 * The input, cut to FW_EXPR_MAX_LEN + 1 bytes (so the length limit is exercised too), is
 * compiled as a NUL-terminated string. When it compiles: it is matched against fixed sessions
 * (IPv4 TCP, IPv6 UDP, ICMP without ports or counters, an empty session); its normalised text
 * fw_expr_text() must compile again, give the same match on every session, and normalise to
 * the same text (normalisation is stable). A failed compile must leave an error message. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "expr.h"
#include "fuzz_util.h"
#include "net.h"
#include "session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NSESS 5
static fw_session_t sess[NSESS];
static int sess_ready;
static char text[FW_EXPR_MAX_LEN + 2];

static void set_ip(fw_ip_t *ip, const char *s) {
        FUZZ_CHECK(fw_ip_parse(s, ip) == 0);
}

static void make_sessions(void) {
        fw_session_t *s;
        for (int i = 0; i < NSESS; i++)
                fw_session_init(&sess[i]);

        s = &sess[0]; /* the study's rule: one-packet TCP between private addresses */
        strcpy(s->id, "3@240518-v4");
        strcpy(s->node, "sensor01");
        strcpy(s->community_id, "1:abcdefghijklmnopqrstuvwxyz0=");
        s->first_packet_ms = 1716026405123;
        s->last_packet_ms = 1716026405123;
        set_ip(&s->src_ip, "10.1.2.3");
        set_ip(&s->dst_ip, "192.168.0.9");
        s->src_port = 50123;
        s->dst_port = 445;
        s->ip_protocol = 6;
        s->src_packets = 1;
        s->dst_packets = 0;
        s->src_bytes = 74;
        s->dst_bytes = 0;
        s->src_databytes = 0;
        s->dst_databytes = 0;
        s->tcpflags = (fw_tcpflags_t){1, 0, 0, 0, 0, 0, 0, 0, 0};

        s = &sess[1]; /* IPv6 UDP, split session */
        strcpy(s->id, "3@240518-v6");
        strcpy(s->root_id, "240518-root");
        strcpy(s->node, "sensor02");
        s->first_packet_ms = 1716026405000;
        s->last_packet_ms = 1716026409000;
        set_ip(&s->src_ip, "2001:db8:1::5");
        set_ip(&s->dst_ip, "fe80::1");
        s->src_port = 5353;
        s->dst_port = 53;
        s->ip_protocol = 17;
        s->src_packets = 3;
        s->dst_packets = 2;
        s->src_bytes = 300;
        s->dst_bytes = 9000;
        s->src_databytes = 100;
        s->dst_databytes = 8800;

        s = &sess[2]; /* ICMP: no ports, counters absent */
        strcpy(s->id, "3@240518-icmp");
        s->first_packet_ms = 0;
        s->last_packet_ms = 0;
        set_ip(&s->src_ip, "131.206.1.1");
        set_ip(&s->dst_ip, "8.8.8.8");
        s->ip_protocol = 1;

        s = &sess[3]; /* large values */
        strcpy(s->id, "x");
        strcpy(s->node, "*?\\,\"");
        set_ip(&s->src_ip, "255.255.255.255");
        set_ip(&s->dst_ip, "::");
        s->src_port = 65535;
        s->dst_port = 1;
        s->ip_protocol = 255;
        s->src_packets = FW_COUNTER_MAX;
        s->dst_packets = FW_COUNTER_MAX;
        s->src_bytes = 1;
        s->dst_bytes = FW_COUNTER_MAX;
        s->tcpflags = (fw_tcpflags_t){0, 7, 2147483647, 3, 1, 1, 0, 0, 0};
        /* sess[4]: empty (fw_session_init) */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char err[512];
        if (!sess_ready) {
                make_sessions();
                sess_ready = 1;
        }
        if (size > FW_EXPR_MAX_LEN + 1)
                size = FW_EXPR_MAX_LEN + 1;
        memcpy(text, data, size);
        text[size] = '\0';

        err[0] = '\0';
        fw_expr_t *e = fw_expr_compile(text, err, sizeof(err));
        if (!e) {
                FUZZ_CHECK(err[0] != '\0');
                return 0;
        }
        int m[NSESS];
        for (int i = 0; i < NSESS; i++) {
                m[i] = fw_expr_match(e, &sess[i]);
                FUZZ_CHECK(m[i] == 0 || m[i] == 1);
        }

        const char *norm = fw_expr_text(e);
        FUZZ_CHECK(norm != NULL && norm[0] != '\0');
        /* Expanding shorthands and lists can make the text longer than the input limit. */
        if (strlen(norm) <= FW_EXPR_MAX_LEN) {
                fw_expr_t *e2 = fw_expr_compile(norm, err, sizeof(err));
                if (!e2)
                        fprintf(stderr, "input: [%s]\nnormalised: [%s]\ndoes not compile: %s\n",
                                text, norm, err);
                FUZZ_CHECK(e2 != NULL);
                for (int i = 0; i < NSESS; i++) {
                        int m2 = fw_expr_match(e2, &sess[i]);
                        if (m2 != m[i])
                                fprintf(stderr,
                                        "input: [%s]\nnormalised: [%s]\nsession %d: %d vs %d\n",
                                        text, norm, i, m[i], m2);
                        FUZZ_CHECK(m2 == m[i]);
                }
                const char *norm2 = fw_expr_text(e2);
                if (strcmp(norm, norm2) != 0)
                        fprintf(stderr, "input: [%s]\nnormalised: [%s]\nagain: [%s]\n", text, norm,
                                norm2);
                FUZZ_CHECK(strcmp(norm, norm2) == 0);
                fw_expr_free(e2);
        }
        fw_expr_free(e);
        return 0;
}
