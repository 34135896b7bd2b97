/* Small helpers of the shim launcher: allocation, I/O, time, environment, directories, stdio. */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fputs("krill: out of memory\n", stderr);
        exit(1);
    }
    return p;
}

char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *s;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0) {
        fputs("krill: out of memory\n", stderr);
        exit(1);
    }
    return s;
}

int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *env_nonempty(const char *name)
{
    const char *v = getenv(name);
    return (v && *v) ? v : NULL;
}

/*
 * Creates missing components with `mode`; chmod afterwards so the caller's
 * umask cannot make a shared directory (the socket dir) unusable.
 */
int mkdir_p(const char *path, mode_t mode)
{
    /* Fast path for the common case: everything already exists. */
    if (mkdir(path, mode) == 0)
        return chmod(path, mode);
    if (errno == EEXIST)
        return 0;
    if (errno != ENOENT)
        return -1;
    char *p = strdup(path);
    if (!p)
        return -1;
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char saved = *s;
        *s = '\0';
        if (mkdir(p, mode) == 0) {
            if (chmod(p, mode) != 0) {
                free(p);
                return -1;
            }
        } else if (errno != EEXIST) {
            free(p);
            return -1;
        }
        *s = saved;
        if (saved == '\0')
            break;
    }
    free(p);
    return 0;
}

/*
 * Run before anything opens files: if containerd (or a user) started us
 * with a closed stdio fd, the next open() would land on 0/1/2 and later
 * dup2() calls in the daemon child would clobber it.
 */
void ensure_stdio(void)
{
    for (int fd = 0; fd < 3; fd++) {
        if (fcntl(fd, F_GETFD) == -1 && errno == EBADF) {
            int n = open("/dev/null", O_RDWR);
            if (n >= 0 && n != fd) {
                dup2(n, fd);
                close(n);
            }
        }
    }
}

void drain_stdin(void)
{
    char buf[4096];
    /* A terminal never sends EOF on its own; only pipes from containerd matter. */
    if (isatty(STDIN_FILENO))
        return;
    for (;;) {
        ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
        if (n > 0)
            continue;
        if (n < 0 && errno == EINTR)
            continue;
        return;
    }
}
