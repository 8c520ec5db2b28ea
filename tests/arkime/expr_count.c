/* expr_count: how many sessions of a saved viewer page each expression matches.
 *
 *   expr_count PAGE EXPRESSIONS
 *
 * PAGE is one Arkime viewer /api/sessions response saved as JSON (fields=FW_ARKIME_FIELDS,
 * flatten=1 or nested), read with the producer's own parser (common/arkime_page.c), so the
 * sessions are exactly those fanwatch-producer would publish. EXPRESSIONS holds one expression
 * per line; blank lines and lines starting with '#' (after blanks) are skipped, trailing blanks
 * and CR are dropped. For each expression one line is printed on stdout:
 *
 *   <count>\t<expression>            the number of sessions fw_expr_match accepts
 *   error: <message>\t<expression>   fw_expr_compile refused it
 *
 * On stderr: "expr_count: N sessions, M rejected" (M: page items the producer's parser skipped,
 * with the first reason). Exit 0, or 1 when a file cannot be read or the page is not a viewer
 * response. Used by tests/arkime/test_expr_differential.py against the real viewer's counts. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arkime_page.h"
#include "expr.h"
#include "session.h"

/* The whole file into a malloc'ed buffer; NULL with errno on failure. */
static char *read_all(const char *path, size_t *len) {
        FILE *f = fopen(path, "rb");
        char *buf = NULL;
        size_t n = 0, cap = 0;

        if (f == NULL)
                return NULL;
        for (;;) {
                size_t got;

                if (cap - n < 65536) {
                        char *p = realloc(buf, cap = cap * 2 + 65536);

                        if (p == NULL) {
                                free(buf);
                                fclose(f);
                                errno = ENOMEM;
                                return NULL;
                        }
                        buf = p;
                }
                got = fread(buf + n, 1, cap - n, f);
                n += got;
                if (got == 0)
                        break;
        }
        if (ferror(f)) {
                free(buf);
                fclose(f);
                errno = EIO;
                return NULL;
        }
        fclose(f);
        *len = n;
        return buf;
}

int main(int argc, char **argv) {
        fw_arkime_page_t page;
        char err[512], *body, *line = NULL;
        size_t len, linecap = 0;
        ssize_t n;
        FILE *ef;

        if (argc != 3) {
                fprintf(stderr, "usage: expr_count PAGE.json EXPRESSIONS.txt\n");
                return 2;
        }
        body = read_all(argv[1], &len);
        if (body == NULL) {
                fprintf(stderr, "expr_count: %s: %s\n", argv[1], strerror(errno));
                return 1;
        }
        fw_arkime_page_init(&page);
        if (fw_arkime_page_parse(&page, body, len, err, sizeof(err)) != 0) {
                fprintf(stderr, "expr_count: %s: %s\n", argv[1], err);
                free(body);
                return 1;
        }
        free(body);
        fprintf(stderr, "expr_count: %zu sessions, %zu rejected%s%s%s\n", page.count, page.rejected,
                page.rejected ? " (first: " : "", page.rejected ? page.first_reject : "",
                page.rejected ? ")" : "");

        ef = fopen(argv[2], "r");
        if (ef == NULL) {
                fprintf(stderr, "expr_count: %s: %s\n", argv[2], strerror(errno));
                fw_arkime_page_free(&page);
                return 1;
        }
        while ((n = getline(&line, &linecap, ef)) >= 0) {
                char *s = line, *end = line + n;
                fw_expr_t *e;

                while (end > s &&
                       (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
                        *--end = '\0';
                while (*s == ' ' || *s == '\t')
                        s++;
                if (*s == '\0' || *s == '#')
                        continue;
                e = fw_expr_compile(s, err, sizeof(err));
                if (e == NULL) {
                        printf("error: %s\t%s\n", err, s);
                } else {
                        size_t count = 0;

                        for (size_t i = 0; i < page.count; i++)
                                count += (size_t)fw_expr_match(e, &page.sessions[i]);
                        printf("%zu\t%s\n", count, s);
                        fw_expr_free(e);
                }
        }
        free(line);
        fclose(ef);
        fw_arkime_page_free(&page);
        return fflush(stdout) == 0 ? 0 : 1;
}
