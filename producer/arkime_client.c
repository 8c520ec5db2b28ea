#include "arkime_client.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arkime_page.h"

struct fw_arkime_client {
        CURL *curl;
        char *endpoint; /* <url>/api/sessions */
        char *user, *password, *expression, *cluster, *order;
        size_t max_body;
        char *buf; /* response body */
        size_t len, cap;
        int too_big;
        char curl_err[CURL_ERROR_SIZE];
};

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
        if (!c->curl)
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
        CURLcode rc = curl_easy_perform(c->curl);
        free(form);
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, NULL);

        double secs = 0;
        curl_easy_getinfo(c->curl, CURLINFO_TOTAL_TIME, &secs);
        *ms = secs * 1000.0;
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
