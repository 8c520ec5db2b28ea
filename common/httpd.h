/* httpd: the daemons' operations endpoint (libmicrohttpd, own thread):
 *   GET /metrics  Prometheus text (Content-Type: text/plain; version=0.0.4)
 *   GET /healthz  200 "ok" when the health callback returns 0, else 503 with its reason
 * Anything else is 404; methods other than GET/HEAD are 405. */
#ifndef FW_HTTPD_H
#define FW_HTTPD_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "metrics.h"

typedef struct fw_httpd fw_httpd_t;

/* Health callback: return 0 if healthy, else non-zero and write a one-line reason. Called from
 * the server thread. */
typedef int (*fw_health_fn)(void *ud, char *reason, size_t reasonlen);

/* Listen on addr:port ("127.0.0.1", "0.0.0.0", "::"); port 0 picks a free port. health may be
 * NULL (always healthy). Returns NULL and writes err on failure. */
fw_httpd_t *fw_httpd_start(const char *addr, uint16_t port, fw_metrics_t *metrics,
                           fw_health_fn health, void *health_ud, char *err, size_t errlen);

/* fw_httpd_start on the daemon's metrics.address and metrics.port keys, logging where it listens
 * (comp: the daemon, in the log line) or, on failure, the error. */
fw_httpd_t *fw_httpd_start_conf(const fw_conf_t *conf, fw_metrics_t *metrics, fw_health_fn health,
                                void *health_ud, const char *comp);

/* The port actually bound. */
uint16_t fw_httpd_port(const fw_httpd_t *h);

/* Stop serving and free. */
void fw_httpd_stop(fw_httpd_t *h);

#endif
