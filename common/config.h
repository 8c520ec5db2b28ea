/* config: one INI file format for both daemons, checked against a declarative key table,
 * every key overridable by environment variable, kafka.<property> passed through untouched.
 *
 * File (INI, parsed by inih):          Environment (wins over the file):
 *   [arkime]                             FANWATCH_ARKIME_URL=https://arkime:8005
 *   url = https://arkime:8005            FANWATCH_KAFKA_BOOTSTRAP_SERVERS=k1:9092
 *   [kafka]
 *   bootstrap.servers = k1:9092
 * "[section]" + "name" is the key "section.name"; keys before any section are full names.
 * Env names: FANWATCH_ + key upper-cased with '.' -> '_', '_' -> '__', '-' -> '___'
 * (the apache/kafka image's convention). FANWATCH_CONFIG is not a key (it names the file).
 * Any key of the form kafka.<prop> is accepted and handed to librdkafka unchanged; librdkafka
 * itself validates it when the client is created. A kafka property whose name contains
 * "password" or "secret" may also be given as kafka.<prop>_file = path (env
 * FANWATCH_KAFKA_<PROP>__FILE), read like a FW_CF_SECRET key's file.
 * Every error names its origin: "<file>:<line>: key '<key>': <problem>" or
 * "environment FANWATCH_X: key '<key>': <problem>". */
#ifndef FW_CONFIG_H
#define FW_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum {
        FW_CT_STRING,   /* any text */
        FW_CT_INT,      /* integer within [min, max] */
        FW_CT_BOOL,     /* true/false, yes/no, on/off, 1/0 */
        FW_CT_DURATION, /* "250ms", "30s", "5m", "2h", "1d"; a bare number is seconds; stored as ms
                         */
        FW_CT_ENUM,     /* one of the '|'-separated words in choices */
        FW_CT_URL,      /* an http:// or https:// URL with a host, no spaces; "" = unset */
        FW_CT_ADDRESS,  /* an IPv4 or IPv6 address literal (IPv6 optionally in brackets) */
        FW_CT_FLOAT,    /* a finite decimal number within the interval written in choices:
                         * "[0,1]", "(0,1]", "(1,inf)" ('(' and ')' exclude the bound) */
} fw_conf_type_t;

/* Flags for fw_conf_def_t.flags. */
#define FW_CF_REQUIRED 0x1 /* must be set by file or environment */
#define FW_CF_SECRET   0x2 /* never printed; also settable as <key>_file = path (mode 0600/0400) */
#define FW_CF_NONEMPTY 0x4 /* a STRING that must not be empty (a topic, a file name) */

/* One entry of a daemon's key table. */
typedef struct fw_conf_def {
        const char *key; /* "section.name" */
        fw_conf_type_t type;
        const char *def;     /* default as text, NULL for none */
        int64_t min, max;    /* bounds for INT and DURATION (ms); ignored if min == max == 0 */
        const char *choices; /* ENUM: "first|last|database"; FLOAT: its interval, "(0,1]" */
        unsigned flags;
        const char *doc; /* one line for --help and docs/configuration.md */
} fw_conf_def_t;

typedef struct fw_conf fw_conf_t;

/* Create a configuration over a key table (the table must outlive it), holding the defaults. */
fw_conf_t *fw_conf_new(const fw_conf_def_t *defs, size_t ndefs);
void fw_conf_free(fw_conf_t *conf);

/* Load an INI file. Unknown keys, bad values, syntax errors, lines over the parser's limit, a
 * key given twice and a secret given both as <key> and <key>_file are errors naming file,
 * line(s) and key; loading stops at the first error. 0 or -1. */
int fw_conf_load_file(fw_conf_t *conf, const char *path, char *err, size_t errlen);

/* Apply FANWATCH_* variables from envp (NULL-terminated "NAME=value" array, e.g. environ).
 * An unknown FANWATCH_ variable, and a secret set both as FANWATCH_<KEY> and
 * FANWATCH_<KEY>__FILE, are errors. 0 or -1. */
int fw_conf_load_env(fw_conf_t *conf, char *const *envp, char *err, size_t errlen);

/* Set one key from text; origin is used in error messages. 0 or -1. */
int fw_conf_set(fw_conf_t *conf, const char *key, const char *value, const char *origin, char *err,
                size_t errlen);

/* Check that every required key is set. 0 or -1 naming the first missing key. */
int fw_conf_validate(const fw_conf_t *conf, char *err, size_t errlen);

/* Typed getters for keys in the table (a key not in the table is a programming error: abort).
 * fw_conf_str also answers kafka.<prop> keys (NULL when not set). */
const char *fw_conf_str(const fw_conf_t *conf, const char *key); /* NULL if unset */
int64_t fw_conf_int(const fw_conf_t *conf, const char *key);
int fw_conf_bool(const fw_conf_t *conf, const char *key);
int64_t fw_conf_duration_ms(const fw_conf_t *conf, const char *key);
double fw_conf_float(const fw_conf_t *conf, const char *key);

/* 1 if key is in the daemon's table (shared helpers reading optional keys), else 0. */
int fw_conf_has_key(const fw_conf_t *conf, const char *key);

/* Where a key's current value came from: "default", "<file>:<line>" or "environment". */
const char *fw_conf_origin(const fw_conf_t *conf, const char *key);

/* Call fn for every kafka.<prop> key in the order set (prop without the "kafka." prefix).
 * Stops and returns fn's value at the first non-zero return. */
int fw_conf_kafka_foreach(const fw_conf_t *conf,
                          int (*fn)(const char *prop, const char *value, void *ud), void *ud);

/* Write every key as "key = value  ; origin", an INI file that fw_conf_load_file() reads back
 * to the same values. Secrets (FW_CF_SECRET keys and kafka properties whose name contains
 * "password" or "secret") are written as the comment "# key = <redacted>  ; origin", so they
 * must be given again (environment or _file) when the output is loaded. A value longer than
 * one line of the parser is split over indented continuation lines (at single spaces), with its
 * origin on a comment line before it; a value that no INI line can hold (a newline, leading or
 * trailing blanks, " ;", a run of more than a line without a space) becomes a comment saying so.
 * Unset keys are written as "# key is not set". */
void fw_conf_dump(const fw_conf_t *conf, FILE *out);

/* Write the key table as a Markdown table (for docs/configuration.md). */
void fw_conf_write_markdown(const fw_conf_def_t *defs, size_t ndefs, FILE *out);

#endif
