#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* count LINES WORK: prints "line 1" .. "line LINES", computing WORK xorshift rounds before each,
 * so the task stays busy on the CPU and keeps writing for a while. */
int main(int argc, char **argv) {
    long lines = argc > 1 ? atol(argv[1]) : 1000;
    long work = argc > 2 ? atol(argv[2]) : 100000;
    uint64_t x = 88172645463325252ULL;
    for (long i = 1; i <= lines; i++) {
        for (long j = 0; j < work; j++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
        }
        printf("line %ld\n", i);
        fflush(stdout);
    }
    /* Printed so the work cannot be optimized away. */
    fprintf(stderr, "%llu\n", (unsigned long long)(x & 1));
    return 0;
}
