#include "tagger.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arkime_client.h"
#include "timeutil.h"

#define NO_SESSIONS_TEXT "No sessions to add tags to"

/* Arkime's addTags: tags.replace(/[^-a-zA-Z0-9_:,]/g, '') */
static int tag_char(unsigned char c, int keep_comma) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '_' || c == ':' || (keep_comma && c == ',');
}

size_t fw_tag_sanitize(const char *in, int keep_comma, char *out, size_t outlen) {
        size_t n = 0;
        if (outlen == 0)
                return 0;
        for (const unsigned char *p = (const unsigned char *)in; *p && n + 1 < outlen; p++)
                if (tag_char(*p, keep_comma))
                        out[n++] = (char)*p;
        out[n] = '\0';
        return n;
}

/* n decimal digits at s into *v; 0 or -1. */
static int digits(const char *s, int n, int64_t *v) {
        int64_t x = 0;
        for (int i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -1;
                x = x * 10 + (s[i] - '0');
        }
        *v = x;
        return 0;
}

int fw_tag_parse_time(const char *s, int64_t *ms) {
        int64_t y, mo, d, h, mi, se, frac = 0;
        if (!s || strlen(s) < 20 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) ||
            s[7] != '-' || digits(s + 8, 2, &d) || s[10] != 'T' || digits(s + 11, 2, &h) ||
            s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' || digits(s + 17, 2, &se))
                return -1;
        if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
                return -1;
        const char *p = s + 19;
        if (*p == '.') {
                int n = 0;
                p++;
                while (p[n] >= '0' && p[n] <= '9')
                        n++;
                if (n == 0 || n > 9)
                        return -1;
                for (int i = 0; i < 3; i++)
                        frac = frac * 10 + (i < n ? p[i] - '0' : 0);
                p += n;
        }
        int64_t off = 0;
        if (*p == 'Z') {
                p++;
        } else if (*p == '+' || *p == '-') {
                int64_t oh, om;
                if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om) || oh > 23 ||
                    om > 59)
                        return -1;
                off = (oh * 60 + om) * 60000 * (*p == '-' ? -1 : 1);
                p += 6;
        } else {
                return -1;
        }
        if (*p != '\0')
                return -1;
        *ms = ((fw_days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60000 + se * 1000 + frac - off;
        return 0;
}

void fw_tag_req_free(fw_tag_req_t *r) {
        free(r->expression);
        free(r->tags);
        free(r->path);
        free(r->form);
        memset(r, 0, sizeof(*r));
        r->sessions = -1;
}

/* The string at a dotted path of an object, NULL when absent or not a string. */
static const char *jpath_str(json_t *root, const char *a, const char *b, const char *c) {
        json_t *v = json_object_get(root, a);
        if (b)
                v = json_object_get(v, b);
        if (c)
                v = json_object_get(v, c);
        return json_is_string(v) ? json_string_value(v) : NULL;
}

/* The addtags query parameters (also the body's tail) into *q, *qlen. 0 or -1 (memory). */
static int query_params(const fw_tag_req_t *r, char **q, size_t *qlen) {
        char start[32], stop[32];
        snprintf(start, sizeof(start), "%" PRId64, r->start_s);
        snprintf(stop, sizeof(stop), "%" PRId64, r->stop_s);
        if (r->expression && fw_arkime_form_add(q, qlen, "expression", r->expression) != 0)
                return -1;
        return fw_arkime_form_add(q, qlen, "startTime", start) ||
                               fw_arkime_form_add(q, qlen, "stopTime", stop) ||
                               fw_arkime_form_add(q, qlen, "bounding", "first")
                       ? -1
                       : 0;
}

/* tags, path and form of a request whose fields are read. 0 or -1 (memory). */
static int build(fw_tag_req_t *r) {
        static const char prefix[] = "/api/sessions/addtags?";
        size_t n = strlen(r->rule) + strlen(r->id) + 32;
        char *q = NULL;
        size_t qlen = 0;
        r->tags = malloc(n);
        if (!r->tags)
                return -1;
        if (r->rule[0])
                snprintf(r->tags, n, "fanwatch,fanwatch:%s,fanwatch:%s", r->rule, r->id);
        else
                snprintf(r->tags, n, "fanwatch,fanwatch:%s", r->id);
        if (query_params(r, &q, &qlen) != 0)
                goto oom;
        r->path = malloc(sizeof(prefix) + qlen);
        if (!r->path)
                goto oom;
        memcpy(r->path, prefix, sizeof(prefix) - 1);
        memcpy(r->path + sizeof(prefix) - 1, q, qlen + 1);
        if (fw_arkime_form_add(&r->form, &r->form_len, "tags", r->tags) != 0 ||
            query_params(r, &r->form, &r->form_len) != 0)
                goto oom;
        free(q);
        return 0;
oom:
        free(q);
        return -1;
}

int fw_tag_req_from_json(const char *json, size_t len, fw_tag_req_t *r, char *err, size_t errlen) {
        json_error_t je;
        memset(r, 0, sizeof(*r));
        r->sessions = -1;
        json_t *root = json_loadb(json ? json : "", json ? len : 0, JSON_REJECT_DUPLICATES, &je);
        if (!root) {
                snprintf(err, errlen, "not JSON: %s (byte %d)", je.text, je.position);
                return -1;
        }
        int rc = -1;
        const char *id = jpath_str(root, "event", "id", NULL);
        const char *rule = jpath_str(root, "rule", "id", NULL);
        const char *ws = jpath_str(root, "fanwatch", "window", "start");
        const char *we = jpath_str(root, "fanwatch", "window", "end");
        const char *expr = jpath_str(root, "fanwatch", "expression", NULL);
        json_t *sessions = json_object_get(json_object_get(root, "fanwatch"), "sessions");
        int64_t start_ms, end_ms;
        char clean[FW_TAG_ID_MAX + 1];
        if (!json_is_object(root)) {
                snprintf(err, errlen, "not a JSON object");
        } else if (!id || !*id) {
                snprintf(err, errlen, "no event.id (a string)");
        } else if (strlen(id) > FW_TAG_ID_MAX ||
                   fw_tag_sanitize(id, 0, clean, sizeof(clean)) != strlen(id)) {
                snprintf(err, errlen,
                         "event.id is over %d bytes or has characters Arkime drops from tags",
                         FW_TAG_ID_MAX);
        } else if (!rule || !*rule) {
                snprintf(err, errlen, "no rule.id (a string)");
        } else if (!ws || !we) {
                snprintf(err, errlen, "no fanwatch.window.start and .end (times)");
        } else if (fw_tag_parse_time(ws, &start_ms) != 0 || fw_tag_parse_time(we, &end_ms) != 0) {
                snprintf(err, errlen, "fanwatch.window.start or .end is not an ISO 8601 time");
        } else if (end_ms < start_ms) {
                snprintf(err, errlen, "fanwatch.window.end is before .start");
        } else if ((!expr || !*expr) && strcmp(rule, "session_spike_total") != 0) {
                snprintf(err, errlen,
                         "no fanwatch.expression (only session_spike_total alerts have none)");
        } else {
                snprintf(r->id, sizeof(r->id), "%s", id);
                fw_tag_sanitize(rule, 0, r->rule, sizeof(r->rule));
                r->start_s = fw_floor_div(start_ms, 1000);
                r->stop_s = -fw_floor_div(-end_ms, 1000);
                if (json_is_integer(sessions))
                        r->sessions = (int64_t)json_integer_value(sessions);
                rc = 0;
                if (expr && *expr && !(r->expression = strdup(expr)))
                        rc = -2;
                if (rc == 0 && build(r) != 0)
                        rc = -2;
                if (rc == -2) {
                        snprintf(err, errlen, "out of memory");
                        fw_tag_req_free(r);
                }
        }
        json_decref(root);
        return rc;
}

/* The first line of s (up to 200 bytes), printable ASCII, into out. */
static void one_line(const char *s, size_t len, char *out, size_t outlen) {
        size_t n = 0;
        for (size_t i = 0; i < len && n + 1 < outlen && n < 200; i++) {
                unsigned char c = (unsigned char)s[i];
                if (c == '\n' || c == '\r')
                        break;
                out[n++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
        }
        out[n] = '\0';
}

fw_tag_answer_t fw_tag_classify(const char *body, size_t len, char *why, size_t whylen) {
        json_error_t je;
        char line[256];
        json_t *root = body ? json_loadb(body, len, 0, &je) : NULL;
        if (!json_is_object(root)) {
                one_line(body ? body : "", body ? len : 0, line, sizeof(line));
                snprintf(why, whylen, "the viewer's answer is not a JSON object: '%s'", line);
                json_decref(root);
                return FW_TAG_FAILED;
        }
        json_t *success = json_object_get(root, "success");
        json_t *text = json_object_get(root, "text");
        fw_tag_answer_t a = FW_TAG_FAILED;
        if (json_is_true(success)) {
                a = FW_TAG_TAGGED;
        } else if (json_is_false(success) && json_is_string(text) &&
                   strcmp(json_string_value(text), NO_SESSIONS_TEXT) == 0) {
                a = FW_TAG_NO_SESSIONS;
        } else {
                const char *t = json_is_string(text) ? json_string_value(text) : NULL;
                if (!t)
                        t = json_is_string(json_object_get(root, "error"))
                                    ? json_string_value(json_object_get(root, "error"))
                                    : NULL;
                if (t)
                        one_line(t, strlen(t), line, sizeof(line));
                else
                        one_line(body, len, line, sizeof(line));
                snprintf(why, whylen, "the viewer did not confirm the tags: '%s'", line);
        }
        json_decref(root);
        return a;
}

void fw_tb_init(fw_token_bucket_t *tb, double rate, double burst, int64_t now_ms) {
        tb->rate = rate > 0 ? rate : 1;
        tb->burst = burst >= 1 ? burst : 1;
        tb->tokens = tb->burst;
        tb->last_ms = now_ms;
}

int64_t fw_tb_take(fw_token_bucket_t *tb, int64_t now_ms) {
        if (now_ms > tb->last_ms) {
                tb->tokens += (double)(now_ms - tb->last_ms) * tb->rate / 1000.0;
                if (tb->tokens > tb->burst)
                        tb->tokens = tb->burst;
                tb->last_ms = now_ms;
        }
        if (tb->tokens >= 1.0 - 1e-9) {
                tb->tokens -= 1.0;
                if (tb->tokens < 0)
                        tb->tokens = 0;
                return 0;
        }
        /* rounded up, less float noise (0.995 tokens accumulated in two steps) */
        double wait = (1.0 - tb->tokens) * 1000.0 / tb->rate - 1e-6;
        int64_t w = (int64_t)wait;
        return (double)w < wait ? w + 1 : (w > 0 ? w : 1);
}

void fw_backoff_init(fw_backoff_t *b, int64_t initial_ms, int64_t max_ms) {
        b->initial_ms = initial_ms > 0 ? initial_ms : 1;
        b->max_ms = max_ms > b->initial_ms ? max_ms : b->initial_ms;
        b->next_ms = b->initial_ms;
}

int64_t fw_backoff_next(fw_backoff_t *b) {
        int64_t w = b->next_ms;
        b->next_ms = b->next_ms > b->max_ms / 2 ? b->max_ms : b->next_ms * 2;
        return w;
}
