/* Unit tests for common/metrics.c (registry, exposition text, atomics) and common/httpd.c
 * (the /metrics and /healthz endpoint, driven with libcurl). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four headers above first. */
#include <cmocka.h>

#include <curl/curl.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "httpd.h"
#include "metrics.h"

/* ---- metrics ---- */

static void test_render_exact(void **state) {
        (void)state;
        fw_metrics_t *m = fw_metrics_new_empty();
        assert_non_null(m);

        fw_counter_t *plain =
                fw_metrics_counter(m, "fanwatch_test_events_total", NULL, "Events seen.");
        fw_counter_t *http = fw_metrics_counter(m, "fanwatch_test_errors_total",
                                                "kind=\"http_5xx\"", "Errors by kind.");
        fw_counter_t *parse = fw_metrics_counter(m, "fanwatch_test_errors_total", "kind=\"parse\"",
                                                 "ignored: first help wins");
        fw_gauge_t *lag = fw_metrics_gauge(m, "fanwatch_test_lag_seconds", NULL, "Lag.");
        const double bounds[] = {0.005, 0.25, 2.5};
        fw_histogram_t *lat = fw_metrics_histogram(m, "fanwatch_test_latency_seconds",
                                                   "stage=\"poll\"", "Latency.", bounds, 3);
        assert_non_null(plain);
        assert_non_null(http);
        assert_non_null(parse);
        assert_non_null(lag);
        assert_non_null(lat);

        fw_counter_add(plain, 41);
        fw_counter_add(plain, 1);
        fw_counter_add(http, 3);
        assert_int_equal(fw_counter_get(plain), 42);
        fw_gauge_set(lag, 1.5);
        fw_gauge_add(lag, 0.25);
        fw_gauge_add(lag, -1);
        assert_true(fw_gauge_get(lag) == 0.75);
        /* Binary fractions, so that the sum is exact. */
        fw_histogram_observe(lat, 0.001953125);
        fw_histogram_observe(lat, 0.25); /* upper bounds are inclusive */
        fw_histogram_observe(lat, 0.5);
        fw_histogram_observe(lat, 4);

        const char *expected =
                "# HELP fanwatch_test_events_total Events seen\n"
                "# TYPE fanwatch_test_events_total counter\n"
                "fanwatch_test_events_total 42\n"
                "# HELP fanwatch_test_errors_total Errors by kind\n"
                "# TYPE fanwatch_test_errors_total counter\n"
                "fanwatch_test_errors_total{kind=\"http_5xx\"} 3\n"
                "fanwatch_test_errors_total{kind=\"parse\"} 0\n"
                "# HELP fanwatch_test_lag_seconds Lag\n"
                "# TYPE fanwatch_test_lag_seconds gauge\n"
                "fanwatch_test_lag_seconds 0.75\n"
                "# HELP fanwatch_test_latency_seconds Latency\n"
                "# TYPE fanwatch_test_latency_seconds histogram\n"
                "fanwatch_test_latency_seconds_bucket{stage=\"poll\",le=\"0.005\"} 1\n"
                "fanwatch_test_latency_seconds_bucket{stage=\"poll\",le=\"0.25\"} 2\n"
                "fanwatch_test_latency_seconds_bucket{stage=\"poll\",le=\"2.5\"} 3\n"
                "fanwatch_test_latency_seconds_bucket{stage=\"poll\",le=\"+Inf\"} 4\n"
                "fanwatch_test_latency_seconds_sum{stage=\"poll\"} 4.751953125\n"
                "fanwatch_test_latency_seconds_count{stage=\"poll\"} 4\n";
        size_t len = 0;
        char *text = fw_metrics_render(m, &len);
        assert_non_null(text);
        assert_string_equal(text, expected);
        assert_int_equal(len, strlen(expected));
        free(text);
        fw_metrics_free(m);
}

static void test_render_histogram_no_labels(void **state) {
        (void)state;
        fw_metrics_t *m = fw_metrics_new_empty();
        const double bounds[] = {1, 2.5};
        fw_histogram_t *h = fw_metrics_histogram(m, "h", NULL, "H.", bounds, 2);
        assert_non_null(h);
        fw_histogram_observe(h, 2);
        char *text = fw_metrics_render(m, NULL);
        assert_non_null(text);
        assert_string_equal(text, "# HELP h H\n"
                                  "# TYPE h histogram\n"
                                  "h_bucket{le=\"1\"} 0\n"
                                  "h_bucket{le=\"2.5\"} 1\n"
                                  "h_bucket{le=\"+Inf\"} 1\n"
                                  "h_sum 2\n"
                                  "h_count 1\n");
        free(text);
        fw_metrics_free(m);
}

static void test_render_empty(void **state) {
        (void)state;
        fw_metrics_t *m = fw_metrics_new_empty();
        size_t len = 99;
        char *text = fw_metrics_render(m, &len);
        assert_non_null(text);
        assert_string_equal(text, "");
        assert_int_equal(len, 0);
        free(text);
        fw_metrics_free(m);
}

static void test_gauge_special_values(void **state) {
        (void)state;
        fw_metrics_t *m = fw_metrics_new_empty();
        fw_gauge_t *a = fw_metrics_gauge(m, "a", NULL, "A.");
        fw_gauge_t *b = fw_metrics_gauge(m, "b", NULL, "B.");
        fw_gauge_t *c = fw_metrics_gauge(m, "c", NULL, "C.");
        fw_gauge_t *d = fw_metrics_gauge(m, "d", NULL, "D.");
        fw_gauge_set(a, NAN);
        fw_gauge_set(b, INFINITY);
        fw_gauge_set(c, -INFINITY);
        fw_gauge_set(d, 0.1); /* shortest round-trip form, not 0.10000000000000001 */
        const double values[] = {400000, -2.5, 1234567.125, 1e-5, 1.5e20, 0, 1.0 / 3, 0.1 + 0.2};
        const char *expected[] = {"400000",  "-2.5", "1234567.125",        "1e-05",
                                  "1.5e+20", "0",    "0.3333333333333333", "0.30000000000000004"};
        fw_gauge_t *v = fw_metrics_gauge(m, "v", NULL, NULL);
        char *text = fw_metrics_render(m, NULL);
        assert_non_null(text);
        assert_string_equal(text, "# HELP a A\n# TYPE a gauge\na NaN\n"
                                  "# HELP b B\n# TYPE b gauge\nb +Inf\n"
                                  "# HELP c C\n# TYPE c gauge\nc -Inf\n"
                                  "# HELP d D\n# TYPE d gauge\nd 0.1\n"
                                  "# TYPE v gauge\nv 0\n");
        free(text);
        for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
                fw_gauge_set(v, values[i]);
                text = fw_metrics_render(m, NULL);
                char line[64];
                snprintf(line, sizeof(line), "\nv %s\n", expected[i]);
                if (!strstr(text, line))
                        fail_msg("value %d: expected \"v %s\" in\n%s", (int)i, expected[i], text);
                free(text);
        }
        text = NULL;
        free(text);
        fw_metrics_free(m);
}

static void test_invalid_names_rejected(void **state) {
        (void)state;
        fw_metrics_t *m = fw_metrics_new_empty();
        const char *bad[] = {"", "1abc", "a-b", "a b", "a.b", "é", "a\n"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                assert_null(fw_metrics_counter(m, bad[i], NULL, "x"));
                assert_null(fw_metrics_gauge(m, bad[i], NULL, "x"));
        }
        assert_null(fw_metrics_counter(m, NULL, NULL, "x"));
        assert_non_null(fw_metrics_counter(m, "_ok:name_1", NULL, "x"));
        assert_non_null(fw_metrics_counter(m, ":colon", NULL, "x"));
        assert_non_null(fw_metrics_counter(m, "A9", NULL, "x"));

        /* Labels: non-empty, one line, quotes balanced. */
        assert_null(fw_metrics_counter(m, "l", "", "x"));
        assert_null(fw_metrics_counter(m, "l", "a=\"b", "x"));
        assert_null(fw_metrics_counter(m, "l", "a=\"b\nc\"", "x"));
        assert_null(fw_metrics_counter(m, "l", "a=\"b\\\"", "x"));
        assert_null(fw_metrics_counter(m, "l", "a=\"b\",", "x"));
        assert_non_null(fw_metrics_counter(m, "l", "a=\"b\\\"c\",d=\"e\"", "x"));

        /* Histogram bounds: ascending, finite, at most 32. */
        const double desc[] = {1, 0.5};
        const double inf[] = {1, INFINITY};
        double many[33];
        for (size_t i = 0; i < 33; i++)
                many[i] = (double)i;
        assert_null(fw_metrics_histogram(m, "h1", NULL, "x", desc, 2));
        assert_null(fw_metrics_histogram(m, "h2", NULL, "x", inf, 2));
        assert_null(fw_metrics_histogram(m, "h3", NULL, "x", many, 33));
        assert_non_null(fw_metrics_histogram(m, "h4", NULL, "x", many, 32));
        assert_non_null(fw_metrics_histogram(m, "h5", NULL, "x", NULL, 0));

        /* Rejected registrations leave nothing behind. */
        char *text = fw_metrics_render(m, NULL);
        assert_null(strstr(text, "# TYPE h1 "));
        assert_null(strstr(text, "# TYPE 1abc "));
        free(text);
        fw_metrics_free(m);
}

static void test_reregistration_same_pointer(void **state) {
        (void)state;
        fw_metrics_t *m = fw_metrics_new_empty();
        fw_counter_t *a = fw_metrics_counter(m, "x_total", NULL, "X.");
        fw_counter_t *b = fw_metrics_counter(m, "x_total", NULL, "X again.");
        fw_counter_t *l1 = fw_metrics_counter(m, "x_total", "k=\"1\"", "X.");
        fw_counter_t *l2 = fw_metrics_counter(m, "x_total", "k=\"1\"", "X.");
        assert_non_null(a);
        assert_ptr_equal(a, b);
        assert_non_null(l1);
        assert_ptr_equal(l1, l2);
        assert_ptr_not_equal(a, l1);

        fw_gauge_t *g1 = fw_metrics_gauge(m, "g", "k=\"v\"", "G.");
        assert_ptr_equal(g1, fw_metrics_gauge(m, "g", "k=\"v\"", "G."));

        const double bounds[] = {1, 2};
        const double other[] = {1, 3};
        fw_histogram_t *h1 = fw_metrics_histogram(m, "h", NULL, "H.", bounds, 2);
        assert_non_null(h1);
        assert_ptr_equal(h1, fw_metrics_histogram(m, "h", NULL, "H.", bounds, 2));
        assert_null(fw_metrics_histogram(m, "h", NULL, "H.", other, 2));

        char *text = fw_metrics_render(m, NULL);
        assert_string_equal(text, "# HELP x_total X\n"
                                  "# TYPE x_total counter\n"
                                  "x_total 0\n"
                                  "x_total{k=\"1\"} 0\n"
                                  "# HELP g G\n"
                                  "# TYPE g gauge\n"
                                  "g{k=\"v\"} 0\n"
                                  "# HELP h H\n"
                                  "# TYPE h histogram\n"
                                  "h_bucket{le=\"1\"} 0\n"
                                  "h_bucket{le=\"2\"} 0\n"
                                  "h_bucket{le=\"+Inf\"} 0\n"
                                  "h_sum 0\n"
                                  "h_count 0\n");
        free(text);
        fw_metrics_free(m);
}

static void test_type_conflict(void **state) {
        (void)state;
        fw_metrics_t *m = fw_metrics_new_empty();
        const double bounds[] = {1};
        assert_non_null(fw_metrics_counter(m, "c_total", NULL, "C."));
        assert_null(fw_metrics_gauge(m, "c_total", NULL, "C."));
        assert_null(fw_metrics_gauge(m, "c_total", "a=\"b\"", "C."));
        assert_null(fw_metrics_histogram(m, "c_total", NULL, "C.", bounds, 1));
        assert_non_null(fw_metrics_gauge(m, "g", NULL, "G."));
        assert_null(fw_metrics_counter(m, "g", NULL, "G."));
        fw_metrics_free(m);
}

static void test_help_escaping(void **state) {
        (void)state;
        fw_metrics_t *m = fw_metrics_new_empty();
        assert_non_null(fw_metrics_counter(m, "e_total", NULL, "a \\ b\nc \"q\""));
        assert_non_null(fw_metrics_counter(m, "nohelp_total", NULL, NULL));
        char *text = fw_metrics_render(m, NULL);
        assert_string_equal(text, "# HELP e_total A \\\\ b\\nc \"q\"\n"
                                  "# TYPE e_total counter\n"
                                  "e_total 0\n"
                                  "# TYPE nohelp_total counter\n"
                                  "nohelp_total 0\n");
        free(text);
        fw_metrics_free(m);
}

/* Issue 15: one HELP style for both daemons (the producer wrote "Sessions Kafka acknowledged",
 * the detector "sessions analysed (live and replayed)"): sentence case, no trailing period. */
static void test_help_style(void **state) {
        (void)state;
        fw_metrics_t *m = fw_metrics_new_empty();
        assert_non_null(fw_metrics_counter(m, "a_total", NULL, "sessions analysed (live)"));
        assert_non_null(fw_metrics_counter(m, "b_total", NULL, "Sessions Kafka acknowledged."));
        assert_non_null(fw_metrics_gauge(m, "c", NULL, "keys counted by a sketch (past x)"));
        assert_non_null(fw_metrics_gauge(m, "d", NULL, "1 per build"));
        char *text = fw_metrics_render(m, NULL);
        assert_string_equal(text, "# HELP a_total Sessions analysed (live)\n"
                                  "# TYPE a_total counter\na_total 0\n"
                                  "# HELP b_total Sessions Kafka acknowledged\n"
                                  "# TYPE b_total counter\nb_total 0\n"
                                  "# HELP c Keys counted by a sketch (past x)\n"
                                  "# TYPE c gauge\nc 0\n"
                                  "# HELP d 1 per build\n"
                                  "# TYPE d gauge\nd 0\n");
        free(text);
        fw_metrics_free(m);
}

/* Issue 15: "fanwatch_producer_cursor_lag_seconds 2.8340001106262207". The renderer already
 * writes the shortest text that reads back as the double; the noise was in the double, from
 * subtracting two epoch times as doubles. Seconds from whole milliseconds have none. */
static void test_float_noise(void **state) {
        (void)state;
        const int64_t now_ms = 1716026402834, position_s = 1716026400;
        fw_metrics_t *m = fw_metrics_new_empty();
        fw_gauge_t *old = fw_metrics_gauge(m, "old", NULL, NULL);
        fw_gauge_t *lag = fw_metrics_gauge(m, "lag", NULL, NULL);
        fw_gauge_set(old, (double)now_ms / 1000.0 - (double)position_s); /* the old producer */
        fw_gauge_set_ms(lag, now_ms - position_s * 1000);
        char *text = fw_metrics_render(m, NULL);
        assert_string_equal(text, "# TYPE old gauge\nold 2.8340001106262207\n"
                                  "# TYPE lag gauge\nlag 2.834\n");
        free(text);
        fw_metrics_free(m);
}

/* Freshness gauges hold a time and render the age at scrape time. */
static void test_age_gauge(void **state) {
        (void)state;
        const int64_t t = 1716026400000;
        fw_metrics_t *m = fw_metrics_new_empty();
        fw_gauge_t *g = fw_metrics_age_gauge(m, "age_seconds", NULL, "Age");
        assert_non_null(g);
        assert_ptr_equal(g, fw_metrics_age_gauge(m, "age_seconds", NULL, "Age"));
        assert_null(fw_metrics_gauge(m, "age_seconds", NULL, "Age")); /* another type */
        char *text = fw_metrics_render_at(m, t, NULL);
        assert_string_equal(text, "# HELP age_seconds Age\n# TYPE age_seconds gauge\n");
        free(text);
        fw_gauge_set_time_ms(g, t - 2834);
        text = fw_metrics_render_at(m, t, NULL);
        assert_non_null(strstr(text, "\nage_seconds 2.834\n"));
        free(text);
        text = fw_metrics_render_at(m, t + 60000, NULL); /* nothing new: it grows */
        assert_non_null(strstr(text, "\nage_seconds 62.834\n"));
        free(text);
        fw_gauge_hide(g);
        text = fw_metrics_render_at(m, t, NULL);
        assert_null(strstr(text, "\nage_seconds "));
        free(text);
        fw_metrics_free(m);
}

/* fanwatch_detector_event_time_lag_seconds{partition="N"}: one series per partition, hidden
 * when the partition goes (and never created for one that had no session). */
static void test_event_time_lag(void **state) {
        (void)state;
        const int64_t now = 1716026400000;
        fw_metrics_t *m = fw_metrics_new_empty();
        fw_metrics_event_time(m, 7, -1); /* no session yet: nothing */
        char *text = fw_metrics_render_at(m, now, NULL);
        assert_string_equal(text, "");
        free(text);
        fw_metrics_event_time(m, 0, now - 1500);
        fw_metrics_event_time(m, 11, now - 300000);
        fw_metrics_event_time(m, 0, now - 500); /* newer */
        text = fw_metrics_render_at(m, now, NULL);
        assert_non_null(strstr(text, "# TYPE fanwatch_detector_event_time_lag_seconds gauge\n"
                                     "fanwatch_detector_event_time_lag_seconds{partition=\"0\"} "
                                     "0.5\n"
                                     "fanwatch_detector_event_time_lag_seconds{partition=\"11\"} "
                                     "300\n"));
        assert_non_null(strstr(text, "# HELP fanwatch_detector_event_time_lag_seconds Now minus"));
        free(text);
        fw_metrics_event_time(m, 11, -1); /* revoked */
        text = fw_metrics_render_at(m, now, NULL);
        assert_null(strstr(text, "partition=\"11\""));
        assert_non_null(strstr(text, "partition=\"0\""));
        free(text);
        fw_metrics_event_time(m, 11, now - 1000); /* assigned again */
        text = fw_metrics_render_at(m, now, NULL);
        assert_non_null(strstr(text, "{partition=\"11\"} 1\n"));
        free(text);
        fw_metrics_event_time(NULL, 1, now); /* harmless */
        fw_metrics_free(m);
}

static double value_of(const char *text, const char *series) {
        char needle[128];
        snprintf(needle, sizeof(needle), "\n%s ", series);
        const char *p = strstr(text, needle);
        if (!p)
                fail_msg("no series %s in:\n%s", series, text);
        return strtod(p + strlen(needle), NULL);
}

/* Issue 15: fanwatch_build_info and the process_* metrics of Prometheus client libraries, in
 * every daemon's registry, after what the daemon registered. */
static void test_standard_metrics(void **state) {
        (void)state;
        fw_metrics_t *m = fw_metrics_new();
        assert_non_null(fw_metrics_counter(m, "fanwatch_x_total", NULL, "X"));
        char *text = fw_metrics_render(m, NULL);
        assert_true(strncmp(text, "# HELP fanwatch_x_total X\n", 26) == 0);
        assert_non_null(strstr(text, "\n# TYPE fanwatch_build_info gauge\n"
                                     "fanwatch_build_info{version=\"" FW_VERSION "\""));
        assert_non_null(strstr(text, "\n# TYPE process_cpu_seconds_total counter\n"));
        assert_non_null(strstr(text, "\n# HELP process_resident_memory_bytes Resident memory "
                                     "size in bytes\n"));
        double start = value_of(text, "process_start_time_seconds");
        double now = (double)time(NULL);
        assert_true(start > now - 3600 && start <= now + 1);
        assert_true(value_of(text, "process_cpu_seconds_total") >= 0);
        assert_true(value_of(text, "process_resident_memory_bytes") > 1e5);
        assert_true(value_of(text, "process_virtual_memory_bytes") >=
                    value_of(text, "process_resident_memory_bytes"));
        double fds = value_of(text, "process_open_fds");
        assert_true(fds >= 3 && fds < 1000);
        free(text);
        /* one more descriptor open: one more counted */
        FILE *f = fopen("/dev/null", "r");
        assert_non_null(f);
        text = fw_metrics_render(m, NULL);
        assert_true(value_of(text, "process_open_fds") == fds + 1);
        free(text);
        fclose(f);
        fw_metrics_free(m);
}

#define THREADS    4
#define ITERATIONS 100000

struct worker_arg {
        fw_counter_t *counter;
        fw_gauge_t *gauge;
        fw_histogram_t *histogram;
};

static void *worker(void *p) {
        struct worker_arg *a = p;
        for (int i = 0; i < ITERATIONS; i++) {
                fw_counter_add(a->counter, 1);
                fw_gauge_add(a->gauge, 1.0);
                fw_histogram_observe(a->histogram, (i & 1) ? 0.5 : 2.0);
        }
        return NULL;
}

static void test_concurrent_updates(void **state) {
        (void)state;
        fw_metrics_t *m = fw_metrics_new_empty();
        const double bounds[] = {1};
        struct worker_arg arg = {
                .counter = fw_metrics_counter(m, "conc_total", NULL, "C."),
                .gauge = fw_metrics_gauge(m, "conc_gauge", NULL, "G."),
                .histogram = fw_metrics_histogram(m, "conc_h", NULL, "H.", bounds, 1),
        };
        pthread_t th[THREADS];
        for (int i = 0; i < THREADS; i++)
                assert_int_equal(pthread_create(&th[i], NULL, worker, &arg), 0);
        for (int i = 0; i < THREADS; i++)
                assert_int_equal(pthread_join(th[i], NULL), 0);

        assert_int_equal(fw_counter_get(arg.counter), (uint64_t)THREADS * ITERATIONS);
        assert_true(fw_gauge_get(arg.gauge) == (double)THREADS * ITERATIONS);
        char *text = fw_metrics_render(m, NULL);
        assert_non_null(strstr(text, "\nconc_total 400000\n"));
        assert_non_null(strstr(text, "\nconc_gauge 400000\n"));
        assert_non_null(strstr(text, "\nconc_h_bucket{le=\"1\"} 200000\n"));
        assert_non_null(strstr(text, "\nconc_h_bucket{le=\"+Inf\"} 400000\n"));
        assert_non_null(strstr(text, "\nconc_h_sum 500000\n"));
        assert_non_null(strstr(text, "\nconc_h_count 400000\n"));
        free(text);
        fw_metrics_free(m);
}

static void test_null_series_ignored(void **state) {
        (void)state;
        fw_counter_add(NULL, 1);
        fw_gauge_set(NULL, 1);
        fw_gauge_add(NULL, 1);
        fw_histogram_observe(NULL, 1);
        assert_int_equal(fw_counter_get(NULL), 0);
        fw_metrics_free(NULL);
}

/* ---- httpd (libcurl as the client) ---- */

struct http_result {
        long status;
        char *body;
        size_t len;
        char content_type[128];
        char allow[128];
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud) {
        struct http_result *r = ud;
        size_t n = size * nmemb;
        char *p = realloc(r->body, r->len + n + 1);
        if (!p)
                return 0;
        memcpy(p + r->len, data, n);
        r->body = p;
        r->len += n;
        r->body[r->len] = '\0';
        return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud) {
        struct http_result *r = ud;
        size_t n = size * nmemb;
        const char *allow = "allow:";
        if (n > strlen(allow) && strncasecmp(data, allow, strlen(allow)) == 0) {
                size_t start = strlen(allow);
                while (start < n && data[start] == ' ')
                        start++;
                size_t end = n;
                while (end > start && (data[end - 1] == '\r' || data[end - 1] == '\n'))
                        end--;
                snprintf(r->allow, sizeof(r->allow), "%.*s", (int)(end - start), data + start);
        }
        return n;
}

/* Request http://host:port/path with method ("GET", "HEAD", "POST"); fills r. */
static void http_request(const char *host, uint16_t port, const char *method, const char *path,
                         struct http_result *r) {
        memset(r, 0, sizeof(*r));
        char url[256];
        snprintf(url, sizeof(url), "http://%s:%u%s", host, (unsigned int)port, path);
        CURL *c = curl_easy_init();
        assert_non_null(c);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
        if (strcmp(method, "HEAD") == 0) {
                curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        } else if (strcmp(method, "POST") == 0) {
                curl_easy_setopt(c, CURLOPT_POSTFIELDS, "some=body");
        }
        CURLcode rc = curl_easy_perform(c);
        if (rc != CURLE_OK)
                fail_msg("curl %s %s: %s", method, url, curl_easy_strerror(rc));
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
        char *ct = NULL;
        curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
        if (ct)
                snprintf(r->content_type, sizeof(r->content_type), "%s", ct);
        curl_easy_cleanup(c);
}

static void http_result_free(struct http_result *r) {
        free(r->body);
        r->body = NULL;
}

struct health_state {
        int unhealthy;
};

static int health_cb(void *ud, char *reason, size_t reasonlen) {
        struct health_state *hs = ud;
        if (!hs->unhealthy)
                return 0;
        snprintf(reason, reasonlen, "kafka: broker unreachable");
        return 1;
}

static void test_httpd_routes(void **state) {
        (void)state;
        fw_metrics_t *m = fw_metrics_new_empty();
        fw_counter_t *c =
                fw_metrics_counter(m, "fanwatch_test_requests_total", "code=\"200\"", "Requests.");
        fw_counter_add(c, 7);
        struct health_state hs = {0};
        char err[256] = "untouched";
        fw_httpd_t *h = fw_httpd_start("127.0.0.1", 0, m, health_cb, &hs, err, sizeof(err));
        if (!h)
                fail_msg("fw_httpd_start: %s", err);
        uint16_t port = fw_httpd_port(h);
        assert_int_not_equal(port, 0);

        struct http_result r;
        http_request("127.0.0.1", port, "GET", "/metrics", &r);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
        assert_non_null(r.body);
        assert_non_null(strstr(r.body, "# TYPE fanwatch_test_requests_total counter\n"));
        assert_non_null(strstr(r.body, "\nfanwatch_test_requests_total{code=\"200\"} 7\n"));
        http_result_free(&r);

        http_request("127.0.0.1", port, "HEAD", "/metrics", &r);
        assert_int_equal(r.status, 200);
        assert_null(r.body);
        http_result_free(&r);

        http_request("127.0.0.1", port, "GET", "/healthz", &r);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, "ok\n");
        http_result_free(&r);

        hs.unhealthy = 1;
        http_request("127.0.0.1", port, "GET", "/healthz", &r);
        assert_int_equal(r.status, 503);
        assert_string_equal(r.body, "kafka: broker unreachable\n");
        http_result_free(&r);

        http_request("127.0.0.1", port, "GET", "/nope", &r);
        assert_int_equal(r.status, 404);
        http_result_free(&r);

        http_request("127.0.0.1", port, "POST", "/metrics", &r);
        assert_int_equal(r.status, 405);
        assert_string_equal(r.allow, "GET, HEAD");
        http_result_free(&r);

        fw_httpd_stop(h);
        fw_metrics_free(m);
}

static void test_httpd_no_health_cb(void **state) {
        (void)state;
        char err[256];
        fw_httpd_t *h = fw_httpd_start("127.0.0.1", 0, NULL, NULL, NULL, err, sizeof(err));
        if (!h)
                fail_msg("fw_httpd_start: %s", err);
        struct http_result r;
        http_request("127.0.0.1", fw_httpd_port(h), "GET", "/healthz", &r);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, "ok\n");
        http_result_free(&r);
        fw_httpd_stop(h);
}

static void test_httpd_port_in_use(void **state) {
        (void)state;
        char err[256];
        fw_httpd_t *first = fw_httpd_start("127.0.0.1", 0, NULL, NULL, NULL, err, sizeof(err));
        if (!first)
                fail_msg("fw_httpd_start: %s", err);
        uint16_t port = fw_httpd_port(first);

        err[0] = '\0';
        fw_httpd_t *second = fw_httpd_start("127.0.0.1", port, NULL, NULL, NULL, err, sizeof(err));
        assert_null(second);
        assert_true(strlen(err) > 0);
        assert_non_null(strstr(err, "127.0.0.1"));
        assert_non_null(strstr(err, "in use"));
        fw_httpd_stop(first);
}

static void test_httpd_bad_address(void **state) {
        (void)state;
        char err[256] = "";
        assert_null(fw_httpd_start("not-an-address", 0, NULL, NULL, NULL, err, sizeof(err)));
        assert_non_null(strstr(err, "not-an-address"));
        err[0] = '\0';
        assert_null(fw_httpd_start("127.0.0.300", 0, NULL, NULL, NULL, err, sizeof(err)));
        assert_true(strlen(err) > 0);
        fw_httpd_stop(NULL);
}

/* True if this machine can bind a socket to ::1. */
static int have_ipv6_loopback(void) {
        int fd = socket(AF_INET6, SOCK_STREAM, 0);
        if (fd < 0)
                return 0;
        struct sockaddr_in6 sin6;
        memset(&sin6, 0, sizeof(sin6));
        sin6.sin6_family = AF_INET6;
        sin6.sin6_addr = in6addr_loopback;
        int ok = bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)) == 0;
        close(fd);
        return ok;
}

static void test_httpd_ipv6(void **state) {
        (void)state;
        if (!have_ipv6_loopback()) {
                print_message("no IPv6 loopback here, skipping\n");
                skip();
        }
        char err[256];
        fw_httpd_t *h = fw_httpd_start("::1", 0, NULL, NULL, NULL, err, sizeof(err));
        if (!h)
                fail_msg("fw_httpd_start(::1): %s", err);
        assert_int_not_equal(fw_httpd_port(h), 0);
        struct http_result r;
        http_request("[::1]", fw_httpd_port(h), "GET", "/healthz", &r);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, "ok\n");
        http_result_free(&r);
        fw_httpd_stop(h);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_render_exact),
                cmocka_unit_test(test_render_histogram_no_labels),
                cmocka_unit_test(test_render_empty),
                cmocka_unit_test(test_gauge_special_values),
                cmocka_unit_test(test_invalid_names_rejected),
                cmocka_unit_test(test_reregistration_same_pointer),
                cmocka_unit_test(test_type_conflict),
                cmocka_unit_test(test_help_escaping),
                cmocka_unit_test(test_help_style),
                cmocka_unit_test(test_float_noise),
                cmocka_unit_test(test_age_gauge),
                cmocka_unit_test(test_event_time_lag),
                cmocka_unit_test(test_standard_metrics),
                cmocka_unit_test(test_concurrent_updates),
                cmocka_unit_test(test_null_series_ignored),
                cmocka_unit_test(test_httpd_routes),
                cmocka_unit_test(test_httpd_no_health_cb),
                cmocka_unit_test(test_httpd_port_in_use),
                cmocka_unit_test(test_httpd_bad_address),
                cmocka_unit_test(test_httpd_ipv6),
        };
        curl_global_init(CURL_GLOBAL_DEFAULT);
        int failed = cmocka_run_group_tests(tests, NULL, NULL);
        curl_global_cleanup();
        return failed;
}
