#include <stdio.h>
#include <unistd.h>

/* read(), not fread(): echo whatever arrives at once, so a test can see input while stdin stays open. */
int main(void) {
    char buf[4096];
    ssize_t n;
    while ((n = read(0, buf, sizeof buf)) > 0) {
        if (write(1, buf, (size_t)n) != n)
            return 1;
    }
    if (n < 0) {
        /* e.g. EAGAIN: a runtime handing the guest a non-blocking stdin is a bug the tests should name. */
        perror("read stdin");
        return 1;
    }
    puts("eof");
    return 0;
}
