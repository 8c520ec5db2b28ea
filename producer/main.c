/* fanwatch-producer: pulls new sessions from an Arkime viewer's /api/sessions into the Kafka
 * sessions topic, gap-free (see producer/cursor.h and docs/producer.md).
 *
 *   live:     poll every producer.poll_interval, position kept in producer.cursor_file
 *   backfill: --from TIME --to TIME, pull that @timestamp range once, then exit */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arkime_client.h"
#include "bridge.h"
#include "cli.h"
#include "cursor.h"
#include "cursor_store.h"
#include "daemon_conf.h"
#include "httpd.h"
#include "log.h"
#include "metrics.h"
#include "poller.h"
#include "publisher.h"
#include "timeparse.h"
#include "timeutil.h"

extern char **environ;

static const fw_conf_def_t producer_defs[] = {
        FW_CONF_COMMON_DEFS,
        {"producer.mode", FW_CT_ENUM, "api", 0, 0, "api|opensearch|bridge", 0,
         "api: poll the viewer's /api/sessions; opensearch: read Arkime's session indices "
         "directly; bridge: republish Arkime capture's Kafka plugin topic"},
        FW_CONF_ARKIME_DEFS,
        {"arkime.expression", FW_CT_STRING, NULL, 0, 0, NULL, 0,
         "Arkime expression ANDed to every query, e.g. to pull only internal traffic"},
        {"arkime.cluster", FW_CT_STRING, NULL, 0, 0, NULL, 0, "multiviewer cluster name"},
        {"arkime.order", FW_CT_STRING, NULL, 0, 0, NULL, 0,
         "order= of each page; unset keeps the viewer's default (firstPacket), the safe "
         "choice: OpenSearch scrolls sorted on @timestamp can drop tied sessions"},
        {"arkime.page_size", FW_CT_INT, "5000", 1, 9999, NULL, 0,
         "sessions per request; at 10,000 and above Arkime scrolls through the whole prefix"},
        {"arkime.max_page_size", FW_CT_INT, "1000000", 1, 2000000, NULL, 0,
         "page length allowed for a single second that holds more than page_size sessions"},
        {"opensearch.url", FW_CT_URL, NULL, 0, 0, NULL, 0,
         "OpenSearch/Elasticsearch base URL, e.g. https://os.example:9200 (required in "
         "opensearch mode)"},
        {"opensearch.user", FW_CT_STRING, NULL, 0, 0, NULL, 0,
         "user for basic authentication (read access to the session indices)"},
        {"opensearch.password", FW_CT_STRING, NULL, 0, 0, NULL, FW_CF_SECRET,
         "its password; prefer opensearch.password_file or the environment"},
        {"opensearch.api_key", FW_CT_STRING, NULL, 0, 0, NULL, FW_CF_SECRET,
         "API key sent as 'Authorization: ApiKey <key>' (base64 id:key), instead of a user"},
        {"opensearch.ca_file", FW_CT_STRING, NULL, 0, 0, NULL, 0,
         "CA certificates (PEM) for OpenSearch's TLS certificate; default the system store"},
        {"opensearch.tls_verify", FW_CT_BOOL, "true", 0, 0, NULL, 0,
         "verify OpenSearch's certificate and host name (turn off only for a lab)"},
        {"opensearch.timeout", FW_CT_DURATION, "120s", 1000, 3600000, NULL, 0,
         "timeout of one search request"},
        {"opensearch.index", FW_CT_STRING, "arkime_sessions3-*", 0, 0, NULL, FW_CF_NONEMPTY,
         "session indices (Arkime's prefix + sessions3-*; every rotation matches)"},
        {"opensearch.page_size", FW_CT_INT, "10000", 1, 10000, NULL, 0,
         "hits per search request (at most index.max_result_window)"},
        {"opensearch.tiebreaker", FW_CT_STRING, NULL, 0, 0, NULL, 0,
         "sort field after @timestamp; default _id on OpenSearch, _shard_doc on Elasticsearch"},
        {"opensearch.keep_alive", FW_CT_DURATION, "2m", 1000, 3600000, NULL, 0,
         "how long the point in time lives between two pages"},
        {"opensearch.fetch", FW_CT_ENUM, "docvalues", 0, 0, "docvalues|source", 0,
         "where the fields come from: doc values, numbers and dates as sort values (no stored "
         "field read: under a third of OpenSearch's CPU) or _source (for fields indexed "
         "without doc values)"},
        {"opensearch.compression", FW_CT_BOOL, "false", 0, 0, NULL, 0,
         "ask OpenSearch for gzip-compressed answers (for a slow link: it costs CPU on both "
         "sides)"},
        {"opensearch.streams", FW_CT_INT, "2", 1, 64, NULL, 0,
         "parallel request streams (PIT slices) per producer; OpenSearch fetches a page on one "
         "thread per shard"},
        {"opensearch.slice", FW_CT_STRING, NULL, 0, 0, NULL, 0,
         "I/N: this producer reads slice I (0..N-1) of N; N producers split the cluster"},
        {"producer.safety_lag", FW_CT_DURATION, "90s", 0, 86400000, NULL, 0,
         "read only sessions written at least this long ago (index refresh + clock skew)"},
        {"producer.overlap", FW_CT_DURATION, "60s", 0, 3600000, NULL, 0,
         "re-read this much before the cursor at each poll, skipping ids already published"},
        {"producer.max_slice", FW_CT_DURATION, "1h", 1000, 604800000, NULL, 0,
         "widest @timestamp slice asked for in one request"},
        {"producer.poll_interval", FW_CT_DURATION, "5s", 100, 3600000, NULL, 0,
         "time between polls when caught up"},
        {"producer.cursor_file", FW_CT_STRING, "fanwatch-producer.cursor", 0, 0, NULL,
         FW_CF_NONEMPTY, "where the position is kept (one file per viewer)"},
        {"producer.start_lookback", FW_CT_DURATION, "1h", 0, 31536000000LL, NULL, 0,
         "without a cursor file, start this far before now"},
        {"producer.create_topic_partitions", FW_CT_INT, "0", 0, 10000, NULL, 0,
         "create a missing sessions topic with this many partitions (0: require it to exist)"},
        {"bridge.topic", FW_CT_STRING, "arkime-json", 0, 0, NULL, FW_CF_NONEMPTY,
         "bridge mode: the plugin's topic (Arkime's kafkaTopic)"},
        {"bridge.group", FW_CT_STRING, "fanwatch-bridge", 0, 0, NULL, FW_CF_NONEMPTY,
         "bridge mode: consumer group reading the plugin's topic"},
        {"producer.unhealthy_after", FW_CT_DURATION, "2m", 1000, 86400000, NULL, 0,
         "/healthz answers 503 when no poll succeeded for this long"},
        {"producer.retry_backoff_max", FW_CT_DURATION, "60s", 100, 3600000, NULL, 0,
         "longest wait between retries after a failed poll (doubling from poll_interval)"},
};

/* The producer's Kafka defaults: idempotent (acks=all, ordered, no duplicates on retry). */
static const fw_kafka_default_t producer_kafka_defaults[] = {
        {"enable.idempotence", "true", NULL},
        {"compression.type", "lz4", NULL},
        {"linger.ms", "20", NULL},
        {"message.timeout.ms", "0", NULL}, /* never expire a record: wait for the broker instead */
        {NULL, NULL, NULL},
};

/* The bridge consumer: commits only after the sessions were delivered. It keeps librdkafka's
 * eager assignment: with cooperative-sticky and no rebalance callback, librdkafka 2.0.2 does not
 * leave the group on close, so a restart waits out session.timeout.ms (45 s) before it gets
 * its partitions back (measured against Kafka 4.1.1). */
static const fw_kafka_default_t bridge_kafka_defaults[] = {
        {"enable.auto.commit", "false", "the bridge's commit rule (committed once delivered)"},
        {"auto.offset.reset", "earliest", NULL},
        {NULL, NULL, NULL},
};

static volatile sig_atomic_t stop_flag;

static int is_bridge(const fw_conf_t *conf) {
        return strcmp(fw_conf_str(conf, "producer.mode"), "bridge") == 0;
}

static int is_opensearch(const fw_conf_t *conf) {
        return strcmp(fw_conf_str(conf, "producer.mode"), "opensearch") == 0;
}

/* What the cursor file is for: the viewer (and multiviewer cluster), or the OpenSearch URL,
 * index pattern and slice. A file written by one reader is refused by the other. */
static void reader_id(const fw_conf_t *conf, char *buf, size_t len) {
        if (is_opensearch(conf)) {
                const char *slice = fw_conf_str(conf, "opensearch.slice");
                snprintf(buf, len, "opensearch %s/%s%s%s", fw_conf_str(conf, "opensearch.url"),
                         fw_conf_str(conf, "opensearch.index"), slice ? " slice " : "",
                         slice ? slice : "");
                return;
        }
        const char *cluster = fw_conf_str(conf, "arkime.cluster");
        snprintf(buf, len, "%s%s%s", fw_conf_str(conf, "arkime.url"), cluster ? "#" : "",
                 cluster ? cluster : "");
}

/* A CA file key: unset, or a file that can be opened. */
static int check_readable(const fw_conf_t *conf, const char *key, char *err, size_t errlen) {
        const char *path = fw_conf_str(conf, key);
        if (!path || !*path)
                return 0;
        FILE *f = fopen(path, "r");
        if (!f) {
                snprintf(err, errlen, "%s: key '%s': cannot open '%s': %s",
                         fw_conf_origin(conf, key), key, path, strerror(errno));
                return -1;
        }
        fclose(f);
        return 0;
}

/* opensearch.slice "I/N" (0 <= I < N <= 1024) into *id, *max (unset: 0 of 0). */
static int parse_slice(const fw_conf_t *conf, uint32_t *id, uint32_t *max, char *err,
                       size_t errlen) {
        const char *s = fw_conf_str(conf, "opensearch.slice");
        unsigned i = 0, n = 0;
        int used = 0;
        if (s && *s &&
            (sscanf(s, "%u/%u%n", &i, &n, &used) != 2 || s[used] != '\0' || n < 1 || n > 1024 ||
             i >= n)) {
                snprintf(err, errlen,
                         "%s: key 'opensearch.slice': '%s' is not I/N with 0 <= I < N <= 1024 "
                         "(e.g. 0/2 and 1/2 for two producers)",
                         fw_conf_origin(conf, "opensearch.slice"), s);
                return -1;
        }
        if (id)
                *id = i;
        if (max)
                *max = n;
        return 0;
}

/* --from/--to as given (checked by check_backfill). */
static const char *opt_from, *opt_to;

/* Usage checks of --from/--to, before the configuration is loaded. */
static int check_backfill(void *ud, int run, char *err, size_t errlen) {
        (void)ud;
        (void)run;
        int64_t from_s, to_s;
        char e[512];
        if (!opt_from && !opt_to)
                return 0;
        if (!opt_from || !opt_to) {
                snprintf(err, errlen, "backfill needs both --from and --to");
                return -1;
        }
        if (fw_time_parse(opt_from, &from_s, e, sizeof(e)) != 0 ||
            fw_time_parse(opt_to, &to_s, e, sizeof(e)) != 0) {
                snprintf(err, errlen, "backfill: %s", e);
                return -1;
        }
        if (to_s < from_s) {
                snprintf(err, errlen, "backfill: --to is before --from");
                return -1;
        }
        return 0;
}

/* --check-config and start-up: everything the producer checks before it touches the network,
 * for its mode: the viewer URL and CA file, the Kafka clients it creates (librdkafka's checks
 * of the whole configuration), and the cursor file. */
static int check_mode(const fw_conf_t *conf, char *err, size_t errlen) {
        if (fw_kafka_conf_check(conf, producer_kafka_defaults, RD_KAFKA_PRODUCER, NULL,
                                "sessions producer", err, errlen) != 0)
                return -1;
        if (is_bridge(conf))
                return fw_kafka_conf_check(conf, bridge_kafka_defaults, RD_KAFKA_CONSUMER,
                                           fw_conf_str(conf, "bridge.group"), "bridge consumer",
                                           err, errlen);
        const char *url;
        if (is_opensearch(conf)) {
                url = fw_conf_str(conf, "opensearch.url");
                if (!url || !*url) {
                        snprintf(err, errlen,
                                 "key 'opensearch.url' is required in opensearch mode (set it in "
                                 "the config file or as FANWATCH_OPENSEARCH_URL)");
                        return -1;
                }
                if (check_readable(conf, "opensearch.ca_file", err, errlen) != 0 ||
                    parse_slice(conf, NULL, NULL, err, errlen) != 0)
                        return -1;
                const char *expr = fw_conf_str(conf, "arkime.expression");
                if (expr && *expr &&
                    fw_arkime_conf_check(conf,
                                         "with arkime.expression in opensearch mode (the "
                                         "viewer translates the expression)",
                                         err, errlen) != 0)
                        return -1;
        } else {
                if (fw_arkime_conf_check(conf, "in api mode", err, errlen) != 0)
                        return -1;
                url = fw_conf_str(conf, "arkime.url");
        }
        /* the cursor file, unless a backfill (which keeps none): as run() reads it */
        if (!opt_from) {
                char viewer_id[1024], e[512];
                int64_t position = 0;
                (void)url;
                reader_id(conf, viewer_id, sizeof(viewer_id));
                if (fw_cursor_load(fw_conf_str(conf, "producer.cursor_file"), viewer_id, &position,
                                   e, sizeof(e)) < 0) {
                        snprintf(err, errlen, "%s: key 'producer.cursor_file': %s",
                                 fw_conf_origin(conf, "producer.cursor_file"), e);
                        return -1;
                }
        }
        return 0;
}

/* What /healthz looks at: written by the loop, read by the HTTP thread. */
typedef struct health {
        atomic_int ready;           /* a first poll succeeded (bridge: a first batch) */
        _Atomic int64_t last_ok_ms; /* last poll that reached the horizon */
        int64_t max_age_ms;         /* unhealthy when older than this */
} health_t;

static void on_signal(int sig) {
        (void)sig;
        stop_flag = 1;
}

/* Unhealthy until a first poll succeeded, then when none succeeded for max_age (viewer, auth or
 * Kafka trouble). */
static int health_check(void *ud, char *reason, size_t reasonlen) {
        health_t *h = ud;
        if (!atomic_load(&h->ready)) {
                snprintf(reason, reasonlen,
                         "starting: no successful poll yet (waiting for Kafka or the viewer: see "
                         "the log)");
                return 1;
        }
        int64_t age = fw_wall_ms() - atomic_load(&h->last_ok_ms);
        if (age <= h->max_age_ms)
                return 0;
        snprintf(reason, reasonlen,
                 "no successful poll for %lld s (see the log and "
                 "fanwatch_producer_errors_total)",
                 (long long)(age / 1000));
        return 1;
}

/* The shutdown budget (SIGTERM to exit within 2 s, docs/producer.md), from when the stop is seen
 * (within 50 ms of the signal): a request may run STOP_GRACE_MS, Kafka's acknowledgement of the
 * slice is awaited until STOP_DELIVERY_MS, and the final flush takes at most STOP_FLUSH_MS. */
#define STOP_GRACE_MS    1000
#define STOP_DELIVERY_MS 1200
#define STOP_FLUSH_MS    300
#define KAFKA_ASK_MS     500 /* one metadata request while waiting for Kafka */

/* Start-up: ask for the sessions topic until Kafka answers, with backoff, logging the cause
 * once (and again when it changes). 1 ready; 0 stopped while waiting; -1 the topic does not
 * exist (a configuration error: exit 1). */
static int wait_for_kafka(fw_publisher_t *pub, const fw_conf_t *conf) {
        char err[1024], logged[1024] = "";
        int create = (int)fw_conf_int(conf, "producer.create_topic_partitions");
        int64_t max = fw_conf_duration_ms(conf, "producer.retry_backoff_max");
        if (max > 10000)
                max = 10000; /* librdkafka reconnects at least this often */
        int64_t backoff = 250, since = fw_wall_ms();
        while (!stop_flag) {
                int rc = fw_publisher_check_topic(pub, create, KAFKA_ASK_MS, err, sizeof(err));
                if (rc == 1) {
                        if (logged[0])
                                fw_info("producer", "Kafka answered after %lld s",
                                        (long long)((fw_wall_ms() - since) / 1000));
                        return 1;
                }
                if (rc == 0) {
                        fw_error("producer", "%s", err);
                        return -1;
                }
                /* a slow first connection (TLS) is no cause to report: a timeout without a
                 * librdkafka error is logged only after 10 s */
                int timeout_only = strstr(err, rd_kafka_err2str(RD_KAFKA_RESP_ERR__TIMED_OUT)) &&
                                   fw_wall_ms() - since < 10000;
                if (!timeout_only && strcmp(err, logged) != 0) {
                        fw_warn("producer", "waiting for Kafka (retrying; /healthz is 503): %s",
                                err);
                        snprintf(logged, sizeof(logged), "%s", err);
                }
                fw_nap(backoff, &stop_flag);
                backoff = backoff * 2 > max ? max : backoff * 2;
        }
        fw_info("producer", "stopping while waiting for Kafka");
        return 0;
}

/* The OpenSearch reader: a client for OpenSearch (*client) and the reader over it (*os); the
 * expression, if any, translated by the viewer first (ao: the viewer's options). 0, or -1
 * logged. */
static int start_opensearch(const fw_conf_t *conf, const fw_arkime_opts_t *ao,
                            fw_os_pool_t **pool) {
        char err[1024];
        uint32_t slice_id = 0, slice_max = 0;
        if (parse_slice(conf, &slice_id, &slice_max, err, sizeof(err)) != 0) {
                fw_error("producer", "%s", err);
                return -1;
        }
        const char *user = fw_conf_str(conf, "opensearch.user");
        fw_arkime_opts_t oo = {
                .url = fw_conf_str(conf, "opensearch.url"),
                .user = user,
                .password = fw_conf_str(conf, "opensearch.password"),
                .api_key = fw_conf_str(conf, "opensearch.api_key"),
                .auth = user && *user ? FW_ARKIME_AUTH_BASIC : FW_ARKIME_AUTH_NONE,
                .ca_file = fw_conf_str(conf, "opensearch.ca_file"),
                .tls_verify = fw_conf_bool(conf, "opensearch.tls_verify"),
                .connect_timeout_ms = ao->connect_timeout_ms,
                .timeout_ms = (long)fw_conf_duration_ms(conf, "opensearch.timeout"),
                .peer = "OpenSearch",
                .identity = !fw_conf_bool(conf, "opensearch.compression"),
                .auth_hint = "check opensearch.user and its password, or opensearch.api_key (the "
                             "account needs read access to the session indices, see "
                             "docs/producer.md)",
        };
        if (!oo.tls_verify)
                fw_warn("producer",
                        "opensearch.tls_verify is off: OpenSearch is not authenticated");
        char keep_alive[32];
        snprintf(keep_alive, sizeof(keep_alive), "%lldms",
                 (long long)fw_conf_duration_ms(conf, "opensearch.keep_alive"));
        fw_os_opts_t so = {
                .index = fw_conf_str(conf, "opensearch.index"),
                .tiebreaker = fw_conf_str(conf, "opensearch.tiebreaker"),
                .keep_alive = keep_alive,
                .page_size = (uint32_t)fw_conf_int(conf, "opensearch.page_size"),
                .slice_id = slice_id,
                .slice_max = slice_max,
                .fetch_source = strcmp(fw_conf_str(conf, "opensearch.fetch"), "source") == 0,
        };
        *pool = fw_os_pool_new(&so, &oo, (unsigned)fw_conf_int(conf, "opensearch.streams"),
                               &stop_flag, STOP_GRACE_MS, err, sizeof(err));
        if (!*pool) {
                fw_error("producer", "%s", err);
                return -1;
        }
        if (ao->expression && *ao->expression) {
                fw_arkime_client_t *viewer = fw_arkime_client_new(ao, err, sizeof(err));
                int rc = viewer ? fw_os_pool_set_expression(*pool, viewer, ao->expression, err,
                                                            sizeof(err))
                                : -1;
                fw_arkime_client_free(viewer);
                if (rc != 0) {
                        fw_error("producer", "%s", err);
                        return -1;
                }
                fw_info("producer", "arkime.expression as OpenSearch query: %s",
                        fw_os_pool_query(*pool));
        }
        fw_info("producer", "reading %s/%s directly%s%s", oo.url, so.index,
                slice_max > 1 ? ", slice " : "",
                slice_max > 1 ? fw_conf_str(conf, "opensearch.slice") : "");
        return 0;
}

static int run(const fw_conf_t *conf, const char *from, const char *to) {
        char err[1024];
        int status = 1;
        fw_log_level_t level = FW_LOG_INFO;
        fw_log_level_parse(fw_conf_str(conf, "log.level"), &level);
        fw_log_set_level(level);

        int64_t from_s = -1, to_s = -1;
        if ((from || to) && (!from || !to)) {
                fw_error("producer", "backfill needs both --from and --to");
                return 2;
        }
        if (from && (fw_time_parse(from, &from_s, err, sizeof(err)) != 0 ||
                     fw_time_parse(to, &to_s, err, sizeof(err)) != 0)) {
                fw_error("producer", "backfill: %s", err);
                return 2;
        }
        if (from && to_s < from_s) {
                fw_error("producer", "backfill: --to is before --from");
                return 2;
        }

        fw_metrics_t *m = fw_metrics_new();
        fw_httpd_t *httpd = NULL;
        fw_arkime_client_t *client = NULL;
        fw_os_pool_t *pool = NULL;
        fw_publisher_t *pub = NULL;
        fw_poller_t *poller = NULL;
        fw_cursor_t cursor;
        int cursor_ready = 0;

        if (!m)
                goto out;
        int64_t interval = fw_conf_duration_ms(conf, "producer.poll_interval");
        health_t health;
        atomic_store(&health.ready, 0);
        atomic_store(&health.last_ok_ms, fw_wall_ms());
        health.max_age_ms = fw_conf_duration_ms(conf, "producer.unhealthy_after");
        httpd = fw_httpd_start_conf(conf, m, health_check, &health, "producer");
        if (!httpd)
                goto out;

        rd_kafka_conf_t *kc = fw_kafka_conf_new(conf, producer_kafka_defaults, err, sizeof(err));
        if (!kc) {
                fw_error("producer", "%s", err);
                goto out;
        }
        pub = fw_publisher_create(kc, fw_conf_str(conf, "topics.sessions"), err, sizeof(err));
        if (!pub) {
                fw_error("producer", "%s", err);
                goto out;
        }
        fw_publisher_set_stop(pub, &stop_flag);
        int ready = wait_for_kafka(pub, conf);
        if (ready <= 0) {
                status = ready < 0 ? 1 : 0; /* a missing topic, or stopped while waiting */
                goto out;
        }

        if (is_bridge(conf)) {
                rd_kafka_conf_t *cc =
                        fw_kafka_conf_new(conf, bridge_kafka_defaults, err, sizeof(err));
                if (!cc || rd_kafka_conf_set(cc, "group.id", fw_conf_str(conf, "bridge.group"), err,
                                             sizeof(err)) != RD_KAFKA_CONF_OK) {
                        if (cc)
                                rd_kafka_conf_destroy(cc);
                        fw_error("producer", "bridge consumer: %s", err);
                        goto out;
                }
                atomic_store(&health.last_ok_ms, INT64_MAX / 2); /* liveness once ready */
                if (fw_bridge_run(conf, cc, pub, m, &stop_flag, &health.ready, err, sizeof(err)) !=
                    0) {
                        fw_error("producer", "%s", err);
                        goto out;
                }
                status = 0;
                goto out;
        }

        fw_arkime_opts_t ao;
        fw_arkime_opts_from_conf(conf, &ao);
        if (is_opensearch(conf)) {
                if (start_opensearch(conf, &ao, &pool) != 0)
                        goto out;
        } else {
                if (!ao.tls_verify)
                        fw_warn("producer",
                                "arkime.tls_verify is off: the viewer is not authenticated");
                client = fw_arkime_client_new(&ao, err, sizeof(err));
                if (!client) {
                        fw_error("producer", "%s", err);
                        goto out;
                }
        }
        /* a stop lets a request (the rest of a slice being paged) run STOP_GRACE_MS */
        if (client)
                fw_arkime_client_set_stop(client, &stop_flag, STOP_GRACE_MS);

        /* the cursor: a backfill starts at --from and keeps no file */
        char viewer_id[1024];
        reader_id(conf, viewer_id, sizeof(viewer_id));
        const char *cursor_file = from ? NULL : fw_conf_str(conf, "producer.cursor_file");
        int64_t position =
                from ? from_s
                     : (fw_wall_ms() - fw_conf_duration_ms(conf, "producer.start_lookback")) / 1000;
        if (cursor_file) {
                int rc = fw_cursor_load(cursor_file, viewer_id, &position, err, sizeof(err));
                if (rc < 0) {
                        fw_error("producer", "%s", err);
                        goto out;
                }
                fw_info("producer", "%s position %s from %s", rc ? "resuming at" : "starting at",
                        FW_ISO_TIME(position), rc ? cursor_file : "producer.start_lookback");
        }
        fw_cursor_cfg_t cc = {
                .safety_lag_ms = fw_conf_duration_ms(conf, "producer.safety_lag"),
                .overlap_ms = fw_conf_duration_ms(conf, "producer.overlap"),
                .max_slice_ms = fw_conf_duration_ms(conf, "producer.max_slice"),
                .page_size = (uint32_t)fw_conf_int(conf, "arkime.page_size"),
                .max_page_size = (uint32_t)fw_conf_int(conf, "arkime.max_page_size"),
        };
        if (from)
                cc.overlap_ms = 0;
        fw_cursor_init(&cursor, &cc, position);
        cursor_ready = 1;
        fw_poller_opts_t po = {cursor_file, viewer_id, STOP_DELIVERY_MS};
        poller = fw_poller_new(&po, client, pool, pub, &cursor, m);
        if (!poller)
                goto out;

        int64_t backoff_max = fw_conf_duration_ms(conf, "producer.retry_backoff_max");
        int64_t backoff = interval;
        char last_err[1024] = "";
        while (!stop_flag) {
                /* a backfill reads [from, to] like Arkime reads startTime..stopTime: both instants
                 * included; its horizon is --to, so "now" is to + safety lag */
                int64_t now = from ? to_s * 1000 + cc.safety_lag_ms : fw_wall_ms();
                int rc = fw_poller_poll(poller, now, &stop_flag, err, sizeof(err));
                if (rc == 0) {
                        atomic_store(&health.last_ok_ms, fw_wall_ms());
                        atomic_store(&health.ready, 1);
                        if (last_err[0])
                                fw_info("producer", "recovered; position %s",
                                        FW_ISO_TIME(cursor.position_s));
                        last_err[0] = '\0';
                        backoff = interval;
                        if (from) {
                                fw_poller_stats_t ps;
                                fw_poller_stats(poller, &ps);
                                fw_info("producer",
                                        "backfill [%s, %s] done: %llu sessions published, "
                                        "requests=%llu probes=%llu reread=%llu",
                                        FW_ISO_TIME(from_s), FW_ISO_TIME(to_s),
                                        (unsigned long long)ps.published,
                                        (unsigned long long)ps.requests,
                                        (unsigned long long)ps.probes,
                                        (unsigned long long)ps.reread);
                                break;
                        }
                        fw_nap(interval, &stop_flag);
                } else if (rc < 0) {
                        /* log a cause once, not at every retry */
                        if (strcmp(err, last_err) != 0)
                                fw_warn("producer",
                                        "poll failed, retrying (cursor stays at %s): %s",
                                        FW_ISO_TIME(cursor.position_s), err);
                        snprintf(last_err, sizeof(last_err), "%s", err);
                        fw_nap(backoff, &stop_flag);
                        backoff = backoff * 2 > backoff_max ? backoff_max : backoff * 2;
                }
        }
        status = 0;
        if (stop_flag)
                fw_info("producer", "stopping; position %s", FW_ISO_TIME(cursor.position_s));
out:
        fw_poller_free(poller);
        /* on a stop, the poller already waited for what its cursor counts */
        fw_publisher_free(pub, stop_flag ? STOP_FLUSH_MS : 30000);
        if (cursor_ready)
                fw_cursor_free(&cursor);
        fw_os_pool_free(pool);
        fw_arkime_client_free(client);
        fw_httpd_stop(httpd);
        fw_metrics_free(m);
        return status;
}

int main(int argc, char **argv) {
        const fw_cli_opt_t extra[] = {
                {.name = "from",
                 .arg = "TIME",
                 .help = "backfill from TIME (epoch seconds or 2024-05-18T10:00:00Z)",
                 .value = &opt_from},
                {.name = "to",
                 .arg = "TIME",
                 .help = "backfill up to TIME (inclusive), then exit",
                 .value = &opt_to},
        };
        const fw_cli_spec_t spec = {
                .prog = "fanwatch-producer",
                .summary = "Pull Arkime sessions from the viewer API into Kafka.",
                .defs = producer_defs,
                .ndefs = sizeof(producer_defs) / sizeof(producer_defs[0]),
                .kafka_defaults = producer_kafka_defaults,
                .check = check_mode,
                .extra = extra,
                .nextra = sizeof(extra) / sizeof(extra[0]),
                .check_args = check_backfill,
        };
        fw_conf_t *conf = NULL;
        int rc = fw_cli_load(&spec, argc, argv, environ, &conf);
        if (rc >= 0)
                return rc;
        fw_cli_handle_signals(on_signal);
        rc = run(conf, opt_from, opt_to);
        fw_conf_free(conf);
        return rc;
}
