/* cursor_store: the producer's position on disk, one small text file per viewer:
 *
 *   fanwatch-cursor 1
 *   viewer=https://arkime.example:8005
 *   position=1716026400
 *
 * Written to "<path>.tmp", fsync'd, renamed over <path> and the directory fsync'd, so a crash
 * leaves either the old or the new position, never a torn file. The viewer line keeps two
 * producers (two Arkime clusters) from sharing a cursor by mistake. */
#ifndef FW_CURSOR_STORE_H
#define FW_CURSOR_STORE_H

#include <stddef.h>
#include <stdint.h>

/* Read the position saved for viewer. Returns 1 and sets *position_s, 0 if the file does not
 * exist (a first start), or -1 with err for an unreadable or malformed file or one written
 * for another viewer. */
int fw_cursor_load(const char *path, const char *viewer, int64_t *position_s, char *err,
                   size_t errlen);

/* Save atomically; 0 or -1 with err. */
int fw_cursor_save(const char *path, const char *viewer, int64_t position_s, char *err,
                   size_t errlen);

#endif
