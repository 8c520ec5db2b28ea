/* bench_expr: evaluations per second of a compiled expression rule over generated sessions.
 *
 *   bench_expr [EVALUATIONS] [EXPRESSION]   (default 10,000,000 and the study's rule)
 *
 * Prints: bench=expr evaluations=... matches=... seconds=... per_s=... */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "expr.h"
#include "session_gen.h"

#define SESSIONS 1024

int main(int argc, char **argv) {
        long n = argc > 1 ? atol(argv[1]) : 10000000;
        const char *text = argc > 2 ? argv[2]
                                    : "packets == 1 && ip.protocol == tcp && "
                                      "ip.src != 131.206.0.0/16 && ip.dst != 131.206.0.0/16";
        char err[256];
        fw_expr_t *e = fw_expr_compile(text, err, sizeof(err));
        if (!e) {
                fprintf(stderr, "%s\n", err);
                return 1;
        }
        static fw_session_t s[SESSIONS];
        for (int i = 0; i < SESSIONS; i++) {
                fw_gen_session(7, (uint64_t)i, &s[i]);
                if (i % 4 == 0) { /* a share of single-packet sessions, so both outcomes occur */
                        s[i].src_packets = 1;
                        s[i].dst_packets = 0;
                }
        }
        struct timespec t0, t1;
        long matches = 0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (long i = 0; i < n; i++)
                matches += fw_expr_match(e, &s[i & (SESSIONS - 1)]);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        printf("bench=expr evaluations=%ld matches=%ld seconds=%.3f per_s=%.0f\n", n, matches, secs,
               (double)n / secs);
        fw_expr_free(e);
        return matches > 0 && matches < n ? 0 : 1;
}
