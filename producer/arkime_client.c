#include "arkime_client.h"
#include "timeutil.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arkime_page.h"

struct fw_arkime_client {
        CURL *curl;
        CURLM *multi; /* drives curl so that a stop is noticed within STOP_CHECK_MS */
        volatile sig_atomic_t *stop;
        long stop_grace_ms;
        int64_t stop_seen_ms; /* monotonic ms the client first saw *stop, 0 before */
        char *endpoint;       /* <url>/api/sessions */
        char *user, *password, *expression, *cluster, *order;
        size_t max_body;
        char *buf; /* response body */
        size_t len, cap;
        int too_big;
        char curl_err[CURL_ERROR_SIZE];
};

#define STOP_CHECK_MS 50

/* 1 when a stop was requested and its grace has run out (the request must be abandoned). */
static int stop_due(fw_arkime_client_t *c) {
        if (!c->stop || !*c->stop)
                return 0;
        int64_t now = fw_mono_ms();
        if (c->stop_seen_ms == 0)
                c->stop_seen_ms = now;
        return now - c->stop_seen_ms >= c->stop_grace_ms;
}

static char *dup_or_null(const char *s) {
        return s && s[0] ? strdup(s) : NULL;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud) {
        fw_arkime_client_t *c = ud;
        size_t n = size * nmemb;
        if (c->len + n + 1 > c->max_body) {
                c->too_big = 1;
                return 0; /* aborts the transfer */
        }
        if (c->len + n + 1 > c->cap) {
                size_t cap = c->cap ? c->cap : 65536;
                while (cap < c->len + n + 1)
                        cap *= 2;
                char *b = realloc(c->buf, cap);
                if (!b)
                        return 0;
                c->buf = b;
                c->cap = cap;
        }
        memcpy(c->buf + c->len, data, n);
        c->len += n;
        return n;
}

void fw_arkime_client_free(fw_arkime_client_t *c) {
        if (!c)
                return;
        if (c->curl)
                curl_easy_cleanup(c->curl);
        if (c->multi)
                curl_multi_cleanup(c->multi);
        if (c->password) {
                memset(c->password, 0, strlen(c->password));
                free(c->password);
        }
        free(c->endpoint);
        free(c->user);
        free(c->expression);
        free(c->cluster);
        free(c->order);
        free(c->buf);
        free(c);
}

fw_arkime_client_t *fw_arkime_client_new(const fw_arkime_opts_t *o, char *err, size_t errlen) {
        if (!o->url ||
            (strncmp(o->url, "http://", 7) != 0 && strncmp(o->url, "https://", 8) != 0)) {
                snprintf(err, errlen, "arkime.url must start with http:// or https://");
                return NULL;
        }
        fw_arkime_client_t *c = calloc(1, sizeof(*c));
        if (!c)
                goto oom;
        size_t ulen = strlen(o->url);
        while (ulen > 0 && o->url[ulen - 1] == '/')
                ulen--;
        c->endpoint = malloc(ulen + sizeof("/api/sessions"));
        if (!c->endpoint)
                goto oom;
        memcpy(c->endpoint, o->url, ulen);
        memcpy(c->endpoint + ulen, "/api/sessions", sizeof("/api/sessions"));
        c->user = dup_or_null(o->user);
        c->password = dup_or_null(o->password);
        c->expression = dup_or_null(o->expression);
        c->cluster = dup_or_null(o->cluster);
        c->order = dup_or_null(o->order);
        c->max_body = o->max_body ? o->max_body : (size_t)512 << 20;
        c->curl = curl_easy_init();
        c->multi = curl_multi_init();
        if (!c->curl || !c->multi)
                goto oom;

        CURL *h = c->curl;
        curl_easy_setopt(h, CURLOPT_URL, c->endpoint);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->curl_err);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, ""); /* every encoding libcurl decodes */
        curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
        curl_easy_setopt(h, CURLOPT_USERAGENT, "fanwatch-producer/" FW_VERSION);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                         o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 10000L);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, o->timeout_ms > 0 ? o->timeout_ms : 120000L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, o->tls_verify ? 1L : 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, o->tls_verify ? 2L : 0L);
        if (o->ca_file && o->ca_file[0])
                curl_easy_setopt(h, CURLOPT_CAINFO, o->ca_file);
        if (c->user && o->auth != FW_ARKIME_AUTH_NONE) {
                long how = o->auth == FW_ARKIME_AUTH_DIGEST  ? CURLAUTH_DIGEST
                           : o->auth == FW_ARKIME_AUTH_BASIC ? CURLAUTH_BASIC
                                                             : CURLAUTH_ANY;
                curl_easy_setopt(h, CURLOPT_HTTPAUTH, how);
                curl_easy_setopt(h, CURLOPT_USERNAME, c->user);
                curl_easy_setopt(h, CURLOPT_PASSWORD, c->password ? c->password : "");
        }
        return c;
oom:
        snprintf(err, errlen, "out of memory");
        fw_arkime_client_free(c);
        return NULL;
}

/* Append "&name=value" (value URL-encoded) to a form body. */
static int form_add(CURL *h, char **body, size_t *len, const char *name, const char *value) {
        char *enc = curl_easy_escape(h, value, 0);
        if (!enc)
                return -1;
        size_t need = *len + strlen(name) + strlen(enc) + 3;
        char *b = realloc(*body, need);
        if (!b) {
                curl_free(enc);
                return -1;
        }
        *len += (size_t)sprintf(b + *len, "%s%s=%s", *len ? "&" : "", name, enc);
        *body = b;
        curl_free(enc);
        return 0;
}

void fw_arkime_client_set_stop(fw_arkime_client_t *c, volatile sig_atomic_t *stop, long grace_ms) {
        c->stop = stop;
        c->stop_grace_ms = grace_ms > 0 ? grace_ms : 0;
}

int64_t fw_arkime_client_stop_seen(const fw_arkime_client_t *c) {
        return c->stop_seen_ms;
}

/* curl_easy_perform, through the multi handle: the connection cache is the multi handle's, so
 * keep-alive and digest negotiation work as before, and *stop is looked at every
 * STOP_CHECK_MS (an easy transfer notices nothing for as long as arkime.timeout). *stopped is
 * set when the request was abandoned because of a stop. */
static CURLcode perform(fw_arkime_client_t *c, int *stopped) {
        *stopped = 0;
        if (stop_due(c)) {
                *stopped = 1;
                return CURLE_ABORTED_BY_CALLBACK;
        }
        CURLMcode mc = curl_multi_add_handle(c->multi, c->curl);
        if (mc != CURLM_OK) {
                snprintf(c->curl_err, sizeof(c->curl_err), "%s", curl_multi_strerror(mc));
                return CURLE_FAILED_INIT;
        }
        CURLcode rc = CURLE_OK;
        int running = 1, done = 0;
        while (!done) {
                mc = curl_multi_perform(c->multi, &running);
                if (mc == CURLM_OK && running > 0)
                        mc = curl_multi_poll(c->multi, NULL, 0, STOP_CHECK_MS, NULL);
                if (mc != CURLM_OK) {
                        snprintf(c->curl_err, sizeof(c->curl_err), "%s", curl_multi_strerror(mc));
                        rc = CURLE_FAILED_INIT;
                        break;
                }
                int left;
                CURLMsg *msg;
                while ((msg = curl_multi_info_read(c->multi, &left)) != NULL)
                        if (msg->msg == CURLMSG_DONE && msg->easy_handle == c->curl) {
                                rc = msg->data.result;
                                done = 1;
                        }
                if (!done && running == 0) { /* finished without a message: cannot happen */
                        rc = CURLE_FAILED_INIT;
                        break;
                }
                if (!done && stop_due(c)) {
                        *stopped = 1;
                        rc = CURLE_ABORTED_BY_CALLBACK;
                        break;
                }
        }
        curl_multi_remove_handle(c->multi, c->curl); /* mid-transfer: closes that connection */
        return rc;
}

int fw_arkime_fetch(fw_arkime_client_t *c, const fw_slice_t *sl, const char **body, size_t *len,
                    double *ms, char *err, size_t errlen) {
        char start[24], stop[24], length[16], offset[16];
        snprintf(offset, sizeof(offset), "%u", sl->offset);
        snprintf(start, sizeof(start), "%lld", (long long)sl->start_s);
        snprintf(stop, sizeof(stop), "%lld", (long long)sl->stop_s);
        snprintf(length, sizeof(length), "%u", sl->length);
        char *form = NULL;
        size_t flen = 0;
        int bad = form_add(c->curl, &form, &flen, "bounding", "database") ||
                  form_add(c->curl, &form, &flen, "startTime", start) ||
                  form_add(c->curl, &form, &flen, "stopTime", stop) ||
                  form_add(c->curl, &form, &flen, "start", offset) ||
                  form_add(c->curl, &form, &flen, "length", length) ||
                  form_add(c->curl, &form, &flen, "fields", FW_ARKIME_FIELDS) ||
                  form_add(c->curl, &form, &flen, "facets", "0") ||
                  form_add(c->curl, &form, &flen, "flatten", "1");
        if (!bad && c->expression)
                bad = form_add(c->curl, &form, &flen, "expression", c->expression);
        if (!bad && c->order)
                bad = form_add(c->curl, &form, &flen, "order", c->order);
        if (!bad && c->cluster)
                bad = form_add(c->curl, &form, &flen, "cluster", c->cluster);
        if (bad) {
                free(form);
                snprintf(err, errlen, "out of memory");
                return FW_ARKIME_EINTERNAL;
        }
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, form);
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE, (long)flen);
        c->len = 0;
        c->too_big = 0;
        c->curl_err[0] = '\0';
        int stopped = 0;
        CURLcode rc = perform(c, &stopped);
        free(form);
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, NULL);

        double secs = 0;
        curl_easy_getinfo(c->curl, CURLINFO_TOTAL_TIME, &secs);
        *ms = secs * 1000.0;
        if (stopped) {
                snprintf(err, errlen, "request abandoned: stopping");
                return FW_ARKIME_ESTOPPED;
        }
        if (c->too_big) {
                snprintf(err, errlen, "response larger than %zu bytes", c->max_body);
                return FW_ARKIME_ETOOBIG;
        }
        if (rc != CURLE_OK) {
                snprintf(err, errlen, "%s: %s", curl_easy_strerror(rc),
                         c->curl_err[0] ? c->curl_err : "no detail");
                return rc == CURLE_OUT_OF_MEMORY ? FW_ARKIME_EINTERNAL : FW_ARKIME_ENET;
        }
        long status = 0;
        curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
        if (status == 401 || status == 403) {
                snprintf(err, errlen,
                         "HTTP %ld from the viewer: check arkime.user and the password (the "
                         "account needs no time limit or forced expression)",
                         status);
                return FW_ARKIME_EAUTH;
        }
        if (status != 200) {
                snprintf(err, errlen, "HTTP %ld from the viewer", status);
                return FW_ARKIME_EHTTP;
        }
        if (!c->buf) {
                c->buf = malloc(1);
                if (!c->buf) {
                        snprintf(err, errlen, "out of memory");
                        return FW_ARKIME_EINTERNAL;
                }
        }
        c->buf[c->len] = '\0';
        *body = c->buf;
        *len = c->len;
        return FW_ARKIME_OK;
}
