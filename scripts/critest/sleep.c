/* `sleep SECONDS`: critest's execSync timeout spec. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: sleep SECONDS\n");
        return 2;
    }
    sleep((unsigned)strtoul(argv[1], NULL, 10));
    return 0;
}
