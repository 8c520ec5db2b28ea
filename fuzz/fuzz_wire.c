/* fuzz_wire: the sessions topic's msgpack decoder (common/wire.h) on arbitrary bytes.
 * Invariants: decode never reads outside the buffer; a decoded session encodes; the encoding
 * decodes to an equal session; and encoding is a fixed point (encode(decode(encode(s))) gives
 * the same bytes as encode(s)). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "wire.h"
#include "fuzz_util.h"
#include "session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        fw_session_t s, s2, s3;
        char err[256], buf[FW_RECORD_MAX], buf2[FW_RECORD_MAX];
        size_t len = 0, len2 = 0;

        int rc = fw_session_decode(data, size, &s, err, sizeof(err));
        FUZZ_CHECK(rc <= 0 && rc >= FW_WIRE_EINVAL);
        if (rc != 0) {
                FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
                return 0;
        }
        FUZZ_CHECK(size <= FW_RECORD_MAX);

        rc = fw_session_encode(&s, buf, sizeof(buf), &len, err, sizeof(err));
        if (rc != 0)
                fprintf(stderr, "encode of a decoded session failed: %s\n", err);
        FUZZ_CHECK(rc == 0);
        FUZZ_CHECK(len > 0 && len <= sizeof(buf));

        rc = fw_session_decode(buf, len, &s2, err, sizeof(err));
        if (rc != 0)
                fprintf(stderr, "re-decode failed: %s\n", err);
        FUZZ_CHECK(rc == 0);
        FUZZ_CHECK(fw_session_equal(&s, &s2));

        rc = fw_session_encode(&s2, buf2, sizeof(buf2), &len2, err, sizeof(err));
        FUZZ_CHECK(rc == 0);
        FUZZ_CHECK(len2 == len && memcmp(buf, buf2, len) == 0);
        FUZZ_CHECK(fw_session_decode(buf2, len2, &s3, err, sizeof(err)) == 0);
        FUZZ_CHECK(fw_session_equal(&s2, &s3));
        return 0;
}
