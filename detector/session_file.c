#include "session_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arkime_page.h"
#include "errmsg.h"
#include "net.h"
#include "wire.h"

#define CHUNK     ((size_t)64 << 10)  /* read size and initial buffer */
#define MP_WINDOW (FW_RECORD_MAX + 1) /* bytes kept ahead of a msgpack record's start */

struct fw_session_reader {
        char *path;
        int fd, own_fd;
        fw_sf_format_t fmt;
        uint8_t *buf;
        size_t cap, pos, end; /* unread bytes are buf[pos..end) */
        uint64_t base;        /* input offset of buf[0] */
        int eof, done;
        int read_errno;
        /* JSON */
        uint64_t line;         /* number of the last line taken */
        fw_arkime_page_t page; /* sessions of the current line */
        size_t served;         /* of page.count */
        char bulk_id[FW_SESSION_ID_MAX + 1];
        int have_bulk_id;
        fw_sf_stats_t st;
};

/* ---- buffered input ---- */

/* Make at least want bytes available after pos (fewer at end of input); grows the buffer to
 * want if needed. 0, or -1 on out of memory or a read error (r->read_errno set, eof set). */
static int fill(fw_session_reader_t *r, size_t want) {
        while (r->end - r->pos < want && !r->eof) {
                if (r->pos > 0 && (r->cap - r->end < CHUNK || r->cap - r->pos < want)) {
                        memmove(r->buf, r->buf + r->pos, r->end - r->pos);
                        r->base += r->pos;
                        r->end -= r->pos;
                        r->pos = 0;
                }
                if (r->cap < want || r->cap - r->end < CHUNK / 4) {
                        size_t ncap = r->cap ? r->cap : CHUNK;
                        while (ncap < want || ncap - r->end < CHUNK / 4)
                                ncap *= 2;
                        uint8_t *nb = realloc(r->buf, ncap);
                        if (!nb) {
                                r->read_errno = ENOMEM;
                                r->eof = 1;
                                return -1;
                        }
                        r->buf = nb;
                        r->cap = ncap;
                }
                size_t room = r->cap - r->end;
                ssize_t n = read(r->fd, r->buf + r->end, room > CHUNK * 16 ? CHUNK * 16 : room);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        r->read_errno = errno;
                        r->eof = 1;
                        return -1;
                }
                if (n == 0)
                        r->eof = 1;
                r->end += (size_t)n;
        }
        return 0;
}

static uint64_t offset_of(const fw_session_reader_t *r, size_t i) {
        return r->base + i;
}

/* ---- msgpack ---- */

/* Does a fanwatch record start at p? A map header, then the key "v" (the wire format puts it
 * first) and an unsigned integer. 1 yes, 0 no, -1 too few bytes to tell. */
static int record_start(const uint8_t *p, size_t n) {
        size_t i;
        if (n < 1)
                return -1;
        if (p[0] >= 0x81 && p[0] <= 0x8f)
                i = 1;
        else if (p[0] == 0xde)
                i = 3;
        else if (p[0] == 0xdf)
                i = 5;
        else
                return 0;
        if (n < i + 1)
                return -1;
        if (p[i] == 0xa1) {
                if (n < i + 3)
                        return -1;
                if (p[i + 1] != 'v')
                        return 0;
                i += 2;
        } else if (p[i] == 0xd9) {
                if (n < i + 4)
                        return -1;
                if (p[i + 1] != 1 || p[i + 2] != 'v')
                        return 0;
                i += 3;
        } else {
                return 0;
        }
        uint8_t b = p[i];
        return b <= 0x7f || (b >= 0xcc && b <= 0xd3);
}

static int is_map_byte(uint8_t b) {
        return (b >= 0x80 && b <= 0x8f) || b == 0xde || b == 0xdf;
}

/* Lost the record boundary at buffer index r->pos (input offset at): look for the next record
 * start after it, then return -1 with problem and where reading resumes (or that it stops). */
static int mp_resync(fw_session_reader_t *r, uint64_t at, const char *problem, char *err,
                     size_t errlen) {
        r->st.bad++;
        r->pos++; /* never the same start again */
        for (;;) {
                if (fill(r, MP_WINDOW) != 0 && r->end == r->pos)
                        break;
                size_t avail = r->end - r->pos, i;
                int found = 0, need_more = 0;
                for (i = 0; i < avail; i++) {
                        int rs = record_start(r->buf + r->pos + i, avail - i);
                        if (rs == 1) {
                                found = 1;
                                break;
                        }
                        if (rs < 0 && !r->eof) {
                                need_more = 1;
                                break;
                        }
                }
                r->pos += i;
                if (found) {
                        uint64_t next = offset_of(r, r->pos);
                        fw_errf(err, errlen, 0,
                                "%s: byte %llu: %s; skipped %llu bytes to the next record at byte "
                                "%llu",
                                r->path, (unsigned long long)at, problem,
                                (unsigned long long)(next - at), (unsigned long long)next);
                        return -1;
                }
                if (!need_more && r->eof)
                        break;
        }
        r->pos = r->end;
        r->done = 1;
        if (r->read_errno)
                fw_errf(err, errlen, 0,
                        "%s: byte %llu: %s; then read error: %s (%llu records read)", r->path,
                        (unsigned long long)at, problem, strerror(r->read_errno),
                        (unsigned long long)r->st.sessions);
        else
                fw_errf(err, errlen, 0,
                        "%s: byte %llu: %s; no further record in the %llu bytes after it, stopping "
                        "(%llu records read)",
                        r->path, (unsigned long long)at, problem,
                        (unsigned long long)(offset_of(r, r->end) - at),
                        (unsigned long long)r->st.sessions);
        return -1;
}

static int mp_next(fw_session_reader_t *r, fw_session_t *s, char *err, size_t errlen) {
        for (;;) {
                if (fill(r, MP_WINDOW) != 0 && r->read_errno && r->end == r->pos) {
                        r->done = 1;
                        fw_errf(err, errlen, 0, "%s: byte %llu: read error: %s", r->path,
                                (unsigned long long)offset_of(r, r->pos), strerror(r->read_errno));
                        return -1;
                }
                /* newlines between records (kcat's default format '%s\n') are separators */
                while (r->pos < r->end && r->buf[r->pos] == '\n')
                        r->pos++;
                if (r->end - r->pos < MP_WINDOW && !r->eof)
                        continue;
                break;
        }
        size_t avail = r->end - r->pos;
        uint64_t at = offset_of(r, r->pos);
        if (avail == 0) {
                r->done = 1;
                if (r->read_errno) {
                        fw_errf(err, errlen, 0, "%s: byte %llu: read error: %s", r->path,
                                (unsigned long long)at, strerror(r->read_errno));
                        return -1;
                }
                return 0;
        }
        const uint8_t *p = r->buf + r->pos;
        int rs = record_start(p, avail);
        if (rs < 0) { /* end of input after a few bytes of a record header */
                r->st.bad++;
                r->done = 1;
                r->pos = r->end;
                fw_errf(err, errlen, 0,
                        "%s: byte %llu: truncated final record: input ends %zu bytes into it (%llu "
                        "records read)",
                        r->path, (unsigned long long)at, avail, (unsigned long long)r->st.sessions);
                return -1;
        }
        if (rs == 0) {
                char problem[96];
                if (is_map_byte(p[0]))
                        snprintf(problem, sizeof(problem),
                                 "not a fanwatch record (a map whose first key is not \"v\")");
                else
                        snprintf(problem, sizeof(problem),
                                 "not a fanwatch record (byte 0x%02x is not a msgpack map)", p[0]);
                return mp_resync(r, at, problem, err, errlen);
        }
        size_t len;
        int sk = fw_msgpack_skip(p, avail < FW_RECORD_MAX ? avail : FW_RECORD_MAX, &len);
        if (sk < 0)
                return mp_resync(r, at, "invalid msgpack (byte 0xc1) in the record", err, errlen);
        if (sk > 0) {
                if (avail > FW_RECORD_MAX) {
                        char problem[96];
                        snprintf(problem, sizeof(problem),
                                 "record larger than %d bytes (or a corrupt length)",
                                 FW_RECORD_MAX);
                        return mp_resync(r, at, problem, err, errlen);
                }
                /* the input ends inside it: truncated, unless a record starts later (then a
                 * corrupt size claimed more than there is) */
                for (size_t i = 1; i < avail && !r->read_errno; i++)
                        if (record_start(p + i, avail - i) == 1)
                                return mp_resync(r, at,
                                                 "corrupt record (its sizes run past the end of "
                                                 "the input)",
                                                 err, errlen);
                r->st.bad++;
                r->done = 1;
                r->pos = r->end;
                if (r->read_errno)
                        fw_errf(err, errlen, 0, "%s: byte %llu: read error inside a record: %s",
                                r->path, (unsigned long long)at, strerror(r->read_errno));
                else
                        fw_errf(err, errlen, 0,
                                "%s: byte %llu: truncated final record: input ends %zu bytes into "
                                "it (%llu records read)",
                                r->path, (unsigned long long)at, avail,
                                (unsigned long long)r->st.sessions);
                return -1;
        }
        char why[256];
        if (fw_session_decode(p, len, s, why, sizeof(why)) != 0) {
                r->st.bad++;
                /* A corrupt length can make one object swallow the records after it: resume at
                 * the first record start inside it, if any (a valid record holds none). */
                size_t i;
                for (i = 1; i < len && record_start(p + i, avail - i) != 1; i++)
                        ;
                r->pos += i;
                if (i < len)
                        fw_errf(err, errlen, 0,
                                "%s: byte %llu: bad record: %s; resuming at byte %llu, a record "
                                "start inside it",
                                r->path, (unsigned long long)at, why, (unsigned long long)(at + i));
                else
                        fw_errf(err, errlen, 0, "%s: byte %llu: bad record (%zu bytes): %s",
                                r->path, (unsigned long long)at, len, why);
                return -1;
        }
        r->pos += len;
        r->st.sessions++;
        return 1;
}

/* ---- JSON lines ---- */

static const char *skip_ws(const char *p, const char *e) {
        while (p < e && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
                p++;
        return p;
}

/* p points after a key's closing quote: is it followed by ':' and then c? */
static int then_colon(const char *p, const char *e, char c) {
        p = skip_ws(p, e);
        if (p >= e || *p != ':')
                return 0;
        p = skip_ws(p + 1, e);
        return p < e && *p == c;
}

/* A whole /api/sessions response: has a "data" member holding an array (a cheap textual test;
 * the page parser decides). */
static int looks_like_page(const char *p, size_t len) {
        const char *e = p + len;
        while (p < e) {
                const char *k = memchr(p, '"', (size_t)(e - p));
                if (!k)
                        return 0;
                if ((size_t)(e - k) < 6 || memcmp(k, "\"data\"", 6) != 0) {
                        p = k + 1;
                        continue;
                }
                if (then_colon(k + 6, e, '['))
                        return 1;
                p = k + 6;
        }
        return 0;
}

/* Take the next line into [*line, *line + *len) (without '\n'). 1 line, 0 end of input,
 * -1 with err (line too long: skipped; read error: input ends). */
static int next_line(fw_session_reader_t *r, const char **line, size_t *len, char *err,
                     size_t errlen) {
        size_t scanned = 0;
        for (;;) {
                uint8_t *nl = r->end > r->pos + scanned ? memchr(r->buf + r->pos + scanned, '\n',
                                                                 r->end - r->pos - scanned)
                                                        : NULL;
                if (nl) {
                        *line = (const char *)r->buf + r->pos;
                        *len = (size_t)(nl - (r->buf + r->pos));
                        r->pos += *len + 1;
                        r->line++;
                        r->st.lines++;
                        if (*len <= FW_SF_LINE_MAX)
                                return 1;
                        r->st.bad++;
                        fw_errf(err, errlen, 0, "%s:%llu: line longer than %zu bytes, skipped",
                                r->path, (unsigned long long)r->line, (size_t)FW_SF_LINE_MAX);
                        return -1;
                }
                scanned = r->end - r->pos;
                if (scanned > FW_SF_LINE_MAX) {
                        /* too long: drop it up to its newline */
                        r->line++;
                        r->st.lines++;
                        r->st.bad++;
                        uint64_t lineno = r->line;
                        for (;;) {
                                r->pos = r->end;
                                if (fill(r, 1) != 0 || r->end == r->pos)
                                        break;
                                nl = memchr(r->buf + r->pos, '\n', r->end - r->pos);
                                if (nl) {
                                        r->pos = (size_t)(nl - r->buf) + 1;
                                        break;
                                }
                        }
                        fw_errf(err, errlen, 0, "%s:%llu: line longer than %zu bytes, skipped",
                                r->path, (unsigned long long)lineno, (size_t)FW_SF_LINE_MAX);
                        return -1;
                }
                if (r->eof) {
                        if (r->read_errno) {
                                r->done = 1;
                                fw_errf(err, errlen, 0, "%s:%llu: read error: %s", r->path,
                                        (unsigned long long)r->line + 1, strerror(r->read_errno));
                                return -1;
                        }
                        if (scanned == 0)
                                return 0;
                        *line = (const char *)r->buf + r->pos;
                        *len = scanned;
                        r->pos = r->end;
                        r->line++;
                        r->st.lines++;
                        return 1;
                }
                size_t want = scanned + CHUNK;
                if (want > FW_SF_LINE_MAX + 1)
                        want = FW_SF_LINE_MAX + 1;
                if (want <= scanned)
                        want = scanned + 1;
                fill(r, want);
                /* fill may have moved the data: the scan restarts from the same offset */
        }
}

static void clean_reject(char *out, size_t n, const char *s) {
        snprintf(out, n, "%s", s[0] ? s : "unusable session");
}

static int json_next(fw_session_reader_t *r, fw_session_t *s, char *err, size_t errlen) {
        for (;;) {
                if (r->served < r->page.count) {
                        *s = r->page.sessions[r->served++];
                        r->st.sessions++;
                        return 1;
                }
                if (r->done)
                        return 0;
                const char *line;
                size_t len;
                int rc = next_line(r, &line, &len, err, errlen);
                if (rc <= 0) {
                        if (rc == 0)
                                r->done = 1;
                        return rc;
                }
                const char *b = skip_ws(line, line + len), *e = line + len;
                while (e > b && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
                        e--;
                if (b == e)
                        continue; /* blank line */
                len = (size_t)(e - b);
                fw_arkime_page_reset(&r->page);
                r->served = 0;
                char why[512];
                why[0] = '\0';
                int bulk = fw_arkime_bulk_header(b, len, r->bulk_id, sizeof(r->bulk_id));
                if (bulk == 1) {
                        r->have_bulk_id = r->bulk_id[0] != '\0';
                        continue;
                }
                int have_id = r->have_bulk_id;
                r->have_bulk_id = 0;
                if (!have_id && looks_like_page(b, len)) {
                        if (fw_arkime_page_parse(&r->page, b, len, why, sizeof(why)) == 0) {
                                if (r->page.rejected == 0)
                                        continue;
                                r->st.bad += r->page.rejected;
                                char first[sizeof(r->page.first_reject)];
                                clean_reject(first, sizeof(first), r->page.first_reject);
                                fw_errf(err, errlen, 0,
                                        "%s:%llu: %zu of the page's %zu sessions rejected; first: "
                                        "%s",
                                        r->path, (unsigned long long)r->line, r->page.rejected,
                                        r->page.rejected + r->page.count, first);
                                return -1;
                        }
                        /* not a page after all: try it as one session */
                }
                char why2[512];
                if (fw_arkime_doc_append(&r->page, b, len, have_id ? r->bulk_id : NULL,
                                         have_id ? strlen(r->bulk_id) : 0, why2,
                                         sizeof(why2)) != 0) {
                        r->st.bad++;
                        fw_errf(err, errlen, 0, "%s:%llu: %s", r->path, (unsigned long long)r->line,
                                why[0] ? why : why2);
                        return -1;
                }
                if (r->page.count == 0) {
                        r->st.bad++;
                        char first[sizeof(r->page.first_reject)];
                        clean_reject(first, sizeof(first), r->page.first_reject);
                        fw_errf(err, errlen, 0, "%s:%llu: %s", r->path, (unsigned long long)r->line,
                                why[0] ? why : first);
                        return -1;
                }
        }
}

/* ---- reader ---- */

fw_session_reader_t *fw_session_reader_open(const char *path, fw_sf_format_t fmt, char *err,
                                            size_t errlen) {
        fw_session_reader_t *r = calloc(1, sizeof(*r));
        if (!r || !(r->path = strdup(strcmp(path, "-") == 0 ? "<stdin>" : path))) {
                free(r);
                fw_errf(err, errlen, 0, "%s: out of memory", path);
                return NULL;
        }
        fw_arkime_page_init(&r->page);
        if (strcmp(path, "-") == 0) {
                r->fd = STDIN_FILENO;
        } else {
                r->fd = open(path, O_RDONLY | O_CLOEXEC);
                if (r->fd < 0) {
                        fw_errf(err, errlen, 0, "%s: %s", path, strerror(errno));
                        fw_session_reader_close(r);
                        return NULL;
                }
                r->own_fd = 1;
        }
        if (fmt == FW_SF_AUTO) {
                size_t i = 0;
                for (;;) {
                        while (r->pos + i < r->end &&
                               (r->buf[r->pos + i] == ' ' || r->buf[r->pos + i] == '\t' ||
                                r->buf[r->pos + i] == '\r' || r->buf[r->pos + i] == '\n'))
                                i++;
                        if (r->pos + i < r->end || r->eof || i > FW_SF_LINE_MAX)
                                break;
                        if (fill(r, i + CHUNK) != 0 && r->pos + i >= r->end)
                                break;
                }
                if (r->read_errno) {
                        fw_errf(err, errlen, 0, "%s: %s", path, strerror(r->read_errno));
                        fw_session_reader_close(r);
                        return NULL;
                }
                if (r->pos + i >= r->end) {
                        fmt = FW_SF_JSON; /* empty or blank: no sessions either way */
                } else {
                        uint8_t b = r->buf[r->pos + i];
                        if (b == '{')
                                fmt = FW_SF_JSON;
                        else if (is_map_byte(b))
                                fmt = FW_SF_MSGPACK;
                        else {
                                fw_errf(err, errlen, 0,
                                        "%s: cannot tell the format: byte %zu is 0x%02x, neither "
                                        "'{' "
                                        "(JSON lines) nor a msgpack map; use --format",
                                        path, i, b);
                                fw_session_reader_close(r);
                                return NULL;
                        }
                }
        }
        r->fmt = fmt;
        return r;
}

int fw_session_reader_next(fw_session_reader_t *r, fw_session_t *s, char *err, size_t errlen) {
        if (err && errlen)
                err[0] = '\0';
        int rc;
        if (r->fmt == FW_SF_MSGPACK)
                rc = r->done ? 0 : mp_next(r, s, err, errlen);
        else
                rc = json_next(r, s, err, errlen);
        if (rc < 0)
                r->st.errors++;
        r->st.bytes = offset_of(r, r->pos);
        return rc;
}

fw_sf_format_t fw_session_reader_format(const fw_session_reader_t *r) {
        return r->fmt;
}

void fw_session_reader_stats(const fw_session_reader_t *r, fw_sf_stats_t *out) {
        *out = r->st;
}

void fw_session_reader_close(fw_session_reader_t *r) {
        if (!r)
                return;
        if (r->own_fd && r->fd >= 0)
                close(r->fd);
        fw_arkime_page_free(&r->page);
        free(r->buf);
        free(r->path);
        free(r);
}
