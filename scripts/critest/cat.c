/* `cat FILE...`: critest reads the pod's /etc/resolv.conf (DNS spec) and /proc/sys files (sysctl specs). */
#include <stdio.h>

int main(int argc, char **argv) {
    char buf[4096];
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "r");
        if (f == NULL) {
            perror(argv[i]);
            rc = 1;
            continue;
        }
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
            fwrite(buf, 1, n, stdout);
        }
        fclose(f);
    }
    return rc;
}
