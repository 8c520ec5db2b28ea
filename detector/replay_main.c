/* fanwatch-replay: run the detector's detections over a file of Arkime sessions, without Kafka,
 * and print the alerts, one JSON line each (docs/replay.md).
 *
 *   fanwatch-replay [-c FILE] --input FILE [--format auto|json|msgpack] [--partitions N]
 *                   [--strict]
 *
 * The configuration is the detector's (same key table, same rules file); kafka.* keys are
 * accepted and checked but not used. With --partitions N the sessions are spread over N engines
 * exactly as the producer's messages are spread over N partitions (librdkafka's default
 * partitioner on the source IP key), so the alerts equal those of N-partition live processing. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "cli.h"
#include "detect_conf.h"
#include "engine.h"
#include "session_file.h"
#include "wire.h"

extern char **environ;

#define PROG           "fanwatch-replay"
#define PARTITIONS_MAX 4096
#define REPLAY_BATCH   64 /* sessions fed to an engine at once */
#define BAD_SHOWN_MAX  10 /* default --show-bad: bad records reported one by one */

/* A dummy broker list so that the shared loader's librdkafka check passes without Kafka. */

typedef struct rule_count {
        char *rule;
        uint64_t n;
} rule_count_t;

typedef struct replay {
        fw_alert_json_opts_t jopts;
        rule_count_t *counts;
        size_t ncounts;
        uint64_t alerts;
        int out_error;
} replay_t;

static int count_rule(replay_t *rp, const char *rule) {
        for (size_t i = 0; i < rp->ncounts; i++)
                if (strcmp(rp->counts[i].rule, rule) == 0) {
                        rp->counts[i].n++;
                        return 0;
                }
        rule_count_t *n = realloc(rp->counts, (rp->ncounts + 1) * sizeof(*n));
        if (!n)
                return -1;
        rp->counts = n;
        if (!(n[rp->ncounts].rule = strdup(rule)))
                return -1;
        n[rp->ncounts++].n = 1;
        return 0;
}

static int on_alert(const fw_alert_t *a, void *opaque) {
        replay_t *rp = opaque;
        size_t len;
        char *js = fw_alert_json(a, &rp->jopts, &len);
        if (!js || count_rule(rp, a->rule) != 0) {
                free(js);
                return -1;
        }
        if (fwrite(js, 1, len, stdout) != len || fputc('\n', stdout) == EOF)
                rp->out_error = 1;
        free(js);
        rp->alerts++;
        return 0;
}

static int cmp_counts(const void *a, const void *b) {
        return strcmp(((const rule_count_t *)a)->rule, ((const rule_count_t *)b)->rule);
}

/* The options as given (checked by check_args). */
typedef struct replay_args {
        const char *input, *format, *partitions, *show_bad;
        int strict;
        fw_sf_format_t fmt; /* parsed */
        long np;
        unsigned long long max_shown; /* --show-bad, 0: all */
} replay_args_t;

/* Usage checks of --format and --partitions, before the configuration is loaded. */
static int check_args(void *ud, int run, char *err, size_t errlen) {
        replay_args_t *a = ud;
        (void)run;
        if (strcmp(a->format, "auto") == 0)
                a->fmt = FW_SF_AUTO;
        else if (strcmp(a->format, "json") == 0)
                a->fmt = FW_SF_JSON;
        else if (strcmp(a->format, "msgpack") == 0)
                a->fmt = FW_SF_MSGPACK;
        else {
                snprintf(err, errlen, "--format must be auto, json or msgpack, not '%s'",
                         a->format);
                return -1;
        }
        char *end;
        errno = 0;
        a->np = strtol(a->partitions, &end, 10);
        if (errno || end == a->partitions || *end || a->np < 1 || a->np > PARTITIONS_MAX) {
                snprintf(err, errlen, "--partitions must be an integer 1..%d, not '%s'",
                         PARTITIONS_MAX, a->partitions);
                return -1;
        }
        a->max_shown = BAD_SHOWN_MAX;
        if (a->show_bad) {
                errno = 0;
                long v = strtol(a->show_bad, &end, 10);
                if (errno || end == a->show_bad || *end || v < 0) {
                        snprintf(err, errlen,
                                 "--show-bad must be a count of bad records (0: all), not '%s'",
                                 a->show_bad);
                        return -1;
                }
                a->max_shown = v == 0 ? ULLONG_MAX : (unsigned long long)v;
        }
        return 0;
}

/* Write s to f with every byte that is not printable ASCII as \xNN (and '\\' as \x5c), so
 * that bytes from a damaged input never reach a terminal raw. */
static void put_escaped(FILE *f, const char *s) {
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                if (*p >= 0x20 && *p < 0x7f && *p != '\\')
                        fputc(*p, f);
                else
                        fprintf(f, "\\x%02x", *p);
        }
}

int main(int argc, char **argv) {
        replay_args_t args = {.format = "auto", .partitions = "1"};
        const fw_cli_opt_t extra[] = {
                {.name = "input",
                 .arg = "FILE",
                 .help = "sessions file: JSON lines or msgpack records; '-' = stdin",
                 .value = &args.input,
                 .required = 1},
                {.name = "format",
                 .arg = "FMT",
                 .help = "auto (default), json or msgpack",
                 .value = &args.format},
                {.name = "partitions",
                 .arg = "N",
                 .help = "spread sessions over N engines as Kafka spreads them over N "
                         "partitions",
                 .value = &args.partitions},
                {.name = "show-bad",
                 .arg = "N",
                 .help = "report the first N bad records one by one (default 10; 0: all), "
                         "count the rest",
                 .value = &args.show_bad},
                {.name = "strict",
                 .help = "exit 1 if any record was bad or no session was read",
                 .flag = &args.strict},
        };
        const fw_cli_spec_t spec = {
                .prog = PROG,
                .summary = "Run the detector's detections over a file of Arkime sessions and print "
                           "the alerts\n(JSON lines on stdout, summary on stderr).",
                .defs = fw_detector_conf_defs,
                .ndefs = fw_detector_conf_ndefs,
                .kafka_defaults = NULL,
                .no_kafka = 1,
                .check = fw_detect_cfg_check, /* the detection keys and the rules file */
                .extra = extra,
                .nextra = sizeof(extra) / sizeof(extra[0]),
                .check_args = check_args,
                .args_ud = &args,
        };
        fw_conf_t *conf = NULL;
        int rc = fw_cli_load(&spec, argc, argv, environ, &conf);
        if (rc >= 0)
                return rc;
        const char *input = args.input;
        fw_sf_format_t fmt = args.fmt;
        int strict = args.strict;

        char err[1024];
        fw_detect_cfg_t cfg;
        fw_detect_cfg_defaults(&cfg);
        if (fw_detect_cfg_from_conf(conf, &cfg, err, sizeof(err)) != 0) {
                fprintf(stderr, "%s: configuration error: %s\n", PROG, err);
                fw_conf_free(conf);
                return 1;
        }
        replay_t rp = {0};
        rp.jopts.viewer_url = fw_detect_conf_viewer_url(conf);
        const char *observer = fw_conf_str(conf, "detector.name");
        rp.jopts.observer = observer && *observer ? observer : NULL;
        rp.jopts.created_ms = -1;

        int status = 1;
        size_t n = (size_t)args.np;
        fw_session_reader_t *rd = NULL;
        fw_session_t *buf = NULL;
        size_t *nbuf = NULL;
        fw_engine_t **eng = calloc(n, sizeof(*eng));
        if (!eng) {
                fprintf(stderr, "%s: out of memory\n", PROG);
                goto out;
        }
        for (size_t i = 0; i < n; i++) {
                if (!(eng[i] = fw_engine_new(&cfg, on_alert, &rp, err, sizeof(err)))) {
                        fprintf(stderr, "%s: %s\n", PROG, err);
                        goto out;
                }
                /* as the detector shares detect.max_memory_mb among its partitions */
                fw_engine_set_max_bytes(eng[i], cfg.max_bytes / n);
        }

        rd = fw_session_reader_open(input, fmt, err, sizeof(err));
        if (!rd) {
                fprintf(stderr, "%s: cannot read input: %s\n", PROG, err);
                goto out;
        }
        /* sessions are fed per engine in batches (fw_engine_feed_batch prefetches ahead) */
        buf = calloc(n * REPLAY_BATCH, sizeof(*buf));
        nbuf = calloc(n, sizeof(*nbuf));
        if (!buf || !nbuf) {
                fprintf(stderr, "%s: out of memory\n", PROG);
                goto out;
        }
        int eof = 0;
        uint64_t bad_shown = 0;
        while (!eof && !rp.out_error) {
                size_t full = SIZE_MAX;
                while (full == SIZE_MAX) {
                        fw_session_t *s = NULL;
                        fw_session_t tmp;
                        int r = fw_session_reader_next(rd, &tmp, err, sizeof(err));
                        if (r == 0) {
                                eof = 1;
                                break;
                        }
                        if (r < 0) {
                                if (++bad_shown <= args.max_shown) {
                                        fprintf(stderr, "%s: bad record: ", PROG);
                                        put_escaped(stderr, err);
                                        fputc('\n', stderr);
                                }
                                continue;
                        }
                        size_t p = n > 1 ? (size_t)fw_session_partition(&tmp, (int32_t)n) : 0;
                        s = &buf[p * REPLAY_BATCH + nbuf[p]++];
                        *s = tmp;
                        if (nbuf[p] == REPLAY_BATCH)
                                full = p;
                }
                for (size_t p = 0; p < n; p++) {
                        if (nbuf[p] == 0 || (!eof && p != full))
                                continue;
                        if (fw_engine_feed_batch(eng[p], &buf[p * REPLAY_BATCH], nbuf[p], 1, NULL) <
                            0) {
                                fprintf(stderr, "%s: out of memory\n", PROG);
                                goto out;
                        }
                        nbuf[p] = 0;
                }
        }
        /* the end of the input ends every open attack: its last growth is reported */
        for (size_t p = 0; p < n; p++) {
                if (fw_engine_flush(eng[p], 1) < 0) {
                        fprintf(stderr, "%s: out of memory\n", PROG);
                        goto out;
                }
        }
        if (fflush(stdout) != 0 || rp.out_error) {
                fprintf(stderr, "%s: writing the alerts: %s\n", PROG, strerror(errno));
                goto out;
        }

        fw_sf_stats_t st;
        fw_session_reader_stats(rd, &st);
        fw_engine_stats_t tot = {0}, es;
        for (size_t i = 0; i < n; i++) {
                fw_engine_stats(eng[i], &es);
                tot.late += es.late;
                tot.too_late += es.too_late;
                tot.keys += es.keys;
                tot.sources += es.sources;
                tot.promoted += es.promoted;
                tot.evicted += es.evicted;
                tot.evicted_active += es.evicted_active;
                tot.bytes += es.bytes;
        }
        fprintf(stderr,
                "%s summary\n"
                "  input             %s (%s, %llu bytes)\n"
                "  partitions        %zu\n"
                "  sessions read     %llu\n"
                "  bad records       %llu\n"
                "  late sessions     %llu (of which ignored, older than one window: %llu)\n"
                "  alerts            %llu\n",
                PROG, input, fw_session_reader_format(rd) == FW_SF_MSGPACK ? "msgpack" : "json",
                (unsigned long long)st.bytes, n, (unsigned long long)st.sessions,
                (unsigned long long)st.bad, (unsigned long long)tot.late,
                (unsigned long long)tot.too_late, (unsigned long long)rp.alerts);
        if (rp.ncounts)
                qsort(rp.counts, rp.ncounts, sizeof(rp.counts[0]), cmp_counts);
        for (size_t i = 0; i < rp.ncounts; i++)
                fprintf(stderr, "    %-24s %llu\n", rp.counts[i].rule,
                        (unsigned long long)rp.counts[i].n);
        fprintf(stderr,
                "  sources tracked   %llu (keys %llu, by sketch %llu)\n"
                "  evicted keys      %llu (still in their window: %llu)\n"
                "  state bytes       %zu (cap %zu)\n",
                (unsigned long long)tot.sources, (unsigned long long)tot.keys,
                (unsigned long long)tot.promoted, (unsigned long long)tot.evicted,
                (unsigned long long)tot.evicted_active, tot.bytes, cfg.max_bytes);
        if (bad_shown > args.max_shown)
                fprintf(stderr,
                        "%s: %llu more bad records not shown (the first %llu are above; "
                        "--show-bad 0 shows all)\n",
                        PROG, (unsigned long long)bad_shown - args.max_shown, args.max_shown);
        if (st.sessions == 0)
                fprintf(stderr, "%s: %s: no session read from %s\n", PROG,
                        strict ? "error" : "warning", strcmp(input, "-") == 0 ? "stdin" : input);
        status = strict && (st.bad > 0 || st.errors > 0 || st.sessions == 0) ? 1 : 0;

out:
        free(buf);
        free(nbuf);
        fw_session_reader_close(rd);
        for (size_t i = 0; eng && i < n; i++)
                fw_engine_free(eng[i]);
        free(eng);
        for (size_t i = 0; i < rp.ncounts; i++)
                free(rp.counts[i].rule);
        free(rp.counts);
        fw_detect_cfg_release(&cfg);
        fw_conf_free(conf);
        return status;
}
