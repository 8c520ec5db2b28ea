/* arkime_client: one keep-alive HTTPS connection to an Arkime viewer, asking /api/sessions for
 * one slice at a time (libcurl). fw_arkime_request sends any other request over the same
 * connection (the viewer's /api/buildquery and /api/sessions/addtags, or OpenSearch's search API
 * when the client points at OpenSearch).
 *
 * Requests are POSTs with a form body (Arkime merges body parameters over the URL's,
 * viewer/apiSessions.js), so long expressions are fine. Authentication is negotiated like
 * `curl --anyauth` (digest, Arkime's default, or basic); TLS verification is on unless
 * explicitly disabled; answers are gzip-compressed only when asked (identity = 0: every
 * encoding libcurl decodes), which costs CPU on both sides. The password is handed to libcurl
 * only and never appears in errors or logs. */
#ifndef FW_ARKIME_CLIENT_H
#define FW_ARKIME_CLIENT_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "cursor.h"

typedef enum {
        FW_ARKIME_AUTH_ANY,    /* whatever the viewer offers (digest or basic) */
        FW_ARKIME_AUTH_DIGEST, /* digest only */
        FW_ARKIME_AUTH_BASIC,  /* basic only: never over plain HTTP to a remote viewer */
        FW_ARKIME_AUTH_NONE,   /* anonymous viewer, or header auth done by a proxy */
} fw_arkime_auth_t;

typedef struct fw_arkime_opts {
        const char *url;  /* viewer base URL, e.g. https://arkime:8005 (a path prefix is kept) */
        const char *user; /* NULL for none */
        const char *password; /* NULL for none; a secret */
        fw_arkime_auth_t auth;
        const char *ca_file; /* NULL: the system's CA store */
        int tls_verify;      /* 1 (default): verify the certificate and host name */
        long connect_timeout_ms;
        long timeout_ms;        /* whole request */
        size_t max_body;        /* larger responses are an error */
        const char *expression; /* ANDed Arkime expression, NULL or "" for none */
        const char *cluster;    /* multiviewer cluster, NULL for none */
        const char *order;      /* order= (e.g. "@timestamp:asc"), NULL for the viewer's default */
        const char *api_key;    /* NULL, or sent as "Authorization: ApiKey <it>" (a secret) */
        int identity;           /* 1: ask for uncompressed answers (no Accept-Encoding) */
        const char *peer;       /* what the URL is, in errors: NULL for "the viewer" */
        const char *auth_hint;  /* added to 401/403 errors; NULL for the viewer's account hint */
} fw_arkime_opts_t;

/* Failure classes, for metrics and retry decisions. */
typedef enum {
        FW_ARKIME_OK = 0,
        FW_ARKIME_ENET = -1,      /* connect, TLS, reset, timeout */
        FW_ARKIME_EAUTH = -2,     /* 401 / 403 */
        FW_ARKIME_EHTTP = -3,     /* other non-200 status */
        FW_ARKIME_ETOOBIG = -4,   /* body over max_body */
        FW_ARKIME_EINTERNAL = -5, /* out of memory, bad options */
        FW_ARKIME_ESTOPPED = -6   /* abandoned: *stop was raised (see fw_arkime_client_set_stop) */
} fw_arkime_err_t;

typedef struct fw_arkime_client fw_arkime_client_t;

/* Fill o from the FW_CONF_ARKIME_DEFS keys and arkime.expression/cluster/order where the table
 * has them (the strings stay the configuration's); other members zero. */
void fw_arkime_opts_from_conf(const fw_conf_t *conf, fw_arkime_opts_t *o);

/* Start-up checks of those keys: arkime.url set (required names the mode or daemon that needs
 * it), arkime.ca_file readable. 0, or -1 with err naming the key and where it was set. */
int fw_arkime_conf_check(const fw_conf_t *conf, const char *required, char *err, size_t errlen);

/* Create a client (opts strings are copied). NULL with err on bad options. */
fw_arkime_client_t *fw_arkime_client_new(const fw_arkime_opts_t *opts, char *err, size_t errlen);
void fw_arkime_client_free(fw_arkime_client_t *c);

/* Watch *stop during requests: once it is raised, a request still running grace_ms after the
 * client first saw it (or one started after that) is abandoned with FW_ARKIME_ESTOPPED. The flag
 * is looked at every 50 ms, also while the viewer sends nothing (a hung request). */
void fw_arkime_client_set_stop(fw_arkime_client_t *c, volatile sig_atomic_t *stop, long grace_ms);

/* Monotonic milliseconds (CLOCK_MONOTONIC) at which the client first saw *stop, 0 if not yet. */
int64_t fw_arkime_client_stop_seen(const fw_arkime_client_t *c);

/* Fetch one slice: bounding=database, startTime/stopTime, length, fields, facets off.
 * On FW_ARKIME_OK, *body and *len give the response (valid until the next call; NUL-terminated).
 * Otherwise a negative fw_arkime_err_t with a one-line cause in err. *ms gets the latency. */
int fw_arkime_fetch(fw_arkime_client_t *c, const fw_slice_t *sl, const char **body, size_t *len,
                    double *ms, char *err, size_t errlen);

/* One request to <url><path> (path starts with '/', query string included): method "GET",
 * "POST" or "DELETE", with body (len bytes, content type ctype) unless body is NULL. On
 * FW_ARKIME_OK (a 2xx status) resp and resp_len hold the response as fw_arkime_fetch's. Other
 * statuses give FW_ARKIME_EAUTH or FW_ARKIME_EHTTP, with the status and the response's start
 * (up to 300 bytes, one line) in err; *status gets the HTTP status (0 without a response). */
int fw_arkime_request(fw_arkime_client_t *c, const char *method, const char *path,
                      const char *ctype, const char *body, size_t len, const char **resp,
                      size_t *resp_len, long *status, double *ms, char *err, size_t errlen);

/* Append "name=value" (value URL-encoded, '&' between pairs) to the malloc'd form *form of
 * *len bytes. 0, or -1 when out of memory (*form unchanged). */
int fw_arkime_form_add(char **form, size_t *len, const char *name, const char *value);

#endif
