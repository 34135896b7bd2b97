#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Allocates 1 MiB chunks until malloc fails, reports how many it got, then aborts. */

#define CHUNK (1024 * 1024)

/* Publishing each chunk through a volatile pointer keeps the compiler from eliding malloc + memset. */
static void *volatile head;

int main(void) {
    unsigned long mib = 0;
    for (;;) {
        void **p = malloc(CHUNK);
        if (!p)
            break;
        /* Touch every page so the memory is really committed, not just reserved. */
        memset(p, (int)mib | 1, CHUNK);
        *p = head;
        head = p;
        mib++;
    }
    /* Like most programs, give up when memory runs out: krill reports that as OOMKilled. */
    printf("allocated %lu MiB\n", mib);
    fflush(stdout);
    abort();
}
