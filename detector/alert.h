/* alert: an engine alert (fw_alert_t) as JSON aligned with the Elastic Common Schema, its
 * deterministic id, and the Arkime expression and viewer URL that show its evidence.
 * docs/alerts.md documents every field; docs/alert.schema.json is the JSON Schema. */
#ifndef FW_ALERT_H
#define FW_ALERT_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"

typedef struct fw_alert_json_opts {
        const char *viewer_url; /* Arkime viewer base, e.g. "https://arkime:8005"; NULL: no URL */
        const char *observer;   /* observer.name (e.g. host name of the detector); NULL: omitted */
        int64_t created_ms;     /* event.created (wall clock); < 0: omitted (replay, tests) */
} fw_alert_json_opts_t;

/* Set a->id: 32 lower-case hex digits of XXH3-128 over (rule name, the key parts that are set:
 * src, dst, dport, and epoch_start_ms), so the same alert from any detector has the same id. */
void fw_alert_set_id(fw_alert_t *a);

/* Write the Arkime search expression that selects the alert's evidence (e.g.
 * "ip.src == 10.1.2.3 && port.dst == 445", or "(<rule>) && ip.src == 10.1.2.3") into buf.
 * Returns the length, or -1 if it does not fit (buf is then ""). */
int fw_alert_expression(const fw_alert_t *a, char *buf, size_t buflen);

/* The alert as one line of JSON (no newline), malloc'd, NUL-terminated, length in *len.
 * NULL on out of memory. */
char *fw_alert_json(const fw_alert_t *a, const fw_alert_json_opts_t *o, size_t *len);

#endif
