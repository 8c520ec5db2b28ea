#include "cursor_store.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAGIC "fanwatch-cursor 1"

int fw_cursor_load(const char *path, const char *viewer, int64_t *position_s, char *err,
                   size_t errlen) {
        FILE *f = fopen(path, "r");
        if (!f) {
                if (errno == ENOENT)
                        return 0;
                snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
                return -1;
        }
        char line[4096];
        int lineno = 0, have_pos = 0, rc = -1;
        const char *problem = NULL;
        while (fgets(line, sizeof(line), f)) {
                lineno++;
                line[strcspn(line, "\r\n")] = '\0';
                if (lineno == 1) {
                        if (strcmp(line, MAGIC) != 0) {
                                problem = "not a fanwatch cursor file (first line)";
                                break;
                        }
                } else if (strncmp(line, "viewer=", 7) == 0) {
                        if (strcmp(line + 7, viewer) != 0) {
                                snprintf(
                                        err, errlen,
                                        "%s:%d: cursor belongs to viewer '%s', not '%s': give each "
                                        "viewer its own producer.cursor_file",
                                        path, lineno, line + 7, viewer);
                                fclose(f);
                                return -1;
                        }
                } else if (strncmp(line, "position=", 9) == 0) {
                        char *end;
                        errno = 0;
                        long long v = strtoll(line + 9, &end, 10);
                        if (errno || end == line + 9 || *end || v < 0) {
                                problem = "bad position";
                                break;
                        }
                        *position_s = v;
                        have_pos = 1;
                } else if (line[0] != '\0') {
                        problem = "unexpected line";
                        break;
                }
        }
        if (problem)
                snprintf(err, errlen, "%s:%d: %s", path, lineno, problem);
        else if (!have_pos)
                snprintf(err, errlen, "%s: no position line (truncated file?)", path);
        else
                rc = 1;
        fclose(f);
        return rc;
}

int fw_cursor_save(const char *path, const char *viewer, int64_t position_s, char *err,
                   size_t errlen) {
        char tmp[4096];
        if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
                snprintf(err, errlen, "cursor path too long");
                return -1;
        }
        if (strchr(viewer, '\n')) {
                snprintf(err, errlen, "viewer name contains a newline");
                return -1;
        }
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0) {
                snprintf(err, errlen, "%s: cannot create: %s", tmp, strerror(errno));
                return -1;
        }
        char buf[4200];
        int n = snprintf(buf, sizeof(buf), MAGIC "\nviewer=%s\nposition=%" PRId64 "\n", viewer,
                         position_s);
        if (n < 0 || n >= (int)sizeof(buf) || write(fd, buf, (size_t)n) != n || fsync(fd) != 0) {
                snprintf(err, errlen, "%s: cannot write: %s", tmp, strerror(errno));
                close(fd);
                unlink(tmp);
                return -1;
        }
        close(fd);
        if (rename(tmp, path) != 0) {
                snprintf(err, errlen, "rename %s -> %s: %s", tmp, path, strerror(errno));
                unlink(tmp);
                return -1;
        }
        /* make the rename itself durable */
        char dir[4096];
        snprintf(dir, sizeof(dir), "%s", path);
        int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
                fsync(dfd);
                close(dfd);
        }
        return 0;
}
