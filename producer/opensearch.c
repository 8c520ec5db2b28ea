#include "opensearch.h"

#include "session_fields.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fw_os {
        fw_os_opts_t o;
        char *index, *tiebreaker, *keep_alive;
        fw_arkime_client_t *http;
        char *query;      /* the expression's query DSL (JSON), NULL for none */
        char *pit_id;     /* the open PIT, NULL when none */
        int owns_pit;     /* this reader opened it (and closes it) */
        int flavor;       /* 0 unknown, 1 OpenSearch, 2 Elasticsearch */
        int64_t after_ms; /* the last page's last @timestamp (-1: none yet in the sub-range) */
        int64_t sub_lo, sub_hi; /* the sub-range of the window being read (both included) */
        int64_t span_ms;        /* about two pages' worth of @timestamp */
        int64_t from_ms, to_ms;
        char after[1024]; /* search_after of the next page ("" for the first) */
};

#define FLAVOR_OPENSEARCH    1
#define FLAVOR_ELASTICSEARCH 2

/* What fanwatch asks of each hit (_index, _id, _source or fields, sort) and what says the page
 * is whole. */
#define FILTER_PATH                                                                                \
        "filter_path=pit_id,timed_out,_shards.total,_shards.failed,_shards.failures,"              \
        "hits.hits._index,hits.hits._id,hits.hits._source,hits.hits.fields,hits.hits.sort,error"

/* The index pattern goes into a URL path: letters, digits and the few signs index names and
 * patterns use. */
static int index_ok(const char *s) {
        if (!s || !*s)
                return 0;
        for (; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
                      (*s >= '0' && *s <= '9') || strchr("_-.*,:+", *s)))
                        return 0;
        return 1;
}

fw_os_t *fw_os_new(const fw_os_opts_t *o, fw_arkime_client_t *http, char *err, size_t errlen) {
        if (!index_ok(o->index)) {
                snprintf(err, errlen,
                         "opensearch index pattern '%s': use letters, digits and _-.*,:+ only",
                         o->index ? o->index : "");
                return NULL;
        }
        if (o->slice_max > 1 && o->slice_id >= o->slice_max) {
                snprintf(err, errlen, "opensearch slice %u of %u: the id must be below the count",
                         o->slice_id, o->slice_max);
                return NULL;
        }
        fw_os_t *os = calloc(1, sizeof(*os));
        if (!os)
                goto oom;
        os->o = *o;
        os->http = http;
        os->index = strdup(o->index);
        os->tiebreaker = o->tiebreaker && *o->tiebreaker ? strdup(o->tiebreaker) : NULL;
        os->keep_alive = strdup(o->keep_alive && *o->keep_alive ? o->keep_alive : "2m");
        if (!os->index || !os->keep_alive || (o->tiebreaker && *o->tiebreaker && !os->tiebreaker))
                goto oom;
        os->o.index = os->index;
        os->o.tiebreaker = os->tiebreaker;
        os->o.keep_alive = os->keep_alive;
        if (os->o.page_size == 0)
                os->o.page_size = 10000;
        return os;
oom:
        snprintf(err, errlen, "out of memory");
        fw_os_free(os);
        return NULL;
}

void fw_os_free(fw_os_t *os) {
        if (!os)
                return;
        fw_os_end(os);
        free(os->index);
        free(os->tiebreaker);
        free(os->keep_alive);
        free(os->query);
        free(os);
}

uint32_t fw_os_page_size(const fw_os_t *os) {
        return os->o.page_size;
}

const char *fw_os_query(const fw_os_t *os) {
        return os->query;
}

/* Write s as a JSON string (quotes included). */
static void json_str(FILE *f, const char *s) {
        fputc('"', f);
        for (; *s; s++) {
                unsigned char c = (unsigned char)*s;
                if (c == '"' || c == '\\')
                        fprintf(f, "\\%c", c);
                else if (c < 0x20)
                        fprintf(f, "\\u%04x", c);
                else
                        fputc(c, f);
        }
        fputc('"', f);
}

char *fw_os_search_body(const fw_os_opts_t *o, const char *query, const char *pit_id,
                        int64_t from_ms, int64_t to_ms, const char *search_after) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (!f)
                return NULL;
        fprintf(f, "{\"size\":%u,\"track_total_hits\":false,", o->page_size ? o->page_size : 10000);
        if (pit_id) {
                fputs("\"pit\":{\"id\":", f);
                json_str(f, pit_id);
                fputs(",\"keep_alive\":", f);
                json_str(f, o->keep_alive ? o->keep_alive : "2m");
                fputs("},", f);
        }
        fprintf(f,
                "\"query\":{\"bool\":{\"filter\":[{\"range\":{\"@timestamp\":{\"gte\":%" PRId64
                ",\"lte\":%" PRId64 ",\"format\":\"epoch_millis\"}}}",
                from_ms, to_ms);
        if (query)
                fprintf(f, ",%s", query);
        fputs("]}},\"sort\":[{\"@timestamp\":{\"order\":\"asc\"}}", f);
        if (o->tiebreaker) {
                fputs(",{", f);
                json_str(f, o->tiebreaker);
                fputs(":{\"order\":\"asc\"}}", f);
        }
        /* doc-values fetch: the numbers and dates come back as sort values (raw, unformatted;
         * the tie-breaker alone decides the order), see fw_arkime_in_sort; a field an older
         * index lacks reads as missing instead of failing the search, as a doc value would */
        int in_sort = !o->fetch_source && o->tiebreaker;
        for (int k = 0; in_sort && k < FW_SF_COUNT; k++)
                if (fw_arkime_in_sort(k))
                        fprintf(f,
                                ",{\"%s\":{\"order\":\"asc\",\"missing\":%d,"
                                "\"unmapped_type\":\"%s\"}}",
                                fw_session_fields[k].arkime, FW_ARKIME_SORT_MISSING,
                                fw_session_fields[k].kind == FW_FK_TIME ? "date" : "long");
        if (o->fetch_source) {
                /* the fields the viewer reader asks for (FW_ARKIME_FIELDS, comma-separated) */
                fputs("],\"_source\":{\"includes\":[", f);
                const char *p = FW_ARKIME_FIELDS;
                for (int first = 1; *p; first = 0) {
                        const char *comma = strchr(p, ',');
                        size_t n = comma ? (size_t)(comma - p) : strlen(p);
                        fprintf(f, "%s\"%.*s\"", first ? "" : ",", (int)n, p);
                        p += n + (comma ? 1 : 0);
                }
                fputs("]}", f);
        } else {
                /* the other fields from doc values: no stored field is read (the _id comes with
                 * the sort when it is the tie-breaker), dates as epoch milliseconds */
                fputs("],\"_source\":false,\"docvalue_fields\":[", f);
                int first = 1;
                for (int k = 0; k < FW_SF_COUNT; k++) {
                        const fw_session_field_t *sf = &fw_session_fields[k];
                        if (sf->kind == FW_FK_ID ||
                            (in_sort && (fw_arkime_in_sort(k) || sf->kind == FW_FK_DBTIME)))
                                continue;
                        if (sf->kind == FW_FK_TIME || sf->kind == FW_FK_DBTIME)
                                fprintf(f, "%s{\"field\":\"%s\",\"format\":\"epoch_millis\"}",
                                        first ? "" : ",", sf->arkime);
                        else
                                fprintf(f, "%s\"%s\"", first ? "" : ",", sf->arkime);
                        first = 0;
                }
                fputc(']', f);
                if (o->tiebreaker && strcmp(o->tiebreaker, "_id") == 0)
                        fputs(",\"stored_fields\":\"_none_\"", f);
        }
        if (o->slice_max > 1)
                fprintf(f, ",\"slice\":{\"id\":%u,\"max\":%u}", o->slice_id, o->slice_max);
        if (search_after && *search_after)
                fprintf(f, ",\"search_after\":%s", search_after);
        fputc('}', f);
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

/* A JSON answer as a cJSON tree, or NULL with err. */
static cJSON *parse_answer(const char *body, size_t len, const char *what, char *err,
                           size_t errlen) {
        cJSON *root = cJSON_ParseWithLength(body, len);
        if (!root || !cJSON_IsObject(root)) {
                snprintf(err, errlen, "%s: the answer is not a JSON object", what);
                cJSON_Delete(root);
                return NULL;
        }
        return root;
}

/* Which search engine answers: OpenSearch and Elasticsearch name their PIT endpoints
 * differently (GET / tells: version.distribution is "opensearch" for OpenSearch). */
static int find_flavor(fw_os_t *os, char *err, size_t errlen) {
        const char *body;
        size_t len;
        long status;
        double ms;
        if (os->flavor)
                return 0;
        int rc = fw_arkime_request(os->http, "GET", "/", NULL, NULL, 0, &body, &len, &status, &ms,
                                   err, errlen);
        if (rc != FW_ARKIME_OK)
                return rc;
        cJSON *root = parse_answer(body, len, "GET /", err, errlen);
        if (!root)
                return FW_OS_EANSWER;
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "version");
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(v, "distribution");
        os->flavor = cJSON_IsString(d) && strcmp(d->valuestring, "opensearch") == 0
                             ? FLAVOR_OPENSEARCH
                             : FLAVOR_ELASTICSEARCH;
        cJSON_Delete(root);
        return 0;
}

int fw_os_set_expression(fw_os_t *os, fw_arkime_client_t *viewer, const char *expression, char *err,
                         size_t errlen) {
        free(os->query);
        os->query = NULL;
        if (!expression || !*expression)
                return 0;
        char *form = NULL;
        size_t flen = 0;
        if (fw_arkime_form_add(&form, &flen, "expression", expression) ||
            fw_arkime_form_add(&form, &flen, "date", "-1")) {
                free(form);
                snprintf(err, errlen, "out of memory");
                return FW_ARKIME_EINTERNAL;
        }
        const char *body;
        size_t len;
        long status;
        double ms;
        char e[512];
        int rc = fw_arkime_request(viewer, "POST", "/api/buildquery",
                                   "application/x-www-form-urlencoded", form, flen, &body, &len,
                                   &status, &ms, e, sizeof(e));
        free(form);
        if (rc != FW_ARKIME_OK) {
                snprintf(err, errlen,
                         "arkime.expression: the viewer must translate it (/api/buildquery) and "
                         "did not answer: %s",
                         e);
                return rc;
        }
        cJSON *root = parse_answer(body, len, "the viewer's /api/buildquery", err, errlen);
        if (!root)
                return FW_OS_EANSWER;
        const cJSON *error = cJSON_GetObjectItemCaseSensitive(root, "error");
        const cJSON *q = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(root, "esquery"), "query");
        if (error || !cJSON_IsObject(q)) {
                snprintf(err, errlen, "arkime.expression: the viewer refused it: %.300s",
                         cJSON_IsString(error) ? error->valuestring : "no esquery.query");
                cJSON_Delete(root);
                return FW_OS_EANSWER;
        }
        os->query = cJSON_PrintUnformatted(q);
        cJSON_Delete(root);
        if (!os->query) {
                snprintf(err, errlen, "out of memory");
                return FW_ARKIME_EINTERNAL;
        }
        return 0;
}

void fw_os_end(fw_os_t *os) {
        if (!os->pit_id)
                return;
        if (!os->owns_pit) {
                free(os->pit_id);
                os->pit_id = NULL;
                return;
        }
        char *buf = NULL;
        size_t blen = 0;
        FILE *f = open_memstream(&buf, &blen);
        if (f) {
                fputs(os->flavor == FLAVOR_OPENSEARCH ? "{\"pit_id\":[" : "{\"id\":", f);
                json_str(f, os->pit_id);
                fputs(os->flavor == FLAVOR_OPENSEARCH ? "]}" : "}", f);
                if (fclose(f) == 0) {
                        const char *body;
                        size_t len;
                        long status;
                        double ms;
                        char e[256];
                        /* a PIT left open expires after keep_alive anyway */
                        (void)fw_arkime_request(os->http, "DELETE",
                                                os->flavor == FLAVOR_OPENSEARCH
                                                        ? "/_search/point_in_time"
                                                        : "/_pit",
                                                "application/json", buf, blen, &body, &len, &status,
                                                &ms, e, sizeof(e));
                }
                free(buf);
        }
        free(os->pit_id);
        os->pit_id = NULL;
}

/* The first sub-range: a minute, widened while sparse, narrowed to the density seen. */
#define FIRST_SPAN_MS 60000

static void window_start(fw_os_t *os, int64_t from_ms, int64_t to_ms) {
        os->from_ms = from_ms;
        os->to_ms = to_ms;
        os->after[0] = '\0';
        os->after_ms = -1;
        os->span_ms = FIRST_SPAN_MS;
        os->sub_lo = from_ms;
        os->sub_hi = to_ms - from_ms < FIRST_SPAN_MS ? to_ms : from_ms + FIRST_SPAN_MS - 1;
}

int fw_os_begin(fw_os_t *os, int64_t from_ms, int64_t to_ms, char *err, size_t errlen) {
        fw_os_end(os);
        int rc = find_flavor(os, err, errlen);
        if (rc != 0)
                return rc;
        if (!os->tiebreaker) {
                os->tiebreaker = strdup(os->flavor == FLAVOR_OPENSEARCH ? "_id" : "_shard_doc");
                if (!os->tiebreaker) {
                        snprintf(err, errlen, "out of memory");
                        return FW_ARKIME_EINTERNAL;
                }
                os->o.tiebreaker = os->tiebreaker;
        }
        char path[1024];
        snprintf(path, sizeof(path), "/%s/%s?keep_alive=%s", os->index,
                 os->flavor == FLAVOR_OPENSEARCH ? "_search/point_in_time" : "_pit",
                 os->keep_alive);
        const char *body;
        size_t len;
        long status;
        double ms;
        rc = fw_arkime_request(os->http, "POST", path, NULL, NULL, 0, &body, &len, &status, &ms,
                               err, errlen);
        if (rc != FW_ARKIME_OK)
                return rc;
        cJSON *root = parse_answer(body, len, "opening a point in time", err, errlen);
        if (!root)
                return FW_OS_EANSWER;
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "pit_id");
        if (!cJSON_IsString(id))
                id = cJSON_GetObjectItemCaseSensitive(root, "id"); /* Elasticsearch */
        if (!cJSON_IsString(id)) {
                snprintf(err, errlen, "opening a point in time: no pit_id in the answer");
                cJSON_Delete(root);
                return FW_OS_EANSWER;
        }
        os->pit_id = strdup(id->valuestring);
        cJSON_Delete(root);
        if (!os->pit_id) {
                snprintf(err, errlen, "out of memory");
                return FW_ARKIME_EINTERNAL;
        }
        os->owns_pit = 1;
        window_start(os, from_ms, to_ms);
        return 0;
}

int fw_os_join(fw_os_t *os, const fw_os_t *leader) {
        fw_os_end(os);
        if (!leader->pit_id || !(os->pit_id = strdup(leader->pit_id)))
                return -1;
        os->owns_pit = 0;
        os->flavor = leader->flavor;
        if (!os->tiebreaker && leader->tiebreaker) {
                os->tiebreaker = strdup(leader->tiebreaker);
                os->o.tiebreaker = os->tiebreaker;
        }
        window_start(os, leader->from_ms, leader->to_ms);
        return 0;
}

/* The sub-range after a page of hits: see fw_os_next. */
static void aim(fw_os_t *os, const fw_search_info_t *info, int *done) {
        if (info->hits >= os->o.page_size) {
                /* more in this sub-range: continue after the last hit, and aim the sub-range's
                 * end at about two pages ahead (the documents a query visits are those of its
                 * range: searching to the window's end would sort the rest of the window for
                 * every page) */
                snprintf(os->after, sizeof(os->after), "%s", info->last_sort);
                os->after_ms = info->last_time_ms;
                int64_t span = info->last_time_ms - info->first_time_ms;
                os->span_ms = 2 * (span > 0 ? span : 1);
                int64_t hi = info->last_time_ms + os->span_ms;
                os->sub_hi = hi < os->to_ms ? hi : os->to_ms;
                return;
        }
        /* a short page: every document of [sub_lo, sub_hi] was read */
        if (os->sub_hi >= os->to_ms) {
                *done = 1;
                return;
        }
        if (info->hits < os->o.page_size / 2 && os->span_ms < INT64_MAX / 8)
                os->span_ms *= 4; /* sparse: widen */
        os->sub_lo = os->sub_hi + 1;
        os->after[0] = '\0';
        os->after_ms = -1;
        os->sub_hi =
                os->to_ms - os->sub_lo < os->span_ms ? os->to_ms : os->sub_lo + os->span_ms - 1;
}

int fw_os_next(fw_os_t *os, fw_arkime_page_t *page, fw_search_info_t *info, int *done, double *ms,
               char *err, size_t errlen) {
        *ms = 0;
        *done = 0;
        if (!os->pit_id) {
                snprintf(err, errlen, "no window open");
                return FW_ARKIME_EINTERNAL;
        }
        /* search_after skips what sorts before the last hit; the range says the same of its
         * @timestamp, so that OpenSearch need not visit those documents */
        int64_t lo = os->after_ms > os->sub_lo ? os->after_ms : os->sub_lo;
        char *req = fw_os_search_body(&os->o, os->query, os->pit_id, lo, os->sub_hi, os->after);
        if (!req) {
                snprintf(err, errlen, "out of memory");
                return FW_ARKIME_EINTERNAL;
        }
        const char *body;
        size_t len;
        long status;
        int rc = fw_arkime_request(
                os->http, "POST", "/_search?allow_partial_search_results=false&" FILTER_PATH,
                "application/json", req, strlen(req), &body, &len, &status, ms, err, errlen);
        free(req);
        if (rc != FW_ARKIME_OK)
                return rc;
        if (fw_arkime_search_parse(page, body, len, !os->o.fetch_source && os->o.tiebreaker, info,
                                   err, errlen) != 0)
                return FW_OS_EANSWER;
        if (info->pit_id) { /* the PIT id may change from page to page: use the newest */
                free(os->pit_id);
                os->pit_id = info->pit_id;
                info->pit_id = NULL;
        }
        aim(os, info, done);
        return 0;
}
