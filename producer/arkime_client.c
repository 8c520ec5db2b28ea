#include "arkime_client.h"
#include "timeutil.h"

#include <curl/curl.h>
#include <errno.h>
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
        char *base;           /* <url> without trailing slashes */
        char *endpoint;       /* <url>/api/sessions */
        char *user, *password, *expression, *cluster, *order;
        char *peer, *auth_hint;
        struct curl_slist *headers; /* the API key's Authorization header (a secret) */
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

static fw_arkime_auth_t auth_mode(const char *s) {
        if (strcmp(s, "digest") == 0)
                return FW_ARKIME_AUTH_DIGEST;
        if (strcmp(s, "basic") == 0)
                return FW_ARKIME_AUTH_BASIC;
        if (strcmp(s, "none") == 0)
                return FW_ARKIME_AUTH_NONE;
        return FW_ARKIME_AUTH_ANY;
}

/* A string key the daemon's table may lack (the tagger has no arkime.order). */
static const char *opt_str(const fw_conf_t *conf, const char *key) {
        return fw_conf_has_key(conf, key) ? fw_conf_str(conf, key) : NULL;
}

void fw_arkime_opts_from_conf(const fw_conf_t *conf, fw_arkime_opts_t *o) {
        memset(o, 0, sizeof(*o));
        o->url = fw_conf_str(conf, "arkime.url");
        o->user = fw_conf_str(conf, "arkime.user");
        o->password = fw_conf_str(conf, "arkime.password");
        o->auth = auth_mode(fw_conf_str(conf, "arkime.auth"));
        o->ca_file = fw_conf_str(conf, "arkime.ca_file");
        o->tls_verify = fw_conf_bool(conf, "arkime.tls_verify");
        o->connect_timeout_ms = (long)fw_conf_duration_ms(conf, "arkime.connect_timeout");
        o->timeout_ms = (long)fw_conf_duration_ms(conf, "arkime.timeout");
        o->expression = opt_str(conf, "arkime.expression");
        o->cluster = opt_str(conf, "arkime.cluster");
        o->order = opt_str(conf, "arkime.order");
        o->identity = !fw_conf_bool(conf, "arkime.compression");
}

int fw_arkime_conf_check(const fw_conf_t *conf, const char *required, char *err, size_t errlen) {
        const char *url = fw_conf_str(conf, "arkime.url");
        if (!url || !*url) {
                snprintf(err, errlen,
                         "key 'arkime.url' is required %s (set it in the config file or as "
                         "FANWATCH_ARKIME_URL)",
                         required);
                return -1;
        }
        const char *ca = fw_conf_str(conf, "arkime.ca_file");
        FILE *f = ca && *ca ? fopen(ca, "r") : NULL;
        if (ca && *ca && !f) {
                snprintf(err, errlen, "%s: key 'arkime.ca_file': cannot open '%s': %s",
                         fw_conf_origin(conf, "arkime.ca_file"), ca, strerror(errno));
                return -1;
        }
        if (f)
                fclose(f);
        return 0;
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
        if (c->headers) {
                for (struct curl_slist *h = c->headers; h; h = h->next)
                        memset(h->data, 0, strlen(h->data));
                curl_slist_free_all(c->headers);
        }
        free(c->base);
        free(c->endpoint);
        free(c->peer);
        free(c->auth_hint);
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
        c->base = strndup(o->url, ulen);
        c->endpoint = malloc(ulen + sizeof("/api/sessions"));
        if (!c->base || !c->endpoint)
                goto oom;
        memcpy(c->endpoint, o->url, ulen);
        memcpy(c->endpoint + ulen, "/api/sessions", sizeof("/api/sessions"));
        c->peer = strdup(o->peer ? o->peer : "the viewer");
        c->auth_hint = strdup(o->auth_hint ? o->auth_hint
                                           : "check arkime.user and the password (the account "
                                             "needs no time limit or forced expression)");
        if (!c->peer || !c->auth_hint)
                goto oom;
        if (o->api_key && o->api_key[0]) {
                size_t n = strlen(o->api_key) + sizeof("Authorization: ApiKey ");
                char *line = malloc(n);
                if (!line)
                        goto oom;
                snprintf(line, n, "Authorization: ApiKey %s", o->api_key);
                c->headers = curl_slist_append(NULL, line);
                memset(line, 0, n);
                free(line);
                if (!c->headers)
                        goto oom;
        }
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
        if (!o->identity) /* every encoding libcurl decodes */
                curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
        curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
        curl_easy_setopt(h, CURLOPT_USERAGENT, "fanwatch/" FW_VERSION);
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

int fw_arkime_form_add(char **body, size_t *len, const char *name, const char *value) {
        char *enc = curl_easy_escape(NULL, value, 0); /* the handle is unused since 7.82 */
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

/* Send one request to url and classify the outcome (see fw_arkime_request). */
static int do_request(fw_arkime_client_t *c, const char *method, const char *url, const char *ctype,
                      const char *body, size_t blen, long *status, double *ms, char *err,
                      size_t errlen) {
        char ct[128];
        struct curl_slist *hdrs = NULL, *tail = NULL;
        for (struct curl_slist *h = c->headers; h; h = h->next)
                if (!(tail = curl_slist_append(hdrs, h->data)))
                        break;
                else
                        hdrs = tail;
        if (body && ctype) {
                snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
                if ((tail = curl_slist_append(hdrs, ct)) != NULL)
                        hdrs = tail;
        }
        *status = 0;
        *ms = 0;
        curl_easy_setopt(c->curl, CURLOPT_URL, url);
        curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, hdrs);
        if (body) {
                curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
                curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE, (long)blen);
        } else {
                curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
        }
        curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST,
                         strcmp(method, body ? "POST" : "GET") == 0 ? NULL : method);
        c->len = 0;
        c->too_big = 0;
        c->curl_err[0] = '\0';
        int stopped = 0;
        CURLcode rc = perform(c, &stopped);
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, NULL);
        curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
        curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, NULL);
        if (hdrs) {
                for (struct curl_slist *h = hdrs; h; h = h->next)
                        memset(h->data, 0, strlen(h->data));
                curl_slist_free_all(hdrs);
        }

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
        curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, status);
        if (*status == 401 || *status == 403) {
                snprintf(err, errlen, "HTTP %ld from %s: %s", *status, c->peer, c->auth_hint);
                return FW_ARKIME_EAUTH;
        }
        if (*status < 200 || *status > 299) {
                /* the start of the answer says why (OpenSearch's error type and reason) */
                char snip[301];
                size_t n = c->len < 300 ? c->len : 300;
                for (size_t i = 0; i < n; i++) {
                        unsigned char ch = (unsigned char)c->buf[i];
                        snip[i] = ch < 0x20 || ch == 0x7f ? ' ' : (char)ch;
                }
                snip[n] = '\0';
                snprintf(err, errlen, "HTTP %ld from %s%s%s", *status, c->peer, n ? ": " : "",
                         snip);
                return FW_ARKIME_EHTTP;
        }
        return FW_ARKIME_OK;
}

/* The response buffer NUL-terminated (a 0-byte body too). */
static int finish(fw_arkime_client_t *c, const char **body, size_t *len, char *err, size_t errlen) {
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

int fw_arkime_fetch(fw_arkime_client_t *c, const fw_slice_t *sl, const char **body, size_t *len,
                    double *ms, char *err, size_t errlen) {
        char start[24], stop[24], length[16], offset[16];
        snprintf(offset, sizeof(offset), "%u", sl->offset);
        snprintf(start, sizeof(start), "%lld", (long long)sl->start_s);
        snprintf(stop, sizeof(stop), "%lld", (long long)sl->stop_s);
        snprintf(length, sizeof(length), "%u", sl->length);
        char *form = NULL;
        size_t flen = 0;
        int bad = fw_arkime_form_add(&form, &flen, "bounding", "database") ||
                  fw_arkime_form_add(&form, &flen, "startTime", start) ||
                  fw_arkime_form_add(&form, &flen, "stopTime", stop) ||
                  fw_arkime_form_add(&form, &flen, "start", offset) ||
                  fw_arkime_form_add(&form, &flen, "length", length) ||
                  fw_arkime_form_add(&form, &flen, "fields", FW_ARKIME_FIELDS) ||
                  fw_arkime_form_add(&form, &flen, "facets", "0") ||
                  fw_arkime_form_add(&form, &flen, "flatten", "1");
        if (!bad && c->expression)
                bad = fw_arkime_form_add(&form, &flen, "expression", c->expression);
        if (!bad && c->order)
                bad = fw_arkime_form_add(&form, &flen, "order", c->order);
        if (!bad && c->cluster)
                bad = fw_arkime_form_add(&form, &flen, "cluster", c->cluster);
        if (bad) {
                free(form);
                snprintf(err, errlen, "out of memory");
                return FW_ARKIME_EINTERNAL;
        }
        long status = 0;
        int rc = do_request(c, "POST", c->endpoint, "application/x-www-form-urlencoded", form, flen,
                            &status, ms, err, errlen);
        free(form);
        if (rc != FW_ARKIME_OK)
                return rc;
        return finish(c, body, len, err, errlen);
}

int fw_arkime_request(fw_arkime_client_t *c, const char *method, const char *path,
                      const char *ctype, const char *body, size_t len, const char **resp,
                      size_t *resp_len, long *status, double *ms, char *err, size_t errlen) {
        size_t n = strlen(c->base) + strlen(path) + 1;
        char *url = malloc(n);
        if (!url) {
                snprintf(err, errlen, "out of memory");
                return FW_ARKIME_EINTERNAL;
        }
        snprintf(url, n, "%s%s", c->base, path);
        int rc = do_request(c, method, url, ctype, body, len, status, ms, err, errlen);
        free(url);
        return rc != FW_ARKIME_OK ? rc : finish(c, resp, resp_len, err, errlen);
}
