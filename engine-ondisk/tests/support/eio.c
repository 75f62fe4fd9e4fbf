/* Makes writes and syncs of chosen files fail with EIO, for engine-ondisk's
 * io_errors test (loaded with LD_PRELOAD into a child process).
 *
 * QUIVER_EIO_MATCH: files whose path contains this text (and ends with
 *                   QUIVER_EIO_SUFFIX, if set) are watched once opened;
 * QUIVER_EIO_AFTER: the number of write/sync calls on watched files that succeed;
 *                   every later one fails with EIO (a disk that went bad).
 * Other files and calls pass through to the C library. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_FDS 65536
static atomic_char watched[MAX_FDS];
static atomic_long calls;

static int matches(const char *path) {
    const char *m = getenv("QUIVER_EIO_MATCH");
    const char *suffix = getenv("QUIVER_EIO_SUFFIX");
    if (!m || !path || !strstr(path, m)) return 0;
    if (suffix) {
        size_t n = strlen(path), s = strlen(suffix);
        if (n < s || strcmp(path + n - s, suffix) != 0) return 0;
    }
    return 1;
}

static void track(int fd, const char *path) {
    if (fd >= 0 && fd < MAX_FDS) atomic_store(&watched[fd], (char)matches(path));
}

/* 1 if this call on fd must fail. */
static int fails(int fd) {
    if (fd < 0 || fd >= MAX_FDS || !atomic_load(&watched[fd])) return 0;
    const char *a = getenv("QUIVER_EIO_AFTER");
    long after = a ? atol(a) : 0;
    return atomic_fetch_add(&calls, 1) >= after;
}

#define REAL(ret, name, ...)                                   \
    static ret (*real)(__VA_ARGS__);                           \
    if (!real) real = (ret(*)(__VA_ARGS__))dlsym(RTLD_NEXT, name)

static mode_t mode_of(int flags, va_list ap) {
    return (flags & (O_CREAT | O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
}

int open(const char *path, int flags, ...) {
    va_list ap; va_start(ap, flags); mode_t mode = mode_of(flags, ap); va_end(ap);
    REAL(int, "open", const char *, int, ...);
    int fd = real(path, flags, mode); track(fd, path); return fd;
}
int open64(const char *path, int flags, ...) {
    va_list ap; va_start(ap, flags); mode_t mode = mode_of(flags, ap); va_end(ap);
    REAL(int, "open64", const char *, int, ...);
    int fd = real(path, flags, mode); track(fd, path); return fd;
}
int openat(int dir, const char *path, int flags, ...) {
    va_list ap; va_start(ap, flags); mode_t mode = mode_of(flags, ap); va_end(ap);
    REAL(int, "openat", int, const char *, int, ...);
    int fd = real(dir, path, flags, mode); track(fd, path); return fd;
}
int openat64(int dir, const char *path, int flags, ...) {
    va_list ap; va_start(ap, flags); mode_t mode = mode_of(flags, ap); va_end(ap);
    REAL(int, "openat64", int, const char *, int, ...);
    int fd = real(dir, path, flags, mode); track(fd, path); return fd;
}
int close(int fd) {
    REAL(int, "close", int);
    if (fd >= 0 && fd < MAX_FDS) atomic_store(&watched[fd], 0);
    return real(fd);
}
ssize_t write(int fd, const void *buf, size_t n) {
    REAL(ssize_t, "write", int, const void *, size_t);
    if (fails(fd)) { errno = EIO; return -1; }
    return real(fd, buf, n);
}
ssize_t pwrite(int fd, const void *buf, size_t n, off_t at) {
    REAL(ssize_t, "pwrite", int, const void *, size_t, off_t);
    if (fails(fd)) { errno = EIO; return -1; }
    return real(fd, buf, n, at);
}
ssize_t pwrite64(int fd, const void *buf, size_t n, off_t at) {
    REAL(ssize_t, "pwrite64", int, const void *, size_t, off_t);
    if (fails(fd)) { errno = EIO; return -1; }
    return real(fd, buf, n, at);
}
ssize_t writev(int fd, const struct iovec *iov, int n) {
    REAL(ssize_t, "writev", int, const struct iovec *, int);
    if (fails(fd)) { errno = EIO; return -1; }
    return real(fd, iov, n);
}
int fsync(int fd) {
    REAL(int, "fsync", int);
    if (fails(fd)) { errno = EIO; return -1; }
    return real(fd);
}
int fdatasync(int fd) {
    REAL(int, "fdatasync", int);
    if (fails(fd)) { errno = EIO; return -1; }
    return real(fd);
}
