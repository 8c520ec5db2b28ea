/* session_file: read Arkime sessions from a file, for fanwatch-replay and tests.
 *
 * Formats:
 *   JSON lines  one session per non-empty line: a data[] item of the viewer's /api/sessions
 *               (nested or flatten=1 dotted keys), a sessions3 document as capture writes it
 *               (an OpenSearch bulk header line {"index":{"_id":..}} before it gives its id), or
 *               a whole /api/sessions response {"data":[...]}: all its sessions, in order.
 *   msgpack     concatenated fanwatch records (docs/wire-format.md), e.g. what
 *               `kcat -C -t arkime-sessions -f '%s'` writes. Each record's extent is found by
 *               skipping one msgpack object (sizes checked against the bytes left).
 *
 * The file is streamed (never loaded whole); a JSON line may be up to FW_SF_LINE_MAX bytes.
 *
 * Errors are per record and the reader goes on with the next one. A JSON line is independent of
 * the others (a whole-page line whose items are partly unusable gives one error, then its good
 * sessions). A msgpack stream has no sync marker, but the wire format puts "v" first, so a
 * record starts with a map header, the key "v" and an unsigned integer; the reader relies on
 * that to resynchronise:
 *   - a well-formed record that fw_session_decode refuses is skipped alone; if a corrupt size
 *     made it swallow a following record start, reading resumes at that start;
 *   - bytes that do not start a record (not a map, "v" not first), a record larger than
 *     FW_RECORD_MAX, or sizes that run past the end of the input while another record start
 *     follows: the error says where, and reading resumes at the next record start, or stops
 *     (the next call returns 0) with "no further record ... (N records read)";
 *   - the input ending inside a record with no record start after it: "truncated final record".
 * Newlines between records (kcat's default format '%s\n') are skipped silently. A corrupted
 * byte costs at most the records it touches; a flipped value byte can also decode as a
 * different valid session (msgpack has no checksum). */
#ifndef FW_SESSION_FILE_H
#define FW_SESSION_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "session.h"

#define FW_SF_LINE_MAX ((size_t)64 << 20) /* longest JSON line accepted: 64 MiB */

typedef enum {
        FW_SF_AUTO,    /* first non-whitespace byte '{': JSON; a msgpack map byte: msgpack */
        FW_SF_JSON,    /* JSON lines */
        FW_SF_MSGPACK, /* msgpack record stream */
} fw_sf_format_t;

typedef struct fw_session_reader fw_session_reader_t;

/* Counters of a reader. */
typedef struct fw_sf_stats {
        uint64_t sessions; /* returned */
        uint64_t bad;      /* records (JSON items, msgpack records) that could not be used */
        uint64_t errors;   /* calls of fw_session_reader_next that returned -1 */
        uint64_t lines;    /* JSON lines read (including blank ones) */
        uint64_t bytes;    /* bytes consumed from the input */
} fw_sf_stats_t;

/* Open path ("-" = standard input) in fmt. FW_SF_AUTO looks at the first non-whitespace byte
 * (an empty file is JSON). NULL with "<path>: <problem>" in err when it cannot be opened or the
 * format is not recognised. */
fw_session_reader_t *fw_session_reader_open(const char *path, fw_sf_format_t fmt, char *err,
                                            size_t errlen);

/* Next session into *s: 1 on a session, 0 at the end of input, -1 on a bad record with
 * "<path>:<line>: <problem>" (JSON) or "<path>: byte <offset>: <problem>" (msgpack) in err; the
 * next call continues after it (or returns 0 when the stream cannot be resynchronised). A read
 * error of the file is also -1 and ends the input. */
int fw_session_reader_next(fw_session_reader_t *r, fw_session_t *s, char *err, size_t errlen);

/* The format in use (FW_SF_JSON or FW_SF_MSGPACK once open). */
fw_sf_format_t fw_session_reader_format(const fw_session_reader_t *r);

/* Counters so far. */
void fw_session_reader_stats(const fw_session_reader_t *r, fw_sf_stats_t *out);

/* Close the file (not stdin) and free the reader; NULL is fine. */
void fw_session_reader_close(fw_session_reader_t *r);

#endif
