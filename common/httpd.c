#include "httpd.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "log.h"

#define CONNECTION_LIMIT   64
#define CONNECTION_TIMEOUT 10 /* seconds */

#define CT_METRICS "text/plain; version=0.0.4; charset=utf-8"
#define CT_TEXT    "text/plain; charset=utf-8"

struct fw_httpd {
        struct MHD_Daemon *daemon;
        uint16_t port;
        fw_metrics_t *metrics;
        fw_health_fn health;
        void *health_ud;
        /* While fw_httpd_start runs, MHD's messages are kept here for the error text instead of
         * being logged. */
        atomic_int starting;
        char start_msg[512];
};

/* MHD hands us its own format strings; they are not ours to check at compile time. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static void mhd_logger(void *cls, const char *fmt, va_list ap) {
        struct fw_httpd *h = cls;
        char msg[512];
        vsnprintf(msg, sizeof(msg), fmt, ap);
        size_t n = strlen(msg);
        while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
                msg[--n] = '\0';
        if (atomic_load(&h->starting)) {
                if (h->start_msg[0] == '\0')
                        snprintf(h->start_msg, sizeof(h->start_msg), "%s", msg);
                return;
        }
        fw_warn("httpd", "%s", msg);
}
#pragma GCC diagnostic pop

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned int status,
                               struct MHD_Response *resp, const char *content_type) {
        if (!resp)
                return MHD_NO;
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        enum MHD_Result ret = MHD_queue_response(conn, status, resp);
        MHD_destroy_response(resp);
        return ret;
}

static enum MHD_Result respond_static(struct MHD_Connection *conn, unsigned int status,
                                      const char *body) {
        struct MHD_Response *resp =
                MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
        return respond(conn, status, resp, CT_TEXT);
}

static enum MHD_Result serve_metrics(struct fw_httpd *h, struct MHD_Connection *conn) {
        size_t len = 0;
        char *text = fw_metrics_render(h->metrics, &len);
        if (!text)
                return respond_static(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
                                      "cannot render metrics\n");
        struct MHD_Response *resp =
                MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
        if (!resp) {
                free(text);
                return MHD_NO;
        }
        return respond(conn, MHD_HTTP_OK, resp, CT_METRICS);
}

static enum MHD_Result serve_health(struct fw_httpd *h, struct MHD_Connection *conn) {
        char reason[256] = "";
        if (!h->health || h->health(h->health_ud, reason, sizeof(reason)) == 0)
                return respond_static(conn, MHD_HTTP_OK, "ok\n");

        reason[sizeof(reason) - 1] = '\0';
        size_t n = strcspn(reason, "\r\n");
        if (n == 0) {
                strcpy(reason, "unhealthy");
                n = strlen(reason);
        }
        char body[sizeof(reason) + 1];
        memcpy(body, reason, n);
        body[n] = '\n';
        struct MHD_Response *resp =
                MHD_create_response_from_buffer(n + 1, body, MHD_RESPMEM_MUST_COPY);
        return respond(conn, MHD_HTTP_SERVICE_UNAVAILABLE, resp, CT_TEXT);
}

static enum MHD_Result handle_request(void *cls, struct MHD_Connection *conn, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **req_cls) {
        struct fw_httpd *h = cls;

        /* First call: headers only (mark the request as seen with any non-NULL pointer). Then
         * discard any body and answer once it has been read. */
        if (*req_cls == NULL) {
                *req_cls = h;
                return MHD_YES;
        }
        if (*upload_data_size != 0) {
                *upload_data_size = 0;
                return MHD_YES;
        }

        if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
                static const char body[] = "method not allowed\n";
                struct MHD_Response *resp = MHD_create_response_from_buffer(
                        sizeof(body) - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
                if (resp)
                        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
                return respond(conn, MHD_HTTP_METHOD_NOT_ALLOWED, resp, CT_TEXT);
        }
        if (strcmp(url, "/metrics") == 0)
                return serve_metrics(h, conn);
        if (strcmp(url, "/healthz") == 0)
                return serve_health(h, conn);
        return respond_static(conn, MHD_HTTP_NOT_FOUND, "not found\n");
}

/* Parse an IPv4 or IPv6 literal (IPv6 optionally in brackets) into ss. Returns the length of
 * the socket address, or 0 if addr is not a literal address. */
static socklen_t parse_addr(const char *addr, uint16_t port, struct sockaddr_storage *ss) {
        memset(ss, 0, sizeof(*ss));
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
                sin->sin_family = AF_INET;
                sin->sin_port = htons(port);
                return sizeof(*sin);
        }

        char buf[INET6_ADDRSTRLEN + 2];
        size_t len = strlen(addr);
        if (len >= 2 && addr[0] == '[' && addr[len - 1] == ']' && len - 2 < sizeof(buf)) {
                memcpy(buf, addr + 1, len - 2);
                buf[len - 2] = '\0';
                addr = buf;
        }
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
        if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
                sin6->sin6_family = AF_INET6;
                sin6->sin6_port = htons(port);
                return sizeof(*sin6);
        }
        return 0;
}

fw_httpd_t *fw_httpd_start(const char *addr, uint16_t port, fw_metrics_t *metrics,
                           fw_health_fn health, void *health_ud, char *err, size_t errlen) {
        char dummy[1];
        if (!err || errlen == 0) {
                err = dummy;
                errlen = sizeof(dummy);
        }
        err[0] = '\0';

        struct sockaddr_storage ss;
        if (!addr || parse_addr(addr, port, &ss) == 0) {
                snprintf(err, errlen, "httpd: listen address \"%s\" is not an IPv4 or IPv6 address",
                         addr ? addr : "(null)");
                return NULL;
        }

        struct fw_httpd *h = calloc(1, sizeof(*h));
        if (!h) {
                snprintf(err, errlen, "httpd: out of memory");
                return NULL;
        }
        h->metrics = metrics;
        h->health = health;
        h->health_ud = health_ud;
        atomic_init(&h->starting, 1);

        unsigned int flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
        if (ss.ss_family == AF_INET6)
                flags |= MHD_USE_IPv6;
        h->daemon = MHD_start_daemon(
                flags, port, NULL, NULL, handle_request, h,
                /* The logger must come first to see messages about the other options. */
                MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, h, MHD_OPTION_SOCK_ADDR,
                (const struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT,
                (unsigned int)CONNECTION_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
                (unsigned int)CONNECTION_TIMEOUT, MHD_OPTION_END);
        if (!h->daemon) {
                char where[INET6_ADDRSTRLEN + 16];
                if (ss.ss_family == AF_INET6 && addr[0] != '[')
                        snprintf(where, sizeof(where), "[%s]:%u", addr, (unsigned int)port);
                else
                        snprintf(where, sizeof(where), "%s:%u", addr, (unsigned int)port);
                snprintf(err, errlen, "httpd: cannot listen on %s: %s", where,
                         h->start_msg[0] ? h->start_msg : "MHD_start_daemon failed");
                free(h);
                return NULL;
        }
        atomic_store(&h->starting, 0);

        const union MHD_DaemonInfo *info =
                MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
        h->port = info ? info->port : port;
        return h;
}

uint16_t fw_httpd_port(const fw_httpd_t *h) {
        return h ? h->port : 0;
}

void fw_httpd_stop(fw_httpd_t *h) {
        if (!h)
                return;
        MHD_stop_daemon(h->daemon);
        free(h);
}

fw_httpd_t *fw_httpd_start_conf(const fw_conf_t *conf, fw_metrics_t *metrics, fw_health_fn health,
                                void *health_ud, const char *comp) {
        char err[512];
        const char *addr = fw_conf_str(conf, "metrics.address");
        fw_httpd_t *h = fw_httpd_start(addr, (uint16_t)fw_conf_int(conf, "metrics.port"), metrics,
                                       health, health_ud, err, sizeof(err));
        if (h == NULL)
                fw_error(comp, "%s", err);
        else
                fw_info(comp, "metrics on http://%s:%u/metrics", addr, fw_httpd_port(h));
        return h;
}
