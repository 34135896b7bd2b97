#include <stdio.h>

/* volatile buffer and the use of the result keep the compiler from turning this into a loop. */
static int down(int n) {
    volatile char pad[256];
    pad[n & 255] = (char)n;
    return down(n + 1) + pad[(n + 1) & 255];
}

int main(void) {
    printf("%d\n", down(0));
    return 0;
}
