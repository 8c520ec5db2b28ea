/* Unit tests for detector/detect_conf.c: the detector's key table turned into an engine
 * configuration, and the expression rules file. Files are written to a mkdtemp directory.
 * cmocka.h needs the four headers before it, in this order. */
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "detect_conf.h"

static char tmpdir[64];
static char written[64][512];
static size_t nwritten;

static int group_setup(void **state) {
        (void)state;
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/fw_detect_conf_XXXXXX");
        return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state) {
        (void)state;
        for (size_t i = 0; i < nwritten; i++)
                unlink(written[i]);
        return rmdir(tmpdir);
}

/* Write text to <tmpdir>/<name>; returns the path (static storage per file). */
static const char *write_file(const char *name, const char *text) {
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(text, f);
        assert_int_equal(fclose(f), 0);
        for (size_t i = 0; i < nwritten; i++)
                if (strcmp(written[i], path) == 0)
                        return written[i];
        assert_true(nwritten < sizeof(written) / sizeof(written[0]));
        snprintf(written[nwritten], sizeof(written[0]), "%s", path);
        return written[nwritten++];
}

static fw_conf_t *new_conf(void) {
        fw_conf_t *conf = fw_conf_new(fw_detector_conf_defs, fw_detector_conf_ndefs);
        assert_non_null(conf);
        return conf;
}

static void set(fw_conf_t *conf, const char *key, const char *value, const char *origin) {
        char err[1024];
        if (fw_conf_set(conf, key, value, origin, err, sizeof(err)) != 0)
                fail_msg("fw_conf_set(%s = %s): %s", key, value, err);
}

/* fw_detect_cfg_from_conf must fail with a message containing each of the NULL-terminated
 * strings. */
static void expect_conf_error(const fw_conf_t *conf, ...) {
        fw_detect_cfg_t cfg;
        char err[1024] = "";
        fw_detect_cfg_defaults(&cfg);
        int rc = fw_detect_cfg_from_conf(conf, &cfg, err, sizeof(err));
        if (rc == 0) {
                fw_detect_cfg_release(&cfg);
                fail_msg("expected an error");
        }
        assert_int_equal(cfg.nrules, 0);
        assert_null(cfg.rules);
        assert_int_equal(cfg.fanout[0].allow_src.count, 0);
        va_list ap;
        va_start(ap, conf);
        for (const char *want; (want = va_arg(ap, const char *)) != NULL;) {
                if (!strstr(err, want))
                        fail_msg("error '%s' lacks '%s'", err, want);
        }
        va_end(ap);
}

/* fw_detect_rules_load on text must fail with a message containing each string. */
static void expect_rules_error(const char *name, const char *text, ...) {
        fw_detect_cfg_t cfg;
        char err[1024] = "";
        const char *path = write_file(name, text);
        fw_detect_cfg_defaults(&cfg);
        if (fw_detect_rules_load(&cfg, path, err, sizeof(err)) == 0) {
                fw_detect_cfg_release(&cfg);
                fail_msg("%s: expected an error", name);
        }
        assert_int_equal(cfg.nrules, 0);
        assert_null(cfg.rules);
        if (strncmp(err, path, strlen(path)) != 0)
                fail_msg("error '%s' does not start with the file name", err);
        va_list ap;
        va_start(ap, text);
        for (const char *want; (want = va_arg(ap, const char *)) != NULL;) {
                if (!strstr(err, want))
                        fail_msg("error '%s' lacks '%s'", err, want);
        }
        va_end(ap);
        fw_detect_cfg_release(&cfg);
}

static void session(fw_session_t *s, const char *src, const char *dst, int proto, int64_t spk,
                    int64_t dpk) {
        fw_session_init(s);
        assert_int_equal(fw_ip_parse(src, &s->src_ip), 0);
        assert_int_equal(fw_ip_parse(dst, &s->dst_ip), 0);
        s->ip_protocol = (uint8_t)proto;
        s->src_port = 40000;
        s->dst_port = 443;
        s->src_packets = spk;
        s->dst_packets = dpk;
        s->first_packet_ms = s->last_packet_ms = 1700000000000LL;
}

static const fw_rule_cfg_t *find_rule(const fw_detect_cfg_t *cfg, const char *name) {
        for (size_t i = 0; i < cfg->nrules; i++)
                if (strcmp(cfg->rules[i].name, name) == 0)
                        return &cfg->rules[i];
        return NULL;
}

/* ---- the key table ---- */

static void test_table(void **state) {
        (void)state;
        const char *want[] = {
                "log.level",           "topics.sessions",          "topics.alerts",
                "detector.start",      "detector.commit_interval", "detector.name",
                "detect.rules",        "alert.escalation",         "alert.viewer_url",
                "port_scan.allow_dst", "spike.allow_src",          "spike_total.warmup"};
        for (size_t w = 0; w < sizeof(want) / sizeof(want[0]); w++) {
                size_t i = 0;
                while (i < fw_detector_conf_ndefs && strcmp(fw_detector_conf_defs[i].key, want[w]))
                        i++;
                if (i == fw_detector_conf_ndefs)
                        fail_msg("key %s missing", want[w]);
        }
        for (size_t i = 0; i < fw_detector_conf_ndefs; i++) {
                const fw_conf_def_t *d = &fw_detector_conf_defs[i];
                assert_non_null(d->doc);
                assert_null(strchr(d->doc, '\n'));
        }
        assert_string_equal(fw_detector_conf_defs[0].key, "log.level");
}

/* ---- defaults ---- */

static void check_defaults(const fw_detect_cfg_t *c) {
        assert_int_equal(c->window_ms, 300000);
        assert_int_equal(c->lateness_ms, 600000);
        assert_true(c->escalation == 2.0);
        assert_int_equal(c->exact_max, 256);
        assert_int_equal(c->hll_p, 12);
        assert_int_equal(c->max_bytes, (size_t)1 << 30);
        assert_int_equal(c->sample_max, 10);
        assert_int_equal(c->exact_baseline, 0);
        const uint32_t thr[3] = {25, 25, 15};
        const int sev[3] = {47, 73, 47};
        for (int i = 0; i < 3; i++) {
                assert_int_equal(c->fanout[i].enabled, 1);
                assert_int_equal(c->fanout[i].threshold, thr[i]);
                assert_int_equal(c->fanout[i].failed_threshold, 0);
                assert_true(c->fanout[i].failed_share == 0.8);
                assert_int_equal(c->fanout[i].severity, sev[i]);
                assert_int_equal(c->fanout[i].allow_src.count, 0);
                assert_int_equal(c->fanout[i].allow_dst.count, 0);
        }
        const fw_spike_cfg_t *sp[2] = {&c->spike, &c->spike_total};
        for (int i = 0; i < 2; i++) {
                assert_int_equal(sp[i]->enabled, 1);
                assert_int_equal(sp[i]->interval_ms, 60000);
                assert_int_equal(sp[i]->min_count, i == 0 ? 100 : 1000);
                assert_true(sp[i]->k == 6.0);
                assert_true(sp[i]->alpha == 0.1);
                assert_int_equal(sp[i]->warmup, 10);
                assert_int_equal(sp[i]->severity, 21);
                assert_int_equal(sp[i]->allow_src.count, 0);
        }
        assert_int_equal(c->nrules, 0);
        assert_null(c->rules);
}

static void test_defaults_round_trip(void **state) {
        (void)state;
        fw_detect_cfg_t d, c;
        char err[1024];
        fw_detect_cfg_defaults(&d);
        check_defaults(&d);

        fw_conf_t *conf = new_conf();
        fw_detect_cfg_defaults(&c);
        assert_int_equal(fw_detect_cfg_from_conf(conf, &c, err, sizeof(err)), 0);
        check_defaults(&c); /* the table's defaults are the struct's */
        assert_null(fw_detect_conf_viewer_url(conf));
        fw_detect_cfg_release(&c);
        fw_detect_cfg_release(&d);
        /* release zeroes */
        assert_int_equal(c.window_ms, 0);
        assert_null(c.rules);

        /* exact_baseline is the caller's and survives */
        fw_detect_cfg_defaults(&c);
        c.exact_baseline = 1;
        assert_int_equal(fw_detect_cfg_from_conf(conf, &c, err, sizeof(err)), 0);
        assert_int_equal(c.exact_baseline, 1);
        fw_detect_cfg_release(&c);
        fw_conf_free(conf);
}

/* ---- every key ---- */

static void test_every_key(void **state) {
        (void)state;
        static const char *const kv[][2] = {
                {"detect.window", "10m"},
                {"detect.lateness", "30s"},
                {"detect.exact_max", "500"},
                {"detect.hll_p", "14"},
                {"detect.max_memory_mb", "64"},
                {"detect.sample", "32"},
                {"alert.escalation", "1.5"},
                {"alert.viewer_url", "https://arkime:8005"},
                {"sweep.enabled", "false"},
                {"sweep.threshold", "40"},
                {"sweep.failed_threshold", "10"},
                {"sweep.failed_share", "0.9"},
                {"sweep.severity", "50"},
                {"sweep_port.threshold", "30"},
                {"sweep_port.failed_threshold", "5"},
                {"sweep_port.failed_share", "1"},
                {"sweep_port.severity", "99"},
                {"port_scan.enabled", "no"},
                {"port_scan.threshold", "499"},
                {"port_scan.failed_threshold", "7"},
                {"port_scan.failed_share", "0"},
                {"port_scan.severity", "0"},
                {"spike.enabled", "off"},
                {"spike.interval", "30s"},
                {"spike.min_count", "50"},
                {"spike.k", "4.5"},
                {"spike.alpha", "0.25"},
                {"spike.warmup", "5"},
                {"spike.severity", "30"},
                {"spike_total.interval", "5m"},
                {"spike_total.min_count", "2000"},
                {"spike_total.k", "8"},
                {"spike_total.alpha", "1"},
                {"spike_total.warmup", "20"},
                {"spike_total.severity", "40"},
                {"detector.start", "earliest"},
                {"detector.commit_interval", "250ms"},
                {"detector.name", "sensor-1"},
        };
        fw_conf_t *conf = new_conf();
        for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
                set(conf, kv[i][0], kv[i][1], "t.ini:1");
        fw_detect_cfg_t c;
        char err[1024];
        fw_detect_cfg_defaults(&c);
        if (fw_detect_cfg_from_conf(conf, &c, err, sizeof(err)) != 0)
                fail_msg("%s", err);
        assert_int_equal(c.window_ms, 600000);
        assert_int_equal(c.lateness_ms, 30000);
        assert_int_equal(c.exact_max, 500);
        assert_int_equal(c.hll_p, 14);
        assert_int_equal(c.max_bytes, (size_t)64 << 20);
        assert_int_equal(c.sample_max, 32);
        assert_true(c.escalation == 1.5);
        assert_string_equal(fw_detect_conf_viewer_url(conf), "https://arkime:8005");

        assert_int_equal(c.fanout[FW_DET_SWEEP].enabled, 0);
        assert_int_equal(c.fanout[FW_DET_SWEEP].threshold, 40);
        assert_int_equal(c.fanout[FW_DET_SWEEP].failed_threshold, 10);
        assert_true(c.fanout[FW_DET_SWEEP].failed_share == 0.9);
        assert_int_equal(c.fanout[FW_DET_SWEEP].severity, 50);
        assert_int_equal(c.fanout[FW_DET_SWEEP_PORT].enabled, 1);
        assert_int_equal(c.fanout[FW_DET_SWEEP_PORT].threshold, 30);
        assert_int_equal(c.fanout[FW_DET_SWEEP_PORT].failed_threshold, 5);
        assert_true(c.fanout[FW_DET_SWEEP_PORT].failed_share == 1.0);
        assert_int_equal(c.fanout[FW_DET_SWEEP_PORT].severity, 99);
        assert_int_equal(c.fanout[FW_DET_PORTSCAN].enabled, 0);
        assert_int_equal(c.fanout[FW_DET_PORTSCAN].threshold, 499);
        assert_int_equal(c.fanout[FW_DET_PORTSCAN].failed_threshold, 7);
        assert_true(c.fanout[FW_DET_PORTSCAN].failed_share == 0.0);
        assert_int_equal(c.fanout[FW_DET_PORTSCAN].severity, 0);

        assert_int_equal(c.spike.enabled, 0);
        assert_int_equal(c.spike.interval_ms, 30000);
        assert_int_equal(c.spike.min_count, 50);
        assert_true(c.spike.k == 4.5);
        assert_true(c.spike.alpha == 0.25);
        assert_int_equal(c.spike.warmup, 5);
        assert_int_equal(c.spike.severity, 30);
        assert_int_equal(c.spike_total.enabled, 1);
        assert_int_equal(c.spike_total.interval_ms, 300000);
        assert_int_equal(c.spike_total.min_count, 2000);
        assert_true(c.spike_total.k == 8.0);
        assert_true(c.spike_total.alpha == 1.0);
        assert_int_equal(c.spike_total.warmup, 20);
        assert_int_equal(c.spike_total.severity, 40);

        assert_string_equal(fw_conf_str(conf, "detector.start"), "earliest");
        assert_int_equal(fw_conf_duration_ms(conf, "detector.commit_interval"), 250);
        assert_string_equal(fw_conf_str(conf, "detector.name"), "sensor-1");
        fw_detect_cfg_release(&c);
        fw_conf_free(conf);
}

/* Out-of-range values are refused by the table itself. */
static void test_table_bounds(void **state) {
        (void)state;
        static const char *const bad[][2] = {
                {"detect.window", "500ms"},   {"detect.window", "2d"},
                {"detect.lateness", "7h"},    {"detect.hll_p", "9"},
                {"detect.hll_p", "17"},       {"detect.max_memory_mb", "8"},
                {"detect.sample", "0"},       {"detect.sample", "33"},
                {"sweep.severity", "101"},    {"sweep.threshold", "0"},
                {"detector.start", "newest"}, {"detector.commit_interval", "10ms"},
                {"spike.warmup", "0"},        {"detect.exact_max", "0"},
        };
        fw_conf_t *conf = new_conf();
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                char err[1024];
                if (fw_conf_set(conf, bad[i][0], bad[i][1], "t.ini:2", err, sizeof(err)) == 0)
                        fail_msg("%s = %s accepted", bad[i][0], bad[i][1]);
                assert_non_null(strstr(err, bad[i][0]));
        }
        fw_conf_free(conf);
}

/* ---- allowlists ---- */

static void test_allowlists(void **state) {
        (void)state;
        fw_conf_t *conf = new_conf();
        set(conf, "sweep.allow_src", "10.0.0.0/8, 192.168.1.7 2001:db8::/32", "t.ini:3");
        set(conf, "sweep_port.allow_dst", "172.16.0.0/12", "t.ini:4");
        set(conf, "port_scan.allow_src", "10.9.9.9,10.9.9.10", "t.ini:5");
        set(conf, "spike.allow_src", "fd00::/8", "t.ini:6");
        fw_detect_cfg_t c;
        char err[1024];
        fw_detect_cfg_defaults(&c);
        if (fw_detect_cfg_from_conf(conf, &c, err, sizeof(err)) != 0)
                fail_msg("%s", err);
        assert_int_equal(c.fanout[FW_DET_SWEEP].allow_src.count, 3);
        assert_int_equal(c.fanout[FW_DET_SWEEP].allow_dst.count, 0);
        assert_int_equal(c.fanout[FW_DET_SWEEP_PORT].allow_dst.count, 1);
        assert_int_equal(c.fanout[FW_DET_PORTSCAN].allow_src.count, 2);
        assert_int_equal(c.spike.allow_src.count, 1);
        fw_ip_t ip;
        assert_int_equal(fw_ip_parse("10.200.3.4", &ip), 0);
        assert_true(fw_cidr_list_contains(&c.fanout[FW_DET_SWEEP].allow_src, &ip));
        assert_int_equal(fw_ip_parse("192.168.1.8", &ip), 0);
        assert_false(fw_cidr_list_contains(&c.fanout[FW_DET_SWEEP].allow_src, &ip));
        assert_int_equal(fw_ip_parse("2001:db8::1", &ip), 0);
        assert_true(fw_cidr_list_contains(&c.fanout[FW_DET_SWEEP].allow_src, &ip));
        assert_int_equal(fw_ip_parse("172.31.255.255", &ip), 0);
        assert_true(fw_cidr_list_contains(&c.fanout[FW_DET_SWEEP_PORT].allow_dst, &ip));
        fw_detect_cfg_release(&c);

        /* a bad element names the origin, the key and the element */
        set(conf, "port_scan.allow_dst", "10.0.0.0/8, 10.1.2.3/8", "detector.ini:17");
        expect_conf_error(conf, "detector.ini:17: key 'port_scan.allow_dst': ", "'10.1.2.3/8'",
                          NULL);
        fw_conf_free(conf);

        /* from the environment, the variable is named */
        conf = new_conf();
        char *envp[] = {"FANWATCH_SPIKE_ALLOW__SRC=10.0.0.0/33", NULL};
        assert_int_equal(fw_conf_load_env(conf, envp, err, sizeof(err)), 0);
        expect_conf_error(conf, "environment FANWATCH_SPIKE_ALLOW__SRC: key 'spike.allow_src': ",
                          "'10.0.0.0/33'", NULL);
        fw_conf_free(conf);

        /* from a file, file and line */
        conf = new_conf();
        const char *ini = write_file("allow.ini", "[sweep]\nthreshold = 30\nallow_src = nope\n");
        assert_int_equal(fw_conf_load_file(conf, ini, err, sizeof(err)), 0);
        char want[600];
        snprintf(want, sizeof(want), "%s:3: key 'sweep.allow_src': bad CIDR 'nope'", ini);
        expect_conf_error(conf, want, NULL);
        fw_conf_free(conf);
}

/* ---- cross-key checks ---- */

static void test_exact_max(void **state) {
        (void)state;
        fw_conf_t *conf = new_conf();
        set(conf, "detect.exact_max", "25", "detector.ini:9");
        /* sweep's 25 is not below 25: blame exact_max, which was set */
        expect_conf_error(conf, "detector.ini:9: key 'detect.exact_max': 25 must be greater",
                          "sweep.threshold is 25 (default)", NULL);
        set(conf, "detect.exact_max", "26", "detector.ini:9");
        fw_detect_cfg_t c;
        char err[1024];
        fw_detect_cfg_defaults(&c);
        assert_int_equal(fw_detect_cfg_from_conf(conf, &c, err, sizeof(err)), 0);
        fw_detect_cfg_release(&c);
        fw_conf_free(conf);

        /* a threshold raised above the default exact_max: blame the threshold */
        conf = new_conf();
        set(conf, "port_scan.threshold", "256", "detector.ini:30");
        expect_conf_error(conf,
                          "detector.ini:30: key 'port_scan.threshold': 256 is not below "
                          "detect.exact_max (256, default)",
                          NULL);
        /* a disabled detection does not count */
        set(conf, "port_scan.enabled", "false", "detector.ini:31");
        fw_detect_cfg_defaults(&c);
        assert_int_equal(fw_detect_cfg_from_conf(conf, &c, err, sizeof(err)), 0);
        assert_int_equal(c.fanout[FW_DET_PORTSCAN].threshold, 256);
        fw_detect_cfg_release(&c);
        fw_conf_free(conf);
}

static void test_numbers(void **state) {
        (void)state;
        /* float keys (FW_CT_FLOAT) are checked against their interval when set, the error
         * naming origin and key */
        static const struct {
                const char *key, *value, *want;
        } bad[] = {
                {"alert.escalation", "1", "expected a number > 1, got '1'"},
                {"alert.escalation", "0.5", "expected a number > 1"},
                {"alert.escalation", "two", "expected a number > 1, got 'two'"},
                {"alert.escalation", "", "expected a number > 1"},
                {"alert.escalation", "inf", "expected a number > 1"},
                {"sweep.failed_share", "1.5", "expected a number from 0 to 1, got '1.5'"},
                {"sweep_port.failed_share", "-0.1", "a number from 0 to 1"},
                {"spike.k", "0", "expected a number > 0"},
                {"spike_total.alpha", "0", "a number with 0 < x <= 1"},
                {"spike.alpha", "1.01", "a number with 0 < x <= 1"},
                {"spike.alpha", "0.1x", "a number with 0 < x <= 1, got '0.1x'"},
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                fw_conf_t *conf = new_conf();
                char err[1024] = "", head[128];
                assert_int_equal(fw_conf_set(conf, bad[i].key, bad[i].value, "detector.ini:12", err,
                                             sizeof(err)),
                                 -1);
                snprintf(head, sizeof(head), "detector.ini:12: key '%s': ", bad[i].key);
                if (strstr(err, head) == NULL || strstr(err, bad[i].want) == NULL)
                        fail_msg("%s = '%s': got \"%s\"", bad[i].key, bad[i].value, err);
                fw_conf_free(conf);
        }
        /* in range: read back as numbers */
        fw_conf_t *ok = new_conf();
        set(ok, "alert.escalation", "1.5", "detector.ini:3");
        set(ok, "sweep.failed_share", "1", "detector.ini:4");
        set(ok, "spike.alpha", "1", "detector.ini:5");
        fw_detect_cfg_t cfg;
        char err[1024];
        fw_detect_cfg_defaults(&cfg);
        assert_int_equal(fw_detect_cfg_from_conf(ok, &cfg, err, sizeof(err)), 0);
        assert_true(cfg.escalation == 1.5);
        assert_true(cfg.fanout[FW_DET_SWEEP].failed_share == 1.0);
        assert_true(cfg.spike.alpha == 1.0);
        fw_detect_cfg_release(&cfg);
        fw_conf_free(ok);

        fw_conf_t *conf;
        /* a failed-connection threshold must be below the threshold */
        conf = new_conf();
        set(conf, "sweep.failed_threshold", "25", "detector.ini:8");
        expect_conf_error(conf,
                          "detector.ini:8: key 'sweep.failed_threshold': 25 must be lower "
                          "than sweep.threshold (25)",
                          NULL);
        fw_conf_free(conf);
}

/* ---- rules file ---- */

#define STUDY_RULE                                                                                 \
        "packets == 1 && ip.protocol == tcp && ip.src != 131.206.0.0/16 && "                       \
        "ip.dst != 131.206.0.0/16"

static void test_rules_study(void **state) {
        (void)state;
        const char *path = write_file("study.ini", "; the study's rule\n"
                                                   "[private_leak]\n"
                                                   "expression = " STUDY_RULE "\n");
        fw_detect_cfg_t c;
        char err[1024];
        fw_detect_cfg_defaults(&c);
        if (fw_detect_rules_load(&c, path, err, sizeof(err)) != 0)
                fail_msg("%s", err);
        assert_int_equal(c.nrules, 1);
        const fw_rule_cfg_t *r = &c.rules[0];
        assert_string_equal(r->name, "private_leak");
        assert_int_equal(r->threshold, 1);
        assert_int_equal(r->severity, 47);
        assert_null(r->technique);
        assert_int_equal(r->allow_src.count, 0);
        assert_non_null(r->expr);

        fw_session_t s;
        /* leaked: one TCP packet between private addresses */
        session(&s, "10.1.2.3", "192.168.7.9", 6, 1, 0);
        assert_true(fw_expr_match(r->expr, &s));
        /* IPv6 on both ends is outside the v4 range too, as in Arkime */
        session(&s, "fd00::1", "fd00::2", 6, 1, 0);
        assert_true(fw_expr_match(r->expr, &s));
        /* one end on campus */
        session(&s, "131.206.4.5", "10.0.0.1", 6, 1, 0);
        assert_false(fw_expr_match(r->expr, &s));
        session(&s, "10.0.0.1", "131.206.255.1", 6, 1, 0);
        assert_false(fw_expr_match(r->expr, &s));
        /* more than one packet */
        session(&s, "10.1.2.3", "192.168.7.9", 6, 1, 1);
        assert_false(fw_expr_match(r->expr, &s));
        /* UDP */
        session(&s, "10.1.2.3", "192.168.7.9", 17, 1, 0);
        assert_false(fw_expr_match(r->expr, &s));
        /* packet counts unknown: packets == 1 cannot match */
        session(&s, "10.1.2.3", "192.168.7.9", 6, FW_ABSENT, FW_ABSENT);
        assert_false(fw_expr_match(r->expr, &s));
        fw_detect_cfg_release(&c);
}

static void test_rules_keys(void **state) {
        (void)state;
        expect_rules_error("keys_bad.ini",
                           "[x]\nexpression = port == 1\ntechnique_unused_but_checked = 1\n",
                           ":3: rule 'x' key 'technique_unused_but_checked': unknown key", NULL);

        const char *path =
                write_file("keys.ini", "# two rules, one disabled\n"
                                       "[smb.clients-1]\n"
                                       "expression = ip.src == 10.20.0.0/16 && port.dst == 445\n"
                                       "    && ip.protocol == tcp ; continued\n"
                                       "threshold = 5\n"
                                       "severity = 73\n"
                                       "technique = T1021.002\n"
                                       "allow_src = 10.20.0.10, 10.20.1.0/24\n"
                                       "enabled = yes\n"
                                       "\n"
                                       "[off]\n"
                                       "expression = port.dst == 23\n"
                                       "enabled = false\n"
                                       "[disco]\n"
                                       "expression = port.dst == 5353\n"
                                       "technique = T1046\n");
        fw_detect_cfg_t c;
        char err[1024];
        fw_detect_cfg_defaults(&c);
        if (fw_detect_rules_load(&c, path, err, sizeof(err)) != 0)
                fail_msg("%s", err);
        assert_int_equal(c.nrules, 2); /* [off] is disabled: not loaded */
        assert_null(find_rule(&c, "off"));
        const fw_rule_cfg_t *r = find_rule(&c, "smb.clients-1");
        assert_non_null(r);
        assert_int_equal(r->threshold, 5);
        assert_int_equal(r->severity, 73);
        assert_string_equal(r->technique, "T1021.002");
        assert_int_equal(r->allow_src.count, 2);
        assert_string_equal(fw_expr_text(r->expr),
                            "ip.src == 10.20.0.0/16 && port.dst == 445 && ip.protocol == tcp");
        fw_session_t s;
        session(&s, "10.20.3.4", "10.1.0.5", 6, 3, 2);
        s.dst_port = 445;
        assert_true(fw_expr_match(r->expr, &s));
        r = find_rule(&c, "disco");
        assert_non_null(r);
        assert_string_equal(r->technique, "T1046");
        assert_int_equal(r->threshold, 1);

        /* loading appends; the same names again clash with the loaded rules */
        assert_int_equal(fw_detect_rules_load(&c, path, err, sizeof(err)), -1);
        assert_non_null(strstr(err, ":2: rule 'smb.clients-1': already loaded"));
        assert_int_equal(c.nrules, 2);
        const char *more = write_file("more.ini", "[more]\nexpression = port == 1\n");
        assert_int_equal(fw_detect_rules_load(&c, more, err, sizeof(err)), 0);
        assert_int_equal(c.nrules, 3);
        fw_detect_cfg_release(&c);
}

static void test_rules_errors(void **state) {
        (void)state;
        /* a bad expression: file, line, rule, key and the compiler's line:column */
        expect_rules_error("badexpr.ini",
                           "[ok]\nexpression = port == 1\n\n[leak]\nthreshold = 2\n"
                           "expression = packets == 1 && ip.sorc != 131.206.0.0/16\n",
                           ":6: rule 'leak' key 'expression': expression:1:17: unknown field "
                           "'ip.sorc'",
                           NULL);
        expect_rules_error("dup.ini",
                           "[a]\nexpression = port == 1\n[b]\nexpression = port == 2\n"
                           "[a]\nexpression = port == 3\n",
                           ":5: rule 'a': defined twice (first at line 1)", NULL);
        /* a disabled rule still takes its name */
        expect_rules_error("dup_disabled.ini",
                           "[a]\nexpression = port == 1\nenabled = false\n[a]\n"
                           "expression = port == 3\n",
                           ":4: rule 'a': defined twice", NULL);
        expect_rules_error("unknown.ini", "[a]\nexpression = port == 1\nthreshhold = 3\n",
                           ":3: rule 'a' key 'threshhold': unknown key (did you mean 'threshold'?)",
                           NULL);
        expect_rules_error("missing.ini", "[a]\nexpression = port == 1\n\n[b]\nthreshold = 2\n",
                           ":4: rule 'b': missing key 'expression'", NULL);
        /* an empty section, then another: still missing */
        expect_rules_error("missing2.ini", "[a]\n[b]\nexpression = port == 1\n",
                           ":1: rule 'a': missing key 'expression'", NULL);
        expect_rules_error("technique.ini", "[a]\nexpression = port == 1\ntechnique = T15\n",
                           ":3: rule 'a' key 'technique': expected a MITRE ATT&CK id", "got 'T15'",
                           NULL);
        /* alerts are JSON: rule text must be UTF-8 (here a Latin-1 e-acute in a value) */
        expect_rules_error("latin1.ini", "[a]\nexpression = node == caf\xe9\n",
                           ":2: rule 'a' key 'expression': not valid UTF-8 (byte 12 of the value)",
                           NULL);
        expect_rules_error("technique2.ini", "[a]\nexpression = port == 1\ntechnique = T1021.02\n",
                           ":3: rule 'a' key 'technique'", NULL);
        expect_rules_error("technique3.ini", "[a]\nexpression = port == 1\ntechnique = t1046\n",
                           ":3: rule 'a' key 'technique'", NULL);
        expect_rules_error("builtin.ini", "[port_scan]\nexpression = port == 1\n",
                           ":1: rule 'port_scan': the name of a built-in detection", NULL);
        expect_rules_error("builtin2.ini", "[a]\nexpression = port == 1\n[session_spike_total]\n",
                           ":3: rule 'session_spike_total': the name of a built-in", NULL);
        expect_rules_error("nosection.ini", "expression = port == 1\n[a]\n",
                           ":1: key 'expression': outside any rule", NULL);
        expect_rules_error("badname.ini", "[a b]\nexpression = port == 1\n",
                           ":1: bad rule name 'a b'", NULL);
        expect_rules_error("longname.ini",
                           "[a1234567890123456789012345678901234567890123456789012345678901234]\n"
                           "expression = port == 1\n",
                           ":1: bad rule name", NULL);
        expect_rules_error("emptyname.ini", "[]\nexpression = port == 1\n", ":1: bad rule name ''",
                           NULL);
        expect_rules_error("threshold.ini", "[a]\nexpression = port == 1\nthreshold = 0\n",
                           ":3: rule 'a' key 'threshold': expected", "got '0'", NULL);
        expect_rules_error("severity.ini", "[a]\nexpression = port == 1\nseverity = 101\n",
                           ":3: rule 'a' key 'severity': expected", NULL);
        expect_rules_error("enabled.ini", "[a]\nexpression = port == 1\nenabled = maybe\n",
                           ":3: rule 'a' key 'enabled': expected true/false", NULL);
        expect_rules_error("allow.ini", "[a]\nexpression = port == 1\nallow_src = 10.0.0.1/8\n",
                           ":3: rule 'a' key 'allow_src': bad CIDR '10.0.0.1/8'", NULL);
        expect_rules_error("twice.ini", "[a]\nexpression = port == 1\nseverity = 3\nseverity = 4\n",
                           ":4: rule 'a' key 'severity': given twice", NULL);
        expect_rules_error("empty_expr.ini", "[a]\nexpression =\n",
                           ":2: rule 'a' key 'expression': empty", NULL);
        /* syntax errors are reported in file order, before later key errors */
        expect_rules_error("syntax.ini",
                           "[a]\nexpression = port == 1\nthis is not a key\nbogus = 1\n",
                           ":3: syntax error", NULL);
        /* an error after a syntax error is not reported first; one before it is */
        expect_rules_error("syntax2.ini",
                           "[a]\nexpression = port == 1\nbogus = 1\nthis is not a key\n",
                           ":3: rule 'a' key 'bogus': unknown key", NULL);
        char longline[400];
        snprintf(longline, sizeof(longline), "[a]\nexpression = port == 1 %0300d\n", 0);
        expect_rules_error("long.ini", longline, ":2: line longer than", NULL);
        expect_rules_error("trailing.ini", "[a] b\nexpression = port == 1\n",
                           ":1: unexpected text after ']'", NULL);

        fw_detect_cfg_t c;
        char err[1024];
        fw_detect_cfg_defaults(&c);
        char path[600];
        snprintf(path, sizeof(path), "%s/nonexistent.ini", tmpdir);
        assert_int_equal(fw_detect_rules_load(&c, path, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "nonexistent.ini: cannot open"));

        /* an empty file (or comments only) is no rules */
        const char *empty = write_file("empty.ini", "; nothing yet\n\n");
        assert_int_equal(fw_detect_rules_load(&c, empty, err, sizeof(err)), 0);
        assert_int_equal(c.nrules, 0);
        fw_detect_cfg_release(&c);
}

/* detect.rules through the configuration. */
static void test_rules_from_conf(void **state) {
        (void)state;
        const char *rules = write_file("conf_rules.ini", "[private_leak]\n"
                                                         "expression = " STUDY_RULE "\n"
                                                         "severity = 30\n");
        fw_conf_t *conf = new_conf();
        set(conf, "detect.rules", rules, "detector.ini:20");
        fw_detect_cfg_t c;
        char err[1024];
        fw_detect_cfg_defaults(&c);
        if (fw_detect_cfg_from_conf(conf, &c, err, sizeof(err)) != 0)
                fail_msg("%s", err);
        assert_int_equal(c.nrules, 1);
        assert_string_equal(c.rules[0].name, "private_leak");
        assert_int_equal(c.rules[0].severity, 30);
        fw_detect_cfg_release(&c);

        /* a bad rules file fails the whole configuration, leaving nothing to free */
        const char *bad = write_file("conf_rules_bad.ini", "[x]\nexpression = port ==\n");
        set(conf, "detect.rules", bad, "detector.ini:20");
        expect_conf_error(conf, ":2: rule 'x' key 'expression': expression:1:", NULL);

        char missing[600];
        snprintf(missing, sizeof(missing), "%s/absent.ini", tmpdir);
        set(conf, "detect.rules", missing, "detector.ini:20");
        expect_conf_error(conf, "detector.ini:20: key 'detect.rules': ", "absent.ini: cannot open",
                          NULL);
        fw_conf_free(conf);
}

/* The shipped example loads, and its rule is the study's. */
static void test_rules_example(void **state) {
        (void)state;
        const char *data = getenv("FW_TEST_DATA");
        char path[4096];
        if (data)
                snprintf(path, sizeof(path), "%s/../../detector/rules.example.ini", data);
        else
                snprintf(path, sizeof(path), "detector/rules.example.ini");
        if (access(path, R_OK) != 0)
                skip();
        fw_detect_cfg_t c;
        char err[1024];
        fw_detect_cfg_defaults(&c);
        if (fw_detect_rules_load(&c, path, err, sizeof(err)) != 0)
                fail_msg("%s", err);
        const fw_rule_cfg_t *r = find_rule(&c, "private_leak");
        assert_non_null(r);
        assert_string_equal(fw_expr_text(r->expr), STUDY_RULE);
        assert_null(r->technique);
        fw_detect_cfg_release(&c);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_table),           cmocka_unit_test(test_defaults_round_trip),
                cmocka_unit_test(test_every_key),       cmocka_unit_test(test_table_bounds),
                cmocka_unit_test(test_allowlists),      cmocka_unit_test(test_exact_max),
                cmocka_unit_test(test_numbers),         cmocka_unit_test(test_rules_study),
                cmocka_unit_test(test_rules_keys),      cmocka_unit_test(test_rules_errors),
                cmocka_unit_test(test_rules_from_conf), cmocka_unit_test(test_rules_example),
        };
        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
