/* Unit tests for common/utf8.c: sequence lengths and validation as jansson requires. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "utf8.h"

static size_t seq(const char *s) {
        return fw_utf8_seq((const unsigned char *)s);
}

static void test_sequences(void **state) {
        (void)state;
        assert_int_equal(seq("a"), 1);
        assert_int_equal(seq("\xc3\xa9"), 2);         /* U+00E9 */
        assert_int_equal(seq("\xe2\x82\xac"), 3);     /* U+20AC */
        assert_int_equal(seq("\xf0\x9f\x98\x80"), 4); /* U+1F600 */
        assert_int_equal(seq("\xf4\x8f\xbf\xbf"), 4); /* U+10FFFF, the last code point */
        assert_int_equal(seq("\xc0\x80"), 0);         /* overlong NUL */
        assert_int_equal(seq("\xc1\xbf"), 0);         /* overlong */
        assert_int_equal(seq("\xe0\x80\x80"), 0);     /* overlong 3-byte */
        assert_int_equal(seq("\xf0\x80\x80\x80"), 0); /* overlong 4-byte */
        assert_int_equal(seq("\xed\xa0\x80"), 0);     /* U+D800, a surrogate */
        assert_int_equal(seq("\xf4\x90\x80\x80"), 0); /* above U+10FFFF */
        assert_int_equal(seq("\x80"), 0);             /* a lone continuation byte */
        assert_int_equal(seq("\xe2\x82"), 0);         /* cut short by the NUL */
        assert_int_equal(seq("\xff"), 0);
}

static void test_valid(void **state) {
        (void)state;
        size_t bad = 99;
        assert_true(fw_utf8_valid("", &bad));
        assert_true(fw_utf8_valid("ip.src == 10.0.0.1 && node == \"caf\xc3\xa9\"", NULL));
        assert_false(fw_utf8_valid("node == caf\xe9", &bad));
        assert_int_equal(bad, 11);
        assert_false(fw_utf8_valid("ok \xed\xbf\xbf", &bad));
        assert_int_equal(bad, 3);
        assert_false(fw_utf8_valid("\xc3", &bad));
        assert_int_equal(bad, 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_sequences),
                cmocka_unit_test(test_valid),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
