/* fuzz_arkime_page: the Arkime /api/sessions page parser, the OpenSearch _search response
 * parser and the single-document parser (common/arkime_page.h) on arbitrary bytes. One page is
 * reused across inputs, as the producer's poller reuses it from page to page (its arena and
 * sessions array persist). Invariants: an error leaves the page empty; count <= cap; every accepted
 * session has a NUL-terminated id and encodes with fw_session_encode (so the producer can publish
 * it); a rejected item leaves a reason; the page and the appended documents never read past len. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arkime_page.h"
#include "fuzz_util.h"
#include "session.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static fw_arkime_page_t page;
static int page_ready;

static void check_sessions(const fw_arkime_page_t *p, size_t from) {
        char buf[FW_RECORD_MAX], err[256];
        size_t len;
        FUZZ_CHECK(p->count <= p->cap);
        for (size_t i = from; i < p->count; i++) {
                const fw_session_t *s = &p->sessions[i];
                FUZZ_CHECK(memchr(s->id, '\0', sizeof(s->id)) != NULL && s->id[0] != '\0');
                int rc = fw_session_encode(s, buf, sizeof(buf), &len, err, sizeof(err));
                if (rc != 0)
                        fprintf(stderr, "accepted session %zu (%s) does not encode: %s\n", i, s->id,
                                err);
                FUZZ_CHECK(rc == 0);
        }
        if (p->rejected > 0)
                FUZZ_CHECK(p->first_reject[0] != '\0');
        FUZZ_CHECK(memchr(p->first_reject, '\0', sizeof(p->first_reject)) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char err[512];
        const char *body = (const char *)data;

        if (!page_ready) {
                fw_arkime_page_init(&page);
                page_ready = 1;
        }

        /* The whole input as a response body. */
        int rc = fw_arkime_page_parse(&page, body, size, err, sizeof(err));
        FUZZ_CHECK(rc == 0 || rc == -1);
        if (rc < 0) {
                FUZZ_CHECK(page.count == 0);
                FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL && err[0] != '\0');
        }
        check_sessions(&page, 0);

        /* The whole input as an OpenSearch _search response, fields from doc values or from
         * sort values (in_sort): an error leaves the page empty and no PIT id; on success every
         * hit is accepted or rejected and the last sort values are a string. */
        for (int in_sort = 0; in_sort < 2; in_sort++) {
                fw_search_info_t info;
                rc = fw_arkime_search_parse(&page, body, size, in_sort, &info, err, sizeof(err));
                FUZZ_CHECK(rc == 0 || rc == -1);
                FUZZ_CHECK(memchr(info.last_sort, '\0', sizeof(info.last_sort)) != NULL);
                if (rc < 0) {
                        FUZZ_CHECK(page.count == 0 && info.pit_id == NULL && info.hits == 0);
                        FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL && err[0] != '\0');
                } else {
                        FUZZ_CHECK(page.count + page.rejected == info.hits);
                }
                free(info.pit_id);
                check_sessions(&page, 0);
        }
        fw_arkime_page_reset(&page);
        rc = fw_arkime_page_parse(&page, body, size, err, sizeof(err));
        FUZZ_CHECK(rc == 0 || rc == -1);

        /* The whole input as one session document, appended to what the page holds; an odd
         * length also passes a bulk header id. */
        size_t before = page.count, rej = page.rejected;
        rc = fw_arkime_doc_append(&page, body, size, (size & 1) ? "3@240518-fuzz-bulk-id" : NULL,
                                  (size & 1) ? strlen("3@240518-fuzz-bulk-id") : 0, err,
                                  sizeof(err));
        FUZZ_CHECK(rc == 0 || rc == -1);
        if (rc < 0)
                FUZZ_CHECK(page.count == before && page.rejected == rej);
        else
                FUZZ_CHECK(page.count + page.rejected == before + rej + 1);
        check_sessions(&page, before);

        /* Usually keep the capacity (as the poller does); now and then start from nothing. */
        if (size % 64 == 63) {
                fw_arkime_page_free(&page);
                fw_arkime_page_init(&page);
        } else {
                fw_arkime_page_reset(&page);
        }
        return 0;
}
