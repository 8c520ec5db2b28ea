/* Unit tests for producer/tagger.c, fanwatch-tagger's logic: an alert document into the
 * addtags request (tags, URL, form, URL-encoding, the window in whole seconds, no expression for
 * session_spike_total, never date), tag sanitising as Arkime's addTags, documents that can never
 * be tagged, the viewer's answers (garbage included), the token bucket on an injected clock and
 * the backoff sequence. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tagger.h"

/* An alert document with the fields the tagger reads; NULL leaves a field out. */
static char *alert_doc(const char *id, const char *rule, const char *start, const char *end,
                       const char *expr) {
        static char buf[4096];
        char fw[2048] = "";
        size_t n = 0;
        n += (size_t)snprintf(fw + n, sizeof(fw) - n, "\"sessions\":42");
        if (start || end)
                n += (size_t)snprintf(fw + n, sizeof(fw) - n, ",\"window\":{%s%s%s%s%s%s%s}",
                                      start ? "\"start\":\"" : "", start ? start : "",
                                      start ? "\"" : "", start && end ? "," : "",
                                      end ? "\"end\":\"" : "", end ? end : "", end ? "\"" : "");
        if (expr)
                snprintf(fw + n, sizeof(fw) - n, ",\"expression\":\"%s\"", expr);
        snprintf(buf, sizeof(buf),
                 "{\"event\":{\"kind\":\"alert\"%s%s%s},\"rule\":{%s%s%s},\"fanwatch\":{%s}}",
                 id ? ",\"id\":\"" : "", id ? id : "", id ? "\"" : "", rule ? "\"id\":\"" : "",
                 rule ? rule : "", rule ? "\"" : "", fw);
        return buf;
}

#define ID "0123456789abcdef0123456789abcdef"

static void test_sanitize(void **state) {
        (void)state;
        char out[64];
        assert_int_equal(fw_tag_sanitize("my.rule/x,y z", 0, out, sizeof(out)), 9);
        assert_string_equal(out, "myrulexyz");
        assert_int_equal(fw_tag_sanitize("my.rule/x,y z", 1, out, sizeof(out)), 10);
        assert_string_equal(out, "myrulex,yz");
        fw_tag_sanitize("a-b_c:D9\xc3\xa9\"'&=%", 0, out, sizeof(out));
        assert_string_equal(out, "a-b_c:D9");
        assert_int_equal(fw_tag_sanitize("abcdef", 0, out, 4), 3);
        assert_string_equal(out, "abc");
        assert_int_equal(fw_tag_sanitize("...", 0, out, sizeof(out)), 0);
        assert_string_equal(out, "");
}

static void test_parse_time(void **state) {
        (void)state;
        int64_t ms;
        assert_int_equal(fw_tag_parse_time("1970-01-01T00:00:00Z", &ms), 0);
        assert_int_equal(ms, 0);
        assert_int_equal(fw_tag_parse_time("2024-05-18T10:00:05.123Z", &ms), 0);
        assert_int_equal(ms, 1716026405123LL);
        assert_int_equal(fw_tag_parse_time("2024-05-18T10:00:05.1Z", &ms), 0);
        assert_int_equal(ms, 1716026405100LL);
        assert_int_equal(fw_tag_parse_time("2024-05-18T10:00:05.123999Z", &ms), 0);
        assert_int_equal(ms, 1716026405123LL);
        assert_int_equal(fw_tag_parse_time("2024-05-18T12:00:05+02:00", &ms), 0);
        assert_int_equal(ms, 1716026405000LL);
        assert_int_equal(fw_tag_parse_time("1969-12-31T23:59:59.500Z", &ms), 0);
        assert_int_equal(ms, -500);
        assert_int_equal(fw_tag_parse_time("2000-02-29T00:00:00Z", &ms), 0);
        assert_int_equal(ms, 951782400000LL);
        const char *bad[] = {"",
                             "1716026405",
                             "2024-05-18 10:00:05Z",
                             "2024-05-18T10:00:05",
                             "2024-05-18T10:00:05.Z",
                             "2024-13-18T10:00:05Z",
                             "2024-05-18T24:00:05Z",
                             "2024-05-18T10:00:05Zx",
                             "2024-05-18T10:00:05.1234567890Z",
                             "2024-05-18T10:00:05+0200"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                assert_int_equal(fw_tag_parse_time(bad[i], &ms), -1);
        assert_int_equal(fw_tag_parse_time(NULL, &ms), -1);
}

/* An address sweep: the tags, the URL's query, the body; the window start floored and end ceiled.
 */
static void test_request_sweep(void **state) {
        (void)state;
        fw_tag_req_t r;
        char err[256];
        const char *doc = alert_doc(ID, "address_sweep", "2024-05-18T09:55:05.123Z",
                                    "2024-05-18T10:00:05.001Z", "ip.src == 10.1.2.3");
        assert_int_equal(fw_tag_req_from_json(doc, strlen(doc), &r, err, sizeof(err)), 0);
        assert_string_equal(r.id, ID);
        assert_string_equal(r.rule, "address_sweep");
        assert_int_equal(r.start_s, 1716026105);
        assert_int_equal(r.stop_s, 1716026406);
        assert_int_equal(r.sessions, 42);
        assert_string_equal(r.tags, "fanwatch,fanwatch:address_sweep,fanwatch:" ID);
        assert_string_equal(r.path, "/api/sessions/addtags?expression=ip.src%20%3D%3D%2010.1.2.3"
                                    "&startTime=1716026105&stopTime=1716026406&bounding=first");
        assert_string_equal(r.form, "tags=fanwatch%2Cfanwatch%3Aaddress_sweep%2Cfanwatch%3A" ID
                                    "&expression=ip.src%20%3D%3D%2010.1.2.3"
                                    "&startTime=1716026105&stopTime=1716026406&bounding=first");
        assert_int_equal(r.form_len, strlen(r.form));
        assert_null(strstr(r.form, "date="));
        assert_null(strstr(r.path, "date="));
        fw_tag_req_free(&r);
        assert_null(r.form);
}

/* Whole-second windows stay as they are; an expression with every awkward character is
 * percent-encoded (space %20, never '+'). */
static void test_request_encoding(void **state) {
        (void)state;
        fw_tag_req_t r;
        char err[256];
        const char *doc =
                alert_doc(ID, "leak.v2", "2024-05-18T09:55:05Z", "2024-05-18T10:00:05.000Z",
                          "(tags == \\\"a&b\\\" || http.uri == /x+y%#/) && ip.src == 2001:db8::1 "
                          "\xc3\xa9");
        assert_int_equal(fw_tag_req_from_json(doc, strlen(doc), &r, err, sizeof(err)), 0);
        assert_int_equal(r.start_s, 1716026105);
        assert_int_equal(r.stop_s, 1716026405);
        /* Arkime keeps [-a-zA-Z0-9_:,] of a tag: the rule tag is what Arkime stores */
        assert_string_equal(r.rule, "leakv2");
        assert_string_equal(r.tags, "fanwatch,fanwatch:leakv2,fanwatch:" ID);
        assert_string_equal(r.expression,
                            "(tags == \"a&b\" || http.uri == /x+y%#/) && ip.src == 2001:db8::1 "
                            "\xc3\xa9");
        assert_string_equal(r.path,
                            "/api/sessions/addtags?expression=%28tags%20%3D%3D%20%22a%26b%22%20%7C%"
                            "7C%20http.uri%20%3D%3D%20%2Fx%2By%25%23%2F%29%20%26%26%20ip.src%20%"
                            "3D%3D%202001%3Adb8%3A%3A1%20%C3%A9"
                            "&startTime=1716026105&stopTime=1716026405&bounding=first");
        assert_null(strchr(r.form, '+'));
        assert_non_null(strstr(r.form, "&expression=%28tags%20"));
        fw_tag_req_free(&r);
}

/* session_spike_total: no expression parameter at all; a rule id Arkime would strip to nothing
 * gives no rule tag. */
static void test_request_spike_total(void **state) {
        (void)state;
        fw_tag_req_t r;
        char err[256];
        const char *doc = alert_doc(ID, "session_spike_total", "2024-05-18T10:00:00Z",
                                    "2024-05-18T10:01:00Z", NULL);
        assert_int_equal(fw_tag_req_from_json(doc, strlen(doc), &r, err, sizeof(err)), 0);
        assert_null(r.expression);
        assert_string_equal(r.path, "/api/sessions/addtags?startTime=1716026400&stopTime="
                                    "1716026460&bounding=first");
        assert_string_equal(r.form,
                            "tags=fanwatch%2Cfanwatch%3Asession_spike_total%2Cfanwatch%3A" ID
                            "&startTime=1716026400&stopTime=1716026460&bounding=first");
        assert_null(strstr(r.form, "expression"));
        fw_tag_req_free(&r);

        doc = alert_doc(ID, "...", "2024-05-18T10:00:00Z", "2024-05-18T10:01:00Z", "port == 1");
        assert_int_equal(fw_tag_req_from_json(doc, strlen(doc), &r, err, sizeof(err)), 0);
        assert_string_equal(r.rule, "");
        assert_string_equal(r.tags, "fanwatch,fanwatch:" ID);
        fw_tag_req_free(&r);
}

/* Documents that can never be tagged: -1 with a reason, nothing allocated. */
static void test_poison(void **state) {
        (void)state;
        struct {
                const char *doc, *why;
        } cases[] = {
                {"", "not JSON"},
                {"{\"event\":", "not JSON"},
                {"\x01\x02garbage", "not JSON"},
                {"[1,2]", "not a JSON object"},
                {"{\"a\":1,\"a\":2}", "not JSON"},
        };
        fw_tag_req_t r;
        char err[256];
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                assert_int_equal(fw_tag_req_from_json(cases[i].doc, strlen(cases[i].doc), &r, err,
                                                      sizeof(err)),
                                 -1);
                assert_non_null(strstr(err, cases[i].why));
                assert_null(r.form);
        }
        assert_int_equal(fw_tag_req_from_json(NULL, 0, &r, err, sizeof(err)), -1);
        const char *s = "2024-05-18T10:00:00Z", *e = "2024-05-18T10:01:00Z";
        struct {
                const char *id, *rule, *start, *end, *expr, *why;
        } docs[] = {
                {NULL, "port_scan", s, e, "x", "no event.id"},
                {"", "port_scan", s, e, "x", "no event.id"},
                {"ab cd", "port_scan", s, e, "x", "characters Arkime drops"},
                {"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0", "port_scan",
                 s, e, "x", "over 64 bytes"},
                {ID, NULL, s, e, "x", "no rule.id"},
                {ID, "", s, e, "x", "no rule.id"},
                {ID, "port_scan", NULL, e, "x", "no fanwatch.window"},
                {ID, "port_scan", s, NULL, "x", "no fanwatch.window"},
                {ID, "port_scan", "yesterday", e, "x", "not an ISO 8601 time"},
                {ID, "port_scan", e, s, "x", "end is before"},
                {ID, "port_scan", s, e, NULL, "no fanwatch.expression"},
                {ID, "port_scan", s, e, "", "no fanwatch.expression"},
        };
        for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
                const char *doc = alert_doc(docs[i].id, docs[i].rule, docs[i].start, docs[i].end,
                                            docs[i].expr);
                assert_int_equal(fw_tag_req_from_json(doc, strlen(doc), &r, err, sizeof(err)), -1);
                if (!strstr(err, docs[i].why))
                        fail_msg("case %zu: '%s' does not say '%s'", i, err, docs[i].why);
                assert_null(r.form);
                assert_null(r.tags);
        }
        /* a window as numbers, not times */
        const char *num = "{\"event\":{\"id\":\"" ID "\"},\"rule\":{\"id\":\"port_scan\"},"
                          "\"fanwatch\":{\"expression\":\"x\",\"window\":{\"start\":1,\"end\":2}}}";
        assert_int_equal(fw_tag_req_from_json(num, strlen(num), &r, err, sizeof(err)), -1);
}

static fw_tag_answer_t classify(const char *body, char *why, size_t n) {
        return fw_tag_classify(body, strlen(body), why, n);
}

static void test_classify(void **state) {
        (void)state;
        char why[512];
        assert_int_equal(
                classify("{\"success\":true,\"text\":\"Tags added successfully\",\"i18n\":\"x\"}",
                         why, sizeof(why)),
                FW_TAG_TAGGED);
        assert_int_equal(classify("{\"success\":false,\"text\":\"No sessions to add tags to\","
                                  "\"i18n\":\"api.sessions.noSessionsToAddTags\"}",
                                  why, sizeof(why)),
                         FW_TAG_NO_SESSIONS);
        assert_int_equal(
                classify("{\"success\":false,\"text\":\"No tags specified\"}", why, sizeof(why)),
                FW_TAG_FAILED);
        assert_non_null(strstr(why, "No tags specified"));
        /* the query could not be built or run: text/plain, HTTP 200 */
        assert_int_equal(classify("Could not build query. Err: User time limit (1 hours) exceeded",
                                  why, sizeof(why)),
                         FW_TAG_FAILED);
        assert_non_null(strstr(why, "Could not build query"));
        assert_int_equal(classify("<html><body>502 Bad Gateway</body></html>\n{\"data\":[", why,
                                  sizeof(why)),
                         FW_TAG_FAILED);
        assert_non_null(strstr(why, "502 Bad Gateway"));
        assert_null(strchr(why, '\n'));
        assert_int_equal(classify("", why, sizeof(why)), FW_TAG_FAILED);
        assert_int_equal(classify("[true]", why, sizeof(why)), FW_TAG_FAILED);
        assert_int_equal(classify("{\"success\":\"true\"}", why, sizeof(why)), FW_TAG_FAILED);
        assert_int_equal(classify("{\"success\":1}", why, sizeof(why)), FW_TAG_FAILED);
        assert_int_equal(classify("{}", why, sizeof(why)), FW_TAG_FAILED);
        assert_int_equal(classify("{\"success\":false,\"text\":\"No sessions to add tags to!\"}",
                                  why, sizeof(why)),
                         FW_TAG_FAILED);
        assert_int_equal(classify("{\"success\":true", why, sizeof(why)), FW_TAG_FAILED);
        assert_int_equal(classify("{\"data\":[],\"error\":\"search_phase_execution_exception\"}",
                                  why, sizeof(why)),
                         FW_TAG_FAILED);
        assert_non_null(strstr(why, "search_phase_execution_exception"));
        char bin[] = {'\x01', '\xff', 'a', '\0'};
        assert_int_equal(fw_tag_classify(bin, 3, why, sizeof(why)), FW_TAG_FAILED);
        assert_int_equal(fw_tag_classify(NULL, 0, why, sizeof(why)), FW_TAG_FAILED);
        /* a tiny buffer is cut, not overrun */
        char small[8];
        assert_int_equal(classify("garbage garbage", small, sizeof(small)), FW_TAG_FAILED);
        assert_int_equal(strlen(small), 7);
}

/* Rate 5/s, burst 1: one at once, then one per 200 ms; over 10 s of a 1 ms clock, 51 taken. */
static void test_token_bucket(void **state) {
        (void)state;
        fw_token_bucket_t tb;
        int64_t t0 = 1000000;
        fw_tb_init(&tb, 5.0, 1.0, t0);
        assert_int_equal(fw_tb_take(&tb, t0), 0);
        assert_int_equal(fw_tb_take(&tb, t0), 200);
        assert_int_equal(fw_tb_take(&tb, t0 + 150), 50);
        assert_int_equal(fw_tb_take(&tb, t0 + 199), 1);
        assert_int_equal(fw_tb_take(&tb, t0 + 200), 0);
        assert_int_equal(fw_tb_take(&tb, t0 + 200), 200);
        /* a clock going backwards neither adds nor breaks */
        assert_int_equal(fw_tb_take(&tb, t0 + 100), 200);

        fw_tb_init(&tb, 5.0, 1.0, t0);
        int taken = 0;
        for (int64_t t = t0; t <= t0 + 10000; t++)
                if (fw_tb_take(&tb, t) == 0)
                        taken++;
        assert_int_equal(taken, 51);

        /* following the wait it gives is exact: 20 requests at 5/s span 19 * 200 ms */
        fw_tb_init(&tb, 5.0, 1.0, t0);
        int64_t now = t0;
        for (int i = 0; i < 20; i++) {
                int64_t w;
                while ((w = fw_tb_take(&tb, now)) > 0)
                        now += w;
        }
        assert_int_equal(now - t0, 19 * 200);

        /* a burst of 3, slow and fast rates */
        fw_tb_init(&tb, 0.5, 3.0, t0);
        for (int i = 0; i < 3; i++)
                assert_int_equal(fw_tb_take(&tb, t0), 0);
        assert_int_equal(fw_tb_take(&tb, t0), 2000);
        assert_int_equal(fw_tb_take(&tb, t0 + 60000), 0); /* refilled, capped at 3 */
        assert_int_equal(fw_tb_take(&tb, t0 + 60000), 0);
        assert_int_equal(fw_tb_take(&tb, t0 + 60000), 0);
        assert_true(fw_tb_take(&tb, t0 + 60000) > 0);
        fw_tb_init(&tb, 1000.0, 1.0, t0);
        assert_int_equal(fw_tb_take(&tb, t0), 0);
        assert_int_equal(fw_tb_take(&tb, t0), 1);
        assert_int_equal(fw_tb_take(&tb, t0 + 1), 0);
        fw_tb_init(&tb, 3.0, 1.0, t0); /* 333.3 ms: the wait is rounded up */
        assert_int_equal(fw_tb_take(&tb, t0), 0);
        assert_int_equal(fw_tb_take(&tb, t0), 334);
        assert_int_equal(fw_tb_take(&tb, t0 + 334), 0);
}

static void test_backoff(void **state) {
        (void)state;
        fw_backoff_t b;
        fw_backoff_init(&b, 250, 60000);
        const int64_t want[] = {250, 500, 1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000};
        for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
                assert_int_equal(fw_backoff_next(&b), want[i]);
        fw_backoff_init(&b, 250, 60000); /* a success starts over */
        assert_int_equal(fw_backoff_next(&b), 250);
        fw_backoff_init(&b, 250, 100); /* a maximum below the start: the start */
        assert_int_equal(fw_backoff_next(&b), 250);
        assert_int_equal(fw_backoff_next(&b), 250);
        fw_backoff_init(&b, 250, 1000);
        assert_int_equal(fw_backoff_next(&b), 250);
        assert_int_equal(fw_backoff_next(&b), 500);
        assert_int_equal(fw_backoff_next(&b), 1000);
        assert_int_equal(fw_backoff_next(&b), 1000);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_sanitize),
                cmocka_unit_test(test_parse_time),
                cmocka_unit_test(test_request_sweep),
                cmocka_unit_test(test_request_encoding),
                cmocka_unit_test(test_request_spike_total),
                cmocka_unit_test(test_poison),
                cmocka_unit_test(test_classify),
                cmocka_unit_test(test_token_bucket),
                cmocka_unit_test(test_backoff),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
