/* make_seeds: write msgpack seed records for fuzz_wire and fuzz_session_file.
 *   fuzz_make_seeds <wire corpus dir> <session_file corpus dir>
 * Records are fw_session_encode of sessions from tests/support/session_gen.c (deterministic:
 * the same files every run), chosen to cover IPv4/IPv6, absent counters and split sessions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"
#include "session_gen.h"

static void write_file(const char *dir, const char *name, const void *data, size_t len) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
                perror(path);
                exit(1);
        }
}

int main(int argc, char **argv) {
        if (argc != 3) {
                fprintf(stderr, "usage: %s <wire corpus dir> <session_file corpus dir>\n",
                        argv[0]);
                return 2;
        }
        char buf[FW_RECORD_MAX], err[256], name[64];
        char stream[1 + 8 * FW_RECORD_MAX + 8];
        size_t slen = 1, len;
        stream[0] = 2; /* fuzz_session_file: format byte 2 = msgpack */
        for (unsigned i = 0; i < 12; i++) {
                fw_session_t s;
                fw_gen_session(20240518, i, &s);
                if (fw_session_encode(&s, buf, sizeof(buf), &len, err, sizeof(err)) != 0) {
                        fprintf(stderr, "encode: %s\n", err);
                        return 1;
                }
                snprintf(name, sizeof(name), "gen-%02u.msgpack", i);
                write_file(argv[1], name, buf, len);
                if (i < 8) {
                        memcpy(stream + slen, buf, len);
                        slen += len;
                        if (i == 3)
                                stream[slen++] = '\n'; /* kcat's '%s\n' */
                }
        }
        write_file(argv[2], "gen-stream.msgpack", stream, slen);
        return 0;
}
