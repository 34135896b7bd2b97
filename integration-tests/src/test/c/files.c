#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int usage(void) {
    fputs("usage: files read PATH | write PATH TEXT | ls DIR | await TRIGGER PATH...\n", stderr);
    return 2;
}

static int do_read(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "read %s: %s\n", path, strerror(errno));
        return 1;
    }
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        fwrite(buf, 1, n, stdout);
    int err = ferror(f);
    fclose(f);
    if (err) {
        fprintf(stderr, "read %s: I/O error\n", path);
        return 1;
    }
    return 0;
}

static int do_write(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "write %s: %s\n", path, strerror(errno));
        return 1;
    }
    size_t len = strlen(text);
    /* fclose flushes, so its result is where a write to a read-only mount may surface. */
    if (fwrite(text, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "write %s: %s\n", path, strerror(errno));
        return 1;
    }
    return 0;
}

static int do_ls(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "ls %s: %s\n", dir, strerror(errno));
        return 1;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            puts(e->d_name);
    }
    closedir(d);
    return 0;
}

/* Waits until TRIGGER exists, then prints each PATH's contents, or "absent" for one that is not there. */
static int do_await(const char *trigger, int n, char **paths) {
    struct timespec ts = { .tv_sec = 0, .tv_nsec = 100 * 1000 * 1000 };
    while (access(trigger, F_OK) != 0)
        nanosleep(&ts, NULL);
    for (int i = 0; i < n; i++) {
        if (access(paths[i], F_OK) != 0)
            puts("absent");
        else if (do_read(paths[i]) != 0)
            return 1;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "read"))
        return do_read(argv[2]);
    if (argc == 4 && !strcmp(argv[1], "write"))
        return do_write(argv[2], argv[3]);
    if (argc == 3 && !strcmp(argv[1], "ls"))
        return do_ls(argv[2]);
    if (argc >= 4 && !strcmp(argv[1], "await"))
        return do_await(argv[2], argc - 3, argv + 3);
    return usage();
}
