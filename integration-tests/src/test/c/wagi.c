/* A WAGI (CGI over WASI) guest: one request per instance. It answers by PATH_INFO:
 *   /trap       traps (unreachable)
 *   /loop       spins forever (the server's timeout stops it)
 *   /malformed  writes a line that is not a CGI header
 *   /sleep      sleeps 1 s (or N ms with ?ms=N), then echoes
 *   /grow       allocates until memory runs out
 *   /redirect   answers with a Location header only (302)
 *   /status     answers Status: 201 Created
 *   anything else echoes the request: method, path, query, route, argv, a container variable, the
 *   body read from stdin; it also writes a line on stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Where /grow keeps its allocations, so the compiler cannot elide them. */
char *volatile wagi_kept;

static const char *env(const char *name) {
    const char *v = getenv(name);
    return v ? v : "";
}

int main(int argc, char **argv) {
    const char *path = env("PATH_INFO");
    if (strcmp(path, "/trap") == 0)
        __builtin_trap();
    if (strcmp(path, "/loop") == 0) {
        volatile unsigned long n = 0;
        for (;;)
            n++;
    }
    if (strcmp(path, "/malformed") == 0) {
        fputs("this is not a header\n\nbody\n", stdout);
        return 0;
    }
    if (strcmp(path, "/grow") == 0) {
        for (;;) {
            char *p = malloc(1 << 20);
            if (!p)
                abort();
            memset(p, 1, 1 << 20);
            wagi_kept = p;
        }
    }
    if (strcmp(path, "/redirect") == 0) {
        fputs("Location: /elsewhere\n\n", stdout);
        return 0;
    }
    if (strcmp(path, "/status") == 0) {
        fputs("Status: 201 Created\nContent-Type: text/plain\n\ncreated\n", stdout);
        return 0;
    }
    if (strcmp(path, "/sleep") == 0) {
        struct timespec t = {1, 0};
        const char *q = env("QUERY_STRING");
        if (strncmp(q, "ms=", 3) == 0) {
            long ms = strtol(q + 3, NULL, 10);
            t.tv_sec = ms / 1000;
            t.tv_nsec = (ms % 1000) * 1000000L;
        }
        nanosleep(&t, NULL);
    }
    char body[65536];
    size_t n = 0;
    ssize_t r;
    while (n < sizeof body - 1 && (r = read(0, body + n, sizeof body - 1 - n)) > 0)
        n += (size_t)r;
    body[n] = 0;
    fprintf(stderr, "wagi guest: %s %s\n", env("REQUEST_METHOD"), path);
    printf("Content-Type: text/plain\nX-Guest: wagi\n\n");
    printf("method=%s\npath=%s\nquery=%s\nroute=%s\nscript=%s\n", env("REQUEST_METHOD"), path,
           env("QUERY_STRING"), env("X_MATCHED_ROUTE"), env("SCRIPT_NAME"));
    printf("argc=%d\n", argc);
    for (int i = 1; i < argc; i++)
        printf("arg=%s\n", argv[i]);
    printf("greeting=%s\nlength=%s\ntype=%s\nheader=%s\nbody=%s\n", env("GREETING"), env("CONTENT_LENGTH"),
           env("CONTENT_TYPE"), env("HTTP_X_TEST"), body);
    return 0;
}
