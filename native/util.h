/* Small helpers of the shim launcher. */
#ifndef KRILL_UTIL_H
#define KRILL_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* malloc and vasprintf that exit(1) with a message instead of returning NULL. */
void *xmalloc(size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* write(2) until done; -1 on error (EINTR retried). */
int write_all(int fd, const void *buf, size_t len);
/* CLOCK_MONOTONIC in milliseconds. */
int64_t mono_ms(void);
/* getenv, with "" treated as unset. */
const char *env_nonempty(const char *name);
/* mkdir -p, then chmod each created component to mode. */
int mkdir_p(const char *path, mode_t mode);
/* Opens /dev/null on whichever of fds 0-2 is closed. */
void ensure_stdio(void);
/* Reads stdin to its end (containerd writes the task options there). */
void drain_stdin(void);

#endif
