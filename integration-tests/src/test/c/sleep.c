#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv) {
    struct timespec ts = { .tv_sec = argc > 1 ? atol(argv[1]) : 1, .tv_nsec = 0 };
    /* nanosleep maps to a single WASI poll_oneoff clock subscription: the blocking host call under test. */
    while (nanosleep(&ts, &ts) != 0)
        ;
    puts("slept");
    return 0;
}
