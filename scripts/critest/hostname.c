/* `hostname`: WASI preview 1 has no gethostname, so a guest learns the pod's host name from $HOSTNAME,
 * which the runtime sets as containerd does. `hostname NAME` fails: a guest cannot set the host name. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    if (argc > 1) {
        fprintf(stderr, "hostname: cannot set the host name to %s: WASI has no such call\n", argv[1]);
        return 1;
    }
    const char *h = getenv("HOSTNAME");
    if (h == NULL) {
        fprintf(stderr, "hostname: HOSTNAME is not set\n");
        return 1;
    }
    puts(h);
    return 0;
}
