/* ini_file: read an INI file through inih with line numbers, multi-line values and errors in
 * file order. Used by the configuration (common/config.c) and the detector's rules file.
 *
 * The file is parsed twice: a first pass finds inih's first syntax error (a line without '='
 * or ']'), the real pass stops before that line, so errors on earlier lines are reported first
 * and nothing after a bad line is delivered. Lines longer than inih's buffer are refused, a
 * UTF-8 byte order mark is skipped, and a non-blank line indented with spaces or tabs continues
 * the previous key: the pieces are joined with one space, inline " ;" comments cut off.
 *
 * Every error is "<path>:<line>: <problem>" or "<path>: <problem>". The reader wipes its line
 * buffer and the values it joined before freeing them, since values may be secrets. */
#ifndef FW_INI_FILE_H
#define FW_INI_FILE_H

#include <stdarg.h>
#include <stddef.h>

/* What the reader calls, and how its own errors are worded. A callback returns 0, or -1 after
 * writing its whole message (path and line included) into the err given to fw_ini_file_read();
 * reading stops at the first -1. Every callback is optional (NULL). */
typedef struct fw_ini_file_ops {
        /* What a header holds, in the syntax error: "section" gives
         * "syntax error (expected 'key = value' or '[section]')". */
        const char *header_word;
        /* Advice added to the over-long line error as " (<hint>)", or NULL. */
        const char *long_line_hint;
        /* Put before the "cannot open" error, or NULL. */
        const char *open_prefix;

        /* A "[...]" header line; text starts at the '['. The previous key is delivered first. */
        int (*on_section)(void *user, int line, const char *text);
        /* A key's value so far: called on the key's line and again after each of its continuation
         * lines, with line = the key's line. */
        int (*on_value)(void *user, int line, const char *section, const char *name,
                        const char *value);
        /* A complete key (continuations joined), line = its first line. Called when the next key,
         * header or syntax error, or the end of the file is reached; not for a key cut short by
         * an over-long line or a read error. */
        int (*on_key)(void *user, int line, const char *section, const char *name,
                      const char *value);
} fw_ini_file_ops_t;

/* Read path, calling ops with user. 0, or -1 with a message in err (a callback's own, or the
 * reader's: cannot open/rewind/read, syntax error, line too long, out of memory). */
int fw_ini_file_read(const char *path, const fw_ini_file_ops_t *ops, void *user, char *err,
                     size_t errlen);

/* Write "<path>:<line>: <message>" into err: the form of every error about a line. */
void fw_ini_file_verrorf(char *err, size_t errlen, const char *path, int line, const char *fmt,
                         va_list ap) __attribute__((format(printf, 5, 0)));

#endif
