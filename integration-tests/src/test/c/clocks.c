#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <time.h>

/* Prints, for each clock, "name ok" when clock_gettime and clock_getres answer, else the error. */
int main(void) {
    struct { const char *name; clockid_t id; } clocks[] = {
        { "realtime", CLOCK_REALTIME },
        { "monotonic", CLOCK_MONOTONIC },
        { "process", CLOCK_PROCESS_CPUTIME_ID },
        { "thread", CLOCK_THREAD_CPUTIME_ID },
    };
    int failed = 0;
    for (unsigned i = 0; i < sizeof clocks / sizeof clocks[0]; i++) {
        struct timespec t, r;
        if (clock_gettime(clocks[i].id, &t) != 0 || clock_getres(clocks[i].id, &r) != 0) {
            printf("%s %s\n", clocks[i].name, strerror(errno));
            failed = 1;
        } else {
            printf("%s ok\n", clocks[i].name);
        }
    }
    return failed;
}
