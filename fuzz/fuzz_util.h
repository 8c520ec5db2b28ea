/* fuzz_util: helpers shared by the libFuzzer targets (docs/fuzzing.md). */
#ifndef FW_FUZZ_UTIL_H
#define FW_FUZZ_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <unistd.h>

/* A broken invariant: print why and abort, which libFuzzer reports as a crash. */
#define FUZZ_CHECK(cond)                                                                           \
        do {                                                                                       \
                if (!(cond)) {                                                                     \
                        fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__,       \
                                #cond);                                                            \
                        abort();                                                                   \
                }                                                                                  \
        } while (0)

#ifdef _GNU_SOURCE /* memfd_create; defined by the targets that need it */
/* An in-memory file that the path-taking loaders can open as /proc/self/fd/N. */
typedef struct fuzz_memfile {
        int fd;
        char path[64];
} fuzz_memfile_t;

static inline void fuzz_memfile_open(fuzz_memfile_t *m, const char *name) {
        m->fd = memfd_create(name, MFD_CLOEXEC);
        if (m->fd < 0) {
                perror("memfd_create");
                abort();
        }
        snprintf(m->path, sizeof(m->path), "/proc/self/fd/%d", m->fd);
}

/* Replace the file's contents with data[0..size). */
static inline void fuzz_memfile_set(fuzz_memfile_t *m, const void *data, size_t size) {
        if (ftruncate(m->fd, 0) < 0) {
                perror("ftruncate");
                abort();
        }
        const char *p = data;
        size_t done = 0;
        while (done < size) {
                ssize_t n = pwrite(m->fd, p + done, size - done, (off_t)done);
                if (n <= 0) {
                        perror("pwrite");
                        abort();
                }
                done += (size_t)n;
        }
}

#endif /* _GNU_SOURCE */

#endif
