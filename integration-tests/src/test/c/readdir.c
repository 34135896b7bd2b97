#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Prints every entry readdir(3) gives for DIR, "." and ".." included, in its order. */
int main(int argc, char **argv) {
    if (argc != 2) {
        fputs("usage: readdir DIR\n", stderr);
        return 2;
    }
    DIR *d = opendir(argv[1]);
    if (!d) {
        fprintf(stderr, "readdir %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        puts(e->d_name);
    closedir(d);
    return 0;
}
