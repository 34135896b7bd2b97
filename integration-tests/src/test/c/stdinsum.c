#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

/* Reads stdin to end-of-file with read(2) and prints "bytes N fnv1a HEX" (64-bit FNV-1a), so a test can
 * check that every byte arrived, in order, and that end-of-file came. */
int main(void) {
    static unsigned char buf[65536];
    uint64_t h = 0xcbf29ce484222325ULL;
    long long total = 0;
    ssize_t n;
    while ((n = read(0, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++) {
            h ^= buf[i];
            h *= 0x100000001b3ULL;
        }
        total += n;
    }
    if (n < 0) {
        perror("read stdin");
        return 1;
    }
    printf("bytes %lld fnv1a %016llx\n", total, (unsigned long long)h);
    return 0;
}
