#include <stdint.h>
#include <stdio.h>

/* Deterministic, memory-free integer work, so native and wasm builds compute the same value. */
int main(void) {
    uint64_t x = 88172645463325252ULL, acc = 0;
    for (uint32_t i = 0; i < 300000000u; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        acc = acc * 6364136223846793005ULL + (x ^ i);
    }
    printf("%llu\n", (unsigned long long)acc);
    return 0;
}
