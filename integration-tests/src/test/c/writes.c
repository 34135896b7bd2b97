/* Host-call overhead: N one-byte write(2)s to stdout (default 1,000,000), each a WASI fd_write in wasm.
 * Prints nothing else; exits 3 if a write does not write its byte. */
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    for (long i = 0; i < n; i++) {
        if (write(1, "x", 1) != 1) return 3;
    }
    return 0;
}
