/* fuzz_session_file: the replay input reader (detector/session_file.h) over a memfd, and
 * fw_msgpack_skip on the raw bytes. The first input byte picks the format (0: auto, 1: JSON
 * lines, 2: msgpack, by its value mod 3); the rest is the file. Invariants: the reader ends
 * (at most one call per input byte plus a few), every session it returns encodes, its counters
 * agree with what it returned, and fw_msgpack_skip never claims more bytes than there are. */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_util.h"
#include "session.h"
#include "session_file.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static fuzz_memfile_t file;
static int ready;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const fw_sf_format_t formats[3] = {FW_SF_AUTO, FW_SF_JSON, FW_SF_MSGPACK};
        char err[1024], buf[FW_RECORD_MAX];
        if (size < 1)
                return 0;
        if (!ready) {
                fuzz_memfile_open(&file, "fuzz-sessions");
                ready = 1;
        }
        fw_sf_format_t fmt = formats[data[0] % 3];
        data++;
        size--;

        size_t objlen = 0;
        int rc = fw_msgpack_skip(data, size, &objlen);
        FUZZ_CHECK(rc >= -1 && rc <= 1);
        if (rc == 0)
                FUZZ_CHECK(objlen >= 1 && objlen <= size);

        fuzz_memfile_set(&file, data, size);
        fw_session_reader_t *r = fw_session_reader_open(file.path, fmt, err, sizeof(err));
        if (!r)
                return 0;
        FUZZ_CHECK(fw_session_reader_format(r) == FW_SF_JSON ||
                   fw_session_reader_format(r) == FW_SF_MSGPACK);
        uint64_t sessions = 0, errors = 0;
        size_t calls = 0;
        for (;;) {
                fw_session_t s;
                FUZZ_CHECK(++calls <= size + 16);
                rc = fw_session_reader_next(r, &s, err, sizeof(err));
                FUZZ_CHECK(rc >= -1 && rc <= 1);
                if (rc == 0)
                        break;
                if (rc < 0) {
                        errors++;
                        FUZZ_CHECK(err[0] != '\0');
                        continue;
                }
                sessions++;
                size_t len;
                int erc = fw_session_encode(&s, buf, sizeof(buf), &len, err, sizeof(err));
                if (erc != 0)
                        fprintf(stderr, "session %s from the reader does not encode: %s\n", s.id,
                                err);
                FUZZ_CHECK(erc == 0);
        }
        fw_sf_stats_t st;
        fw_session_reader_stats(r, &st);
        FUZZ_CHECK(st.sessions == sessions);
        FUZZ_CHECK(st.errors == errors);
        FUZZ_CHECK(st.bytes <= size);
        fw_session_reader_close(r);
        return 0;
}
