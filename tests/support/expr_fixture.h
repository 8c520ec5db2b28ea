/* expr_fixture: an expression the test needs, compiled or the test fails with the parser's
 * message. Include after <cmocka.h>. */
#ifndef FW_EXPR_FIXTURE_H
#define FW_EXPR_FIXTURE_H

#include "expr.h"

static inline fw_expr_t *compile_ok(const char *text) {
        char err[256];
        fw_expr_t *e = fw_expr_compile(text, err, sizeof(err));

        if (e == NULL)
                fail_msg("compile(\"%s\") failed: %s", text, err);
        return e;
}

#endif
