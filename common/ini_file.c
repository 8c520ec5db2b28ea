/* ini_file: inih reads through our line reader, which
 *   - reads one whole line with getline() and counts lines, so errors name the line (the Debian
 *     build of inih has INI_HANDLER_LINENO 0);
 *   - refuses a line that would not fit inih's buffer (ini_max_line - 1 bytes counting the
 *     newline) instead of letting inih split it silently;
 *   - sees the "[...]" headers itself (inih reports no empty section and truncates long names);
 *   - returns NULL (end of input) once an error is recorded, so reading stops at the first error.
 * inih keeps parsing after a syntax error and reports only the first such line when done, hence
 * the two passes (see ini_file.h).
 *
 * Multi-line values: inih calls the handler again with the previous key's name for a non-blank
 * line that starts with whitespace. inih r55 does not strip inline comments (" ;...") on those
 * lines; we do, so comments behave the same on every line. */
#include "ini_file.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct reader {
        const fw_ini_file_ops_t *ops;
        void *user;
        const char *path;
        FILE *fp;
        char *line; /* getline buffer */
        size_t linecap;
        int lineno;     /* number of the last line read */
        int stop_line;  /* first syntax error (first pass), 0 if none */
        int check_only; /* first pass: nothing is delivered */
        int failed;     /* an error is in err */
        int read_errno; /* getline failed with this */
        int indented;   /* the last line read starts with a space or tab */

        /* the key being read: delivered complete when the next key, header or the end arrives */
        char *section;
        char *name;
        char *value; /* joined so far */
        int key_line;

        char *err;
        size_t errlen;
} reader_t;

/* Overwrite n bytes before they are freed, so secrets do not linger on the heap. */
static void wipe(void *p, size_t n) {
        volatile unsigned char *v = p;
        while (n--)
                *v++ = 0;
}

static void wipe_free(char *s) {
        if (!s)
                return;
        wipe(s, strlen(s));
        free(s);
}

static char *dup_str(const char *s) {
        size_t n = strlen(s) + 1;
        char *p = malloc(n);
        if (p)
                memcpy(p, s, n);
        return p;
}

void fw_ini_file_verrorf(char *err, size_t errlen, const char *path, int line, const char *fmt,
                         va_list ap) {
        char msg[768];
        vsnprintf(msg, sizeof(msg), fmt, ap);
        snprintf(err, errlen, "%s:%d: %s", path, line, msg);
}

/* Record "<path>:<line>: <message>" unless an error is already recorded. */
__attribute__((format(printf, 3, 4))) static void fail(reader_t *r, int line, const char *fmt,
                                                       ...) {
        va_list ap;
        if (r->failed)
                return;
        va_start(ap, fmt);
        fw_ini_file_verrorf(r->err, r->errlen, r->path, line, fmt, ap);
        va_end(ap);
        r->failed = 1;
}

static void syntax_error(reader_t *r, int line) {
        fail(r, line, "syntax error (expected 'key = value' or '[%s]')", r->ops->header_word);
}

static void key_clear(reader_t *r) {
        wipe_free(r->section);
        wipe_free(r->name);
        wipe_free(r->value);
        r->section = r->name = r->value = NULL;
}

/* Deliver the key being read, if any, as complete. */
static void key_flush(reader_t *r) {
        if (r->name && !r->failed && r->ops->on_key &&
            r->ops->on_key(r->user, r->key_line, r->section, r->name, r->value) < 0)
                r->failed = 1;
        key_clear(r);
}

/* Cut an inline comment (';' after whitespace) and trailing whitespace off a continuation line
 * (inih does not on those). */
static void strip_inline_comment(char *s) {
        for (char *p = s; *p; p++) {
                if (*p == ';' && p > s && isspace((unsigned char)p[-1])) {
                        *p = '\0';
                        break;
                }
        }
        size_t n = strlen(s);
        while (n > 0 && isspace((unsigned char)s[n - 1]))
                s[--n] = '\0';
}

/* Append a continuation line to the key being read. 0 or -1 (out of memory). */
static int key_append(reader_t *r, const char *text) {
        char *piece = dup_str(text);
        if (!piece)
                return -1;
        strip_inline_comment(piece);
        size_t len = strlen(r->value) + strlen(piece) + 2;
        char *joined = malloc(len);
        if (joined)
                snprintf(joined, len, "%s%s%s", r->value, *r->value ? " " : "", piece);
        wipe_free(piece);
        if (!joined)
                return -1;
        wipe_free(r->value);
        r->value = joined;
        return 0;
}

/* Start a new key. 0 or -1 (out of memory). */
static int key_start(reader_t *r, const char *section, const char *name, const char *value) {
        r->section = dup_str(section);
        r->name = dup_str(name);
        r->value = dup_str(value);
        r->key_line = r->lineno;
        if (r->section && r->name && r->value)
                return 0;
        key_clear(r);
        return -1;
}

/* ini_reader: hand inih the next whole line (see the top of the file). */
static char *read_line(char *str, int num, void *stream) {
        reader_t *r = stream;
        if (r->failed || num < 2)
                return NULL;
        errno = 0;
        ssize_t n = getline(&r->line, &r->linecap, r->fp);
        if (n < 0) {
                if (ferror(r->fp))
                        r->read_errno = errno ? errno : EIO;
                return NULL;
        }
        r->lineno++;
        if (r->check_only) {
                if (n > num - 1)
                        return NULL; /* the real pass reports it */
                memcpy(str, r->line, (size_t)n + 1);
                return str;
        }
        if (r->stop_line && r->lineno == r->stop_line) {
                key_flush(r); /* complete: a syntax error is never a continuation */
                syntax_error(r, r->lineno);
                return NULL;
        }
        if (n > num - 1) {
                const char *hint = r->ops->long_line_hint;
                fail(r, r->lineno, "line longer than %d bytes%s%s%s", num - 1, hint ? " (" : "",
                     hint ? hint : "", hint ? ")" : "");
                return NULL;
        }

        /* What will inih make of the line? An indented line after a key continues it (inih's
         * multiline rule), even if it starts with '['; a header ends the key. */
        const char *p = r->line;
        if (r->lineno == 1 && n >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
                p += 3; /* UTF-8 byte order mark, skipped by inih too */
        r->indented = *p == ' ' || *p == '\t';
        const char *s = p;
        while (*s == ' ' || *s == '\t')
                s++;
        int blank = *s == '\0' || *s == '\r' || *s == '\n';
        int comment = *s == ';' || *s == '#';
        int continuation = r->indented && r->name && !blank && !comment;
        if (!blank && !comment && !continuation && *s == '[') {
                key_flush(r);
                if (!r->failed && r->ops->on_section &&
                    r->ops->on_section(r->user, r->lineno, s) < 0)
                        r->failed = 1;
                if (r->failed)
                        return NULL;
        }

        memcpy(str, r->line, (size_t)n + 1);
        return str;
}

/* ini_handler: start a key, or append a continuation line to it. */
static int on_ini(void *user, const char *section, const char *name, const char *value) {
        reader_t *r = user;
        if (r->check_only)
                return 1;
        if (r->failed)
                return 0;
        int rc;
        if (r->indented && r->name && strcmp(r->name, name) == 0) {
                rc = key_append(r, value);
        } else {
                key_flush(r);
                if (r->failed)
                        return 0;
                rc = key_start(r, section, name, value);
        }
        if (rc < 0) {
                fail(r, r->lineno, "out of memory");
                return 0;
        }
        if (r->ops->on_value &&
            r->ops->on_value(r->user, r->key_line, r->section, r->name, r->value) < 0) {
                r->failed = 1;
                return 0;
        }
        return 1;
}

/* One pass of inih over the open file. Returns inih's result. */
static int parse_pass(reader_t *r, int check_only) {
        r->check_only = check_only;
        r->lineno = 0;
        r->indented = 0;
        key_clear(r);
        return ini_parse_stream(read_line, r, on_ini, r);
}

int fw_ini_file_read(const char *path, const fw_ini_file_ops_t *ops, void *user, char *err,
                     size_t errlen) {
        reader_t r;
        int rc;

        memset(&r, 0, sizeof(r));
        r.ops = ops;
        r.user = user;
        r.path = path;
        r.err = err;
        r.errlen = errlen;
        r.fp = fopen(path, "r");
        if (!r.fp) {
                snprintf(err, errlen, "%s%s: cannot open: %s",
                         ops->open_prefix ? ops->open_prefix : "", path, strerror(errno));
                return -1;
        }

        /* First pass: where is the first syntax error, if any? It ends early at an over-long
         * line; the real pass reports that line unless an earlier line has an error. */
        rc = parse_pass(&r, 1);
        if (!r.read_errno) {
                r.stop_line = rc > 0 ? rc : 0;
                if (fseek(r.fp, 0, SEEK_SET) < 0) {
                        snprintf(err, errlen, "%s: cannot rewind: %s", path, strerror(errno));
                        r.failed = 1;
                } else {
                        clearerr(r.fp);
                        rc = parse_pass(&r, 0);
                }
        }
        if (!r.failed && r.read_errno) {
                snprintf(err, errlen, "%s: cannot read: %s", path, strerror(r.read_errno));
                r.failed = 1;
        }
        if (!r.failed && rc != 0)
                syntax_error(&r, rc); /* not expected after the first pass, but never succeed */
        if (!r.failed)
                key_flush(&r);

        fclose(r.fp);
        if (r.line) {
                wipe(r.line, r.linecap);
                free(r.line);
        }
        key_clear(&r);
        return r.failed ? -1 : 0;
}
