/* bench_publish: the producer's cost per session once a page is fetched: parse the Arkime JSON
 * page (producer/arkime_page.c), encode each session (common/wire.c) and hand it to the
 * idempotent Kafka producer (producer/publisher.c), then wait until the broker acknowledged
 * all of them. Pages are Arkime-shaped (flatten=1, the fields the producer asks for), built in
 * memory from the test generator.
 *
 *   bench_publish BOOTSTRAP [SESSIONS] [PAGE]     (default 1,000,000 sessions, pages of 5,000)
 *
 * Prints one line per stage, machine-readable:
 *   bench=publish stage=parse+encode sessions=... seconds=... per_s=... cpu_seconds=...
 *   bench=publish stage=parse+encode+kafka sessions=... seconds=... per_s=... cpu_seconds=...
 * cpu_seconds is the calling thread's CPU time (librdkafka's I/O threads are not counted),
 * i.e. what the producer's one loop thread spends; per_s is wall-clock throughput. */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arkime_page.h"
#include "wire.h"
#include "kafka_conf.h"
#include "publisher.h"
#include "session_gen.h"

#define DISTINCT_PAGES 16

static double wall(void) {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double cpu(void) {
        struct timespec t;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
        return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Render one session as an Arkime flatten=1 item (the viewer's shape for our fields=). */
static int render(char *o, size_t n, const fw_session_t *s) {
        char sip[FW_IP_STRLEN], dip[FW_IP_STRLEN];
        fw_ip_format(&s->src_ip, sip, sizeof(sip));
        fw_ip_format(&s->dst_ip, dip, sizeof(dip));
        return snprintf(
                o, n,
                "{\"id\":\"%s\",\"node\":\"%s\",\"firstPacket\":%" PRId64 ",\"lastPacket\":%" PRId64
                ",\"@timestamp\":%" PRId64 ",\"ipProtocol\":%u,\"source.ip\":\"%s\","
                "\"source.port\":%u,\"source.packets\":%" PRId64 ",\"source.bytes\":%" PRId64
                ",\"destination.ip\":\"%s\",\"destination.port\":%u,\"destination.packets\":"
                "%" PRId64 ",\"destination.bytes\":%" PRId64 ",\"client.bytes\":%" PRId64
                ",\"server.bytes\":%" PRId64 ",\"network.community_id\":\"%s\","
                "\"tcpflags.syn\":1,\"tcpflags.syn-ack\":1,\"tcpflags.ack\":7,\"tcpflags.psh\":2,"
                "\"tcpflags.fin\":2,\"tcpflags.rst\":0,\"tcpflags.urg\":0,\"tcpflags.srcZero\":0,"
                "\"tcpflags.dstZero\":0}",
                s->id, s->node, s->first_packet_ms, s->last_packet_ms,
                s->db_time_ms < 0 ? s->last_packet_ms : s->db_time_ms, s->ip_protocol, sip,
                s->src_port, s->src_packets < 0 ? 1 : s->src_packets,
                s->src_bytes < 0 ? 60 : s->src_bytes, dip, s->dst_port,
                s->dst_packets < 0 ? 1 : s->dst_packets, s->dst_bytes < 0 ? 60 : s->dst_bytes,
                s->src_databytes < 0 ? 0 : s->src_databytes,
                s->dst_databytes < 0 ? 0 : s->dst_databytes,
                s->community_id[0] ? s->community_id : "1:x");
}

static char *build_page(int p, int page, size_t *len) {
        size_t cap = (size_t)page * 900 + 256, n = 0;
        char *b = malloc(cap);
        n += (size_t)snprintf(b, cap, "{\"data\":[");
        for (int i = 0; i < page; i++) {
                fw_session_t s;
                fw_gen_session(99, (uint64_t)p * (uint64_t)page + (uint64_t)i, &s);
                if (i)
                        b[n++] = ',';
                n += (size_t)render(b + n, cap - n, &s);
        }
        n += (size_t)snprintf(b + n, cap - n,
                              "],\"recordsTotal\":123456789,\"recordsFiltered\":%d,"
                              "\"graph\":{},\"map\":{}}",
                              page);
        *len = n;
        return b;
}

static int run(const char *stage, char **pages, size_t *lens, int npages, int page,
               fw_publisher_t *pub) {
        char err[512];
        fw_arkime_page_t pg;
        fw_arkime_page_init(&pg);
        long sessions = 0;
        double w0 = wall(), c0 = cpu();
        for (int i = 0; i < npages; i++) {
                int k = i % DISTINCT_PAGES;
                if (fw_arkime_page_parse(&pg, pages[k], lens[k], err, sizeof(err)) != 0 ||
                    pg.count != (size_t)page) {
                        fprintf(stderr, "parse: %s (%zu sessions)\n", err, pg.count);
                        return -1;
                }
                for (size_t j = 0; j < pg.count; j++) {
                        if (pub) {
                                if (fw_publisher_send(pub, &pg.sessions[j], err, sizeof(err))) {
                                        fprintf(stderr, "send: %s\n", err);
                                        return -1;
                                }
                        } else {
                                char buf[FW_RECORD_MAX];
                                size_t len;
                                if (fw_session_encode(&pg.sessions[j], buf, sizeof(buf), &len, err,
                                                      sizeof(err)))
                                        return -1;
                        }
                        sessions++;
                }
        }
        if (pub) {
                long failed;
                while ((failed = fw_publisher_wait(pub, 1000, err, sizeof(err))) < 0)
                        ;
                if (failed) {
                        fprintf(stderr, "delivery: %s\n", err);
                        return -1;
                }
        }
        double secs = wall() - w0, csecs = cpu() - c0;
        printf("bench=publish stage=%s sessions=%ld seconds=%.3f per_s=%.0f cpu_seconds=%.3f "
               "per_cpu_s=%.0f\n",
               stage, sessions, secs, sessions / secs, csecs, sessions / csecs);
        fw_arkime_page_free(&pg);
        return 0;
}

int main(int argc, char **argv) {
        if (argc < 2) {
                fprintf(stderr, "usage: %s BOOTSTRAP [SESSIONS] [PAGE]\n", argv[0]);
                return 2;
        }
        long total = argc > 2 ? atol(argv[2]) : 1000000;
        int page = argc > 3 ? atoi(argv[3]) : 5000;
        int npages = (int)(total / page);
        char *pages[DISTINCT_PAGES];
        size_t lens[DISTINCT_PAGES];
        for (int i = 0; i < DISTINCT_PAGES; i++)
                pages[i] = build_page(i, page, &lens[i]);

        char err[512];
        rd_kafka_conf_t *kc = rd_kafka_conf_new();
        const char *props[][2] = {{"bootstrap.servers", argv[1]},
                                  {"enable.idempotence", "true"},
                                  {"compression.type", "lz4"},
                                  {"linger.ms", "20"}};
        for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++)
                if (rd_kafka_conf_set(kc, props[i][0], props[i][1], err, sizeof(err))) {
                        fprintf(stderr, "%s\n", err);
                        return 1;
                }
        char topic[64];
        snprintf(topic, sizeof(topic), "bench-publish-%ld", (long)time(NULL));
        fw_publisher_t *pub = fw_publisher_new(kc, topic, 6, 30000, err, sizeof(err));
        if (!pub) {
                fprintf(stderr, "%s\n", err);
                return 1;
        }
        int rc = run("parse+encode", pages, lens, npages, page, NULL) ||
                 run("parse+encode+kafka", pages, lens, npages, page, pub);
        fw_publisher_free(pub, 30000);
        for (int i = 0; i < DISTINCT_PAGES; i++)
                free(pages[i]);
        return rc ? 1 : 0;
}
