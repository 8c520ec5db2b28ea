/* Unit tests for producer/opensearch.c: the search request body (checked as JSON: window,
 * expression, point in time, sort and tie-breaker, _source fields, slice, search_after) and
 * the reader's option checks. The requests themselves meet a real OpenSearch in the arkime
 * tests (tests/arkime/test_arkime_e2e.py) and bench/arkime_readers.py.
 * cmocka.h needs the four headers before it, in this order. */
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "arkime_page.h"
#include "opensearch.h"
#include "session_fields.h"

static cJSON *at(cJSON *o, const char *path) {
        char buf[256];
        snprintf(buf, sizeof(buf), "%s", path);
        for (char *k = strtok(buf, "."); k && o; k = strtok(NULL, "."))
                o = cJSON_IsArray(o) ? cJSON_GetArrayItem(o, atoi(k))
                                     : cJSON_GetObjectItemCaseSensitive(o, k);
        return o;
}

static void test_body_first_page(void **state) {
        (void)state;
        fw_os_opts_t o = {.index = "arkime_sessions3-*",
                          .tiebreaker = "_id",
                          .keep_alive = "2m",
                          .page_size = 500,
                          .fetch_source = 1};
        char *b = fw_os_search_body(&o, NULL, "PIT\"id", 1000, 2000, NULL);
        assert_non_null(b);
        cJSON *j = cJSON_Parse(b);
        assert_non_null(j);
        assert_int_equal(at(j, "size")->valueint, 500);
        assert_true(cJSON_IsFalse(at(j, "track_total_hits")));
        assert_string_equal(at(j, "pit.id")->valuestring, "PIT\"id"); /* escaped */
        assert_string_equal(at(j, "pit.keep_alive")->valuestring, "2m");
        /* the window, both ends included, and nothing else in the filter */
        cJSON *f = at(j, "query.bool.filter");
        assert_int_equal(cJSON_GetArraySize(f), 1);
        assert_int_equal((long long)at(f, "0.range.@timestamp.gte")->valuedouble, 1000);
        assert_int_equal((long long)at(f, "0.range.@timestamp.lte")->valuedouble, 2000);
        assert_string_equal(at(f, "0.range.@timestamp.format")->valuestring, "epoch_millis");
        assert_string_equal(at(j, "sort.0.@timestamp.order")->valuestring, "asc");
        assert_string_equal(at(j, "sort.1._id.order")->valuestring, "asc");
        assert_int_equal(cJSON_GetArraySize(at(j, "sort")), 2);
        /* _source: exactly the viewer reader's fields */
        cJSON *inc = at(j, "_source.includes");
        char *joined = calloc(1, strlen(FW_ARKIME_FIELDS) + 1);
        cJSON *e;
        cJSON_ArrayForEach(e, inc) {
                if (*joined)
                        strcat(joined, ",");
                strcat(joined, e->valuestring);
        }
        assert_string_equal(joined, FW_ARKIME_FIELDS);
        free(joined);
        assert_null(at(j, "search_after"));
        assert_null(at(j, "slice"));
        assert_null(at(j, "docvalue_fields"));
        assert_null(at(j, "stored_fields"));
        cJSON_Delete(j);
        free(b);
}

/* The default fetch: the numbers and dates as sort values after @timestamp and the tie-breaker
 * (missing: -1), the strings and addresses from doc values; every field exactly once; no
 * stored field read when the _id comes with the sort. */
static void test_body_docvalues(void **state) {
        (void)state;
        fw_os_opts_t o = {.index = "x", .tiebreaker = "_id", .page_size = 100};
        char *b = fw_os_search_body(&o, NULL, "p", 1, 2, NULL);
        cJSON *j = cJSON_Parse(b);
        assert_non_null(j);
        assert_true(cJSON_IsFalse(at(j, "_source")));
        assert_string_equal(at(j, "stored_fields")->valuestring, "_none_");
        int seen[FW_SF_COUNT] = {0};
        cJSON *e;
        cJSON_ArrayForEach(e, at(j, "docvalue_fields")) {
                assert_true(cJSON_IsString(e)); /* no date left to format */
                int k = 0;
                while (k < FW_SF_COUNT && strcmp(fw_session_fields[k].arkime, e->valuestring))
                        k++;
                assert_true(k < FW_SF_COUNT);
                assert_false(fw_arkime_in_sort(k));
                seen[k]++;
        }
        cJSON *sort = at(j, "sort");
        assert_non_null(at(sort, "0.@timestamp"));
        assert_non_null(at(sort, "1._id"));
        seen[FW_SF_DB_TIME]++;
        int pos = 2;
        for (int k = 0; k < FW_SF_COUNT; k++) {
                if (!fw_arkime_in_sort(k))
                        continue;
                cJSON *key = cJSON_GetArrayItem(sort, pos++);
                assert_non_null(key);
                assert_string_equal(key->child->string, fw_session_fields[k].arkime);
                assert_int_equal(at(key->child, "missing")->valueint, FW_ARKIME_SORT_MISSING);
                assert_string_equal(at(key->child, "unmapped_type")->valuestring,
                                    fw_session_fields[k].kind == FW_FK_TIME ? "date" : "long");
                seen[k]++;
        }
        assert_int_equal(cJSON_GetArraySize(sort), pos);
        for (int k = 0; k < FW_SF_COUNT; k++)
                assert_int_equal(seen[k], k == FW_SF_ID ? 0 : 1);
        cJSON_Delete(j);
        free(b);
        /* another tie-breaker: the _id must come from the stored fields */
        o.tiebreaker = "_shard_doc";
        b = fw_os_search_body(&o, NULL, "p", 1, 2, NULL);
        j = cJSON_Parse(b);
        assert_null(at(j, "stored_fields"));
        assert_non_null(at(j, "sort.2.firstPacket"));
        cJSON_Delete(j);
        free(b);
}

static void test_body_next_page(void **state) {
        (void)state;
        fw_os_opts_t o = {.index = "x",
                          .tiebreaker = "_shard_doc",
                          .keep_alive = "90000ms",
                          .page_size = 10000,
                          .slice_id = 1,
                          .slice_max = 3};
        const char *q = "{\"bool\":{\"filter\":[{\"term\":{\"ipProtocol\":6}}]}}";
        char *b = fw_os_search_body(&o, q, NULL, 5, 6, "[1796462083611,\"180117-v1\"]");
        cJSON *j = cJSON_Parse(b);
        assert_non_null(j);
        assert_null(at(j, "pit"));
        cJSON *f = at(j, "query.bool.filter");
        assert_int_equal(cJSON_GetArraySize(f), 2);
        assert_int_equal(at(f, "1.bool.filter.0.term.ipProtocol")->valueint, 6);
        assert_string_equal(at(j, "sort.1._shard_doc.order")->valuestring, "asc");
        assert_int_equal((long long)at(j, "search_after.0")->valuedouble, 1796462083611LL);
        assert_string_equal(at(j, "search_after.1")->valuestring, "180117-v1");
        assert_int_equal(at(j, "slice.id")->valueint, 1);
        assert_int_equal(at(j, "slice.max")->valueint, 3);
        cJSON_Delete(j);
        free(b);
        /* without a tie-breaker (not chosen yet): @timestamp only */
        o.tiebreaker = NULL;
        o.slice_max = 0;
        b = fw_os_search_body(&o, NULL, NULL, 5, 6, "");
        j = cJSON_Parse(b);
        assert_int_equal(cJSON_GetArraySize(at(j, "sort")), 1);
        assert_null(at(j, "search_after"));
        assert_null(at(j, "slice"));
        cJSON_Delete(j);
        free(b);
}

static void test_options(void **state) {
        (void)state;
        char err[256];
        fw_os_opts_t o = {.index = "arkime_sessions3-*,other_sessions3-*"};
        fw_os_t *os = fw_os_new(&o, NULL, err, sizeof(err));
        assert_non_null(os);
        assert_int_equal(fw_os_page_size(os), 10000); /* default */
        assert_null(fw_os_query(os));
        fw_os_free(os);
        o.index = "sessions/../x";
        assert_null(fw_os_new(&o, NULL, err, sizeof(err)));
        assert_non_null(strstr(err, "index pattern"));
        o.index = "";
        assert_null(fw_os_new(&o, NULL, err, sizeof(err)));
        o.index = "a";
        o.slice_id = 2;
        o.slice_max = 2;
        assert_null(fw_os_new(&o, NULL, err, sizeof(err)));
        assert_non_null(strstr(err, "slice 2 of 2"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_body_first_page),
                cmocka_unit_test(test_body_docvalues),
                cmocka_unit_test(test_body_next_page),
                cmocka_unit_test(test_options),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
