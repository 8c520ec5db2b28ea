/* fanwatch-detector: sessions topic -> fan-out detections -> alerts topic.
 * Loads the configuration (--check-config validates it, the rules file and every
 * kafka.<property>), serves /metrics and /healthz, and runs the consumer loop (consumer.c) until
 * SIGTERM or SIGINT. Exit status: 0 clean stop, 1 configuration or runtime error. */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "consumer.h"
#include "detect_conf.h"
#include "httpd.h"
#include "kafka_conf.h"
#include "log.h"
#include "timeutil.h"

extern char **environ;

/* The detector consumes as one group and stores offsets only after handling a record. */
static const fw_kafka_default_t detector_kafka_defaults[] = {
        {"group.id", "fanwatch-detector", NULL},
        {"partition.assignment.strategy", "cooperative-sticky", NULL},
        /* fanwatch's own: commits carry the partition clock and never pass an alert not yet
         * delivered (consumer.h); where a new group starts is detector.start's */
        {"enable.auto.offset.store", "false",
         "the detector's commit rule (offsets stored once handled)"},
        {"enable.auto.commit", "false",
         "the detector's commit rule (offsets committed once handled)"},
        {"auto.offset.reset", "earliest", "detector.start"},
        {"fetch.wait.max.ms", "100", NULL}, /* detection latency */
        /* librdkafka 2.0.2 counts this across all assigned partitions and refills only on a 1 s
         * timer below it: the default 100,000 stalls a busy consumer (memory stays bounded by
         * queued.max.messages.kbytes, 64 MB) */
        {"queued.min.messages", "1000000", NULL},
        /* larger fetches keep two worker threads fed (measured: +20% on bench/detector_e2e.py);
         * the prefetch queue stays bounded at 256 MB */
        {"max.partition.fetch.bytes", "4194304", NULL},
        {"queued.max.messages.kbytes", "262144", NULL},
        {NULL, NULL, NULL},
};

/* The alerts producer: idempotent, short linger (an alert is wanted now), never expires a
 * record (offsets wait for its delivery instead). */
static const fw_kafka_default_t alerts_kafka_defaults[] = {
        {"enable.idempotence", "true", NULL},
        {"linger.ms", "5", NULL},
        {"message.timeout.ms", "0", NULL},
        {NULL, NULL, NULL},
};

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig) {
        (void)sig;
        stop_flag = 1;
}

/* Unhealthy until the group assigned partitions, when the sessions topic does not exist, when
 * the loop is stuck, or when no broker was reachable for 30 s. */
static int health_check(void *ud, char *reason, size_t reasonlen) {
        fw_detector_health_t *h = ud;
        int64_t now = fw_wall_ms();
        int64_t last = atomic_load(&h->last_progress_ms);
        int64_t down = atomic_load(&h->broker_down_since_ms);
        if (atomic_load(&h->topic_missing)) {
                snprintf(reason, reasonlen, "topic %s does not exist (waiting for it)",
                         h->topic ? h->topic : "topics.sessions");
                return 1;
        }
        if (!atomic_load(&h->assigned)) {
                if (down != 0)
                        snprintf(reason, reasonlen,
                                 "starting: no Kafka broker reachable for %lld s (see the log)",
                                 (long long)((now - down) / 1000));
                else
                        snprintf(reason, reasonlen,
                                 "starting: waiting for the group to assign partitions");
                return 1;
        }
        if (now - last > 30000) {
                snprintf(reason, reasonlen, "consumer loop stalled for %lld s",
                         (long long)((now - last) / 1000));
                return 1;
        }
        if (down != 0 && now - down > 30000) {
                snprintf(reason, reasonlen, "no Kafka broker reachable for %lld s",
                         (long long)((now - down) / 1000));
                return 1;
        }
        return 0;
}

static int run(const fw_conf_t *conf) {
        char err[1024];
        int status = 1;
        fw_log_level_t level = FW_LOG_INFO;
        fw_log_level_parse(fw_conf_str(conf, "log.level"), &level);
        fw_log_set_level(level);

        fw_detect_cfg_t dcfg;
        fw_detect_cfg_defaults(&dcfg);
        if (fw_detect_cfg_from_conf(conf, &dcfg, err, sizeof(err)) != 0) {
                fw_error("detector", "%s", err);
                return 1;
        }
        fw_metrics_t *m = fw_metrics_new();
        fw_httpd_t *httpd = NULL;
        fw_detector_health_t health;
        atomic_store(&health.last_progress_ms, fw_wall_ms());
        atomic_store(&health.broker_down_since_ms, 0);
        atomic_store(&health.assigned, 0);
        atomic_store(&health.topic_missing, 0);
        health.topic = fw_conf_str(conf, "topics.sessions");
        if (m == NULL)
                goto out;
        httpd = fw_httpd_start_conf(conf, m, health_check, &health, "detector");
        if (!httpd)
                goto out;

        rd_kafka_conf_t *cc = fw_kafka_conf_new(conf, detector_kafka_defaults, err, sizeof(err));
        if (!cc) {
                fw_error("detector", "%s", err);
                goto out;
        }
        rd_kafka_conf_t *pc = fw_kafka_conf_new(conf, alerts_kafka_defaults, err, sizeof(err));
        if (!pc) {
                rd_kafka_conf_destroy(cc);
                fw_error("detector", "%s", err);
                goto out;
        }
        char host[256] = "";
        const char *observer = fw_conf_str(conf, "detector.name");
        if (observer == NULL || observer[0] == '\0') {
                if (gethostname(host, sizeof(host) - 1) == 0)
                        observer = host;
                else
                        observer = NULL;
        }
        const char *viewer = fw_conf_str(conf, "alert.viewer_url");
        fw_detector_opts_t o = {
                .sessions_topic = fw_conf_str(conf, "topics.sessions"),
                .alerts_topic = fw_conf_str(conf, "topics.alerts"),
                .start_latest = strcmp(fw_conf_str(conf, "detector.start"), "latest") == 0,
                .commit_interval_ms = fw_conf_duration_ms(conf, "detector.commit_interval"),
                .threads = (int)fw_conf_int(conf, "detector.threads"),
                .observer = observer,
                .viewer_url = viewer && viewer[0] ? viewer : NULL,
        };
        if (fw_detector_run(&o, &dcfg, cc, pc, m, &health, &stop_flag, err, sizeof(err)) != 0) {
                fw_error("detector", "%s", err);
                goto out;
        }
        fw_info("detector", "stopped");
        status = 0;
out:
        fw_httpd_stop(httpd);
        fw_metrics_free(m);
        fw_detect_cfg_release(&dcfg);
        return status;
}

/* --check-config and start-up: the detection keys and the rules file build an engine
 * configuration, and librdkafka accepts the configuration of both clients the detector creates
 * (checked without a broker). */
static int check_detection(const fw_conf_t *conf, char *err, size_t errlen) {
        if (fw_detect_cfg_check(conf, err, errlen) != 0)
                return -1;
        if (fw_kafka_conf_check(conf, detector_kafka_defaults, RD_KAFKA_CONSUMER, NULL,
                                "sessions consumer", err, errlen) != 0 ||
            fw_kafka_conf_check(conf, alerts_kafka_defaults, RD_KAFKA_PRODUCER, NULL,
                                "alerts producer", err, errlen) != 0)
                return -1;
        return 0;
}

int main(int argc, char **argv) {
        const fw_cli_spec_t spec = {
                .prog = "fanwatch-detector",
                .summary = "Detect fan-out (scans, sweeps, lateral movement) in Arkime sessions.",
                .defs = fw_detector_conf_defs,
                .ndefs = fw_detector_conf_ndefs,
                .kafka_defaults = detector_kafka_defaults,
                .check = check_detection,
        };
        fw_conf_t *conf = NULL;
        int rc = fw_cli_load(&spec, argc, argv, environ, &conf);
        if (rc >= 0)
                return rc;
        fw_cli_handle_signals(on_signal);
        rc = run(conf);
        fw_conf_free(conf);
        return rc;
}
