#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/*
 * stream TAG LINES [PAUSE [HOLD]]: prints LINES lines "TAG 00000001\n" ... (so a test can check every byte),
 * sleeping 1 ms after every PAUSE lines when PAUSE > 0, then sleeps HOLD seconds (to be killed) and exits 0.
 */
int main(int argc, char **argv) {
    if (argc < 3) {
        fputs("usage: stream TAG LINES [PAUSE [HOLD]]\n", stderr);
        return 2;
    }
    const char *tag = argv[1];
    long lines = atol(argv[2]);
    long pause = argc > 3 ? atol(argv[3]) : 0;
    struct timespec hold = { .tv_sec = argc > 4 ? atol(argv[4]) : 0, .tv_nsec = 0 };
    struct timespec ms = { .tv_sec = 0, .tv_nsec = 1000000 };
    for (long i = 1; i <= lines; i++) {
        if (printf("%s %08ld\n", tag, i) < 0)
            return 1;
        if (pause > 0 && i % pause == 0) {
            fflush(stdout);
            nanosleep(&ms, NULL);
        }
    }
    if (fflush(stdout) != 0)
        return 1;
    while (nanosleep(&hold, &hold) != 0)
        ;
    return 0;
}
