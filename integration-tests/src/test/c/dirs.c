#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wasi/api.h>

/*
 * dirs DIR: the directory semantics where WASI runtimes have differed, each checked on the
 * writable directory DIR (raw calls go through the preopen DIR lies in) and printed as "check: result", one line each:
 *   renumber-to-closed   fd_renumber onto a descriptor that is not open
 *   readlink-short       path_readlink into a buffer shorter than the target
 *   open-dir-for-write   open(DIR/sub, O_WRONLY)
 *   prestat-name-empty   fd_prestat_dir_name into a 0-byte buffer
 *   rmdir-trailing-slash rmdir("DIR/gone/")
 *   poll-stdin-data      poll_oneoff on stdin with input waiting (the test writes some)
 *   poll-stdin-eof       poll_oneoff on stdin once all of it has been read
 *   go-open              path_open as Go's os.ReadDir does it first (no O_DIRECTORY, file rights)
 *   go-readdir           the same with Go's fallback on EISDIR, then fd_readdir
 *   libc-readdir         open(O_RDONLY) without O_DIRECTORY, then fdopendir/readdir
 * Results are "ok", "ok N" or the errno's name.
 */

static const char *errname(int e) {
    switch (e) {
    case 0: return "ok";
    case __WASI_ERRNO_BADF: return "EBADF";
    case __WASI_ERRNO_ISDIR: return "EISDIR";
    case __WASI_ERRNO_NOTDIR: return "ENOTDIR";
    case __WASI_ERRNO_NAMETOOLONG: return "ENAMETOOLONG";
    case __WASI_ERRNO_INVAL: return "EINVAL";
    case __WASI_ERRNO_NOENT: return "ENOENT";
    case __WASI_ERRNO_PERM: return "EPERM";
    case __WASI_ERRNO_NOTSUP: return "ENOTSUP";
    case __WASI_ERRNO_EXIST: return "EEXIST";
    case __WASI_ERRNO_NOTEMPTY: return "ENOTEMPTY";
    case __WASI_ERRNO_RANGE: return "ERANGE";
    default: {
        static char buf[16];
        snprintf(buf, sizeof buf, "errno %d", e);
        return buf;
    }
    }
}

/* DIR relative to the preopen it lies in (the longest preopen name that leads to it). */
static char rel[256];

/* The preopen DIR lies in, as Go's preparePath picks it; sets rel. */
static int preopen_of(const char *dir) {
    int best = -1;
    size_t best_len = 0;
    for (int fd = 3; fd < 64; fd++) {
        __wasi_prestat_t p;
        if (__wasi_fd_prestat_get(fd, &p) != 0)
            continue;
        char name[256];
        if (p.u.dir.pr_name_len >= sizeof name)
            continue;
        if (__wasi_fd_prestat_dir_name(fd, (uint8_t *)name, p.u.dir.pr_name_len) != 0)
            continue;
        size_t n = p.u.dir.pr_name_len;
        name[n] = 0;
        while (n > 1 && name[n - 1] == '/')
            name[--n] = 0;
        int leads = strncmp(dir, name, n) == 0 &&
                    (dir[n] == 0 || dir[n] == '/' || (n == 1 && name[0] == '/'));
        if (leads && (best < 0 || n > best_len)) {
            best = fd;
            best_len = n;
            const char *r = dir + n;
            while (*r == '/')
                r++;
            snprintf(rel, sizeof rel, "%s", *r ? r : ".");
        }
    }
    return best;
}

/* NAME inside DIR, relative to DIR's preopen. */
static const char *in_dir(const char *name) {
    static char buf[512];
    snprintf(buf, sizeof buf, "%s/%s", rel, name);
    return buf;
}

static void touch(const char *dir, const char *name) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0)
        close(fd);
}

/* Entries fd_readdir lists on fd besides "." and "..", or -errno. */
static int count_entries(int fd) {
    static uint8_t buf[4096];
    __wasi_dircookie_t cookie = 0;
    int n = 0;
    for (;;) {
        __wasi_size_t used;
        __wasi_errno_t e = __wasi_fd_readdir(fd, buf, sizeof buf, cookie, &used);
        if (e != 0)
            return -e;
        size_t at = 0;
        while (at + sizeof(__wasi_dirent_t) <= used) {
            __wasi_dirent_t d;
            memcpy(&d, buf + at, sizeof d);
            at += sizeof d;
            if (at + d.d_namlen > used)
                break;
            const char *name = (const char *)buf + at;
            if (!(d.d_namlen == 1 && name[0] == '.') &&
                !(d.d_namlen == 2 && name[0] == '.' && name[1] == '.'))
                n++;
            at += d.d_namlen;
            cookie = d.d_next;
        }
        if (used < sizeof buf)
            return n;
    }
}

static void print_count(const char *check, int n) {
    if (n < 0)
        printf("%s: %s\n", check, errname(-n));
    else
        printf("%s: ok %d\n", check, n);
}

/* Go's syscall.openat for O_RDONLY (src/syscall/fs_wasip1.go): file rights without the write
 * ones, no O_DIRECTORY; on EISDIR once more with O_DIRECTORY and only directory rights. */
static __wasi_errno_t go_first_try;

static int go_open_dir(int dirfd, const char *path) {
    const __wasi_rights_t file_rights =
        __WASI_RIGHTS_FD_DATASYNC | __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_SEEK |
        __WASI_RIGHTS_FD_FDSTAT_SET_FLAGS | __WASI_RIGHTS_FD_SYNC | __WASI_RIGHTS_FD_TELL |
        __WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_ADVISE | __WASI_RIGHTS_FD_ALLOCATE |
        __WASI_RIGHTS_PATH_CREATE_DIRECTORY | __WASI_RIGHTS_PATH_CREATE_FILE |
        __WASI_RIGHTS_PATH_LINK_SOURCE | __WASI_RIGHTS_PATH_LINK_TARGET | __WASI_RIGHTS_PATH_OPEN |
        __WASI_RIGHTS_FD_READDIR | __WASI_RIGHTS_PATH_READLINK | __WASI_RIGHTS_PATH_RENAME_SOURCE |
        __WASI_RIGHTS_PATH_RENAME_TARGET | __WASI_RIGHTS_PATH_FILESTAT_GET |
        __WASI_RIGHTS_PATH_FILESTAT_SET_SIZE | __WASI_RIGHTS_PATH_FILESTAT_SET_TIMES |
        __WASI_RIGHTS_FD_FILESTAT_GET | __WASI_RIGHTS_FD_FILESTAT_SET_SIZE |
        __WASI_RIGHTS_FD_FILESTAT_SET_TIMES | __WASI_RIGHTS_PATH_SYMLINK |
        __WASI_RIGHTS_PATH_REMOVE_DIRECTORY | __WASI_RIGHTS_PATH_UNLINK_FILE |
        __WASI_RIGHTS_POLL_FD_READWRITE;
    const __wasi_rights_t write_rights = __WASI_RIGHTS_FD_DATASYNC | __WASI_RIGHTS_FD_WRITE |
                                         __WASI_RIGHTS_FD_ALLOCATE |
                                         __WASI_RIGHTS_PATH_FILESTAT_SET_SIZE;
    const __wasi_rights_t dir_rights =
        __WASI_RIGHTS_FD_SEEK | __WASI_RIGHTS_FD_FDSTAT_SET_FLAGS | __WASI_RIGHTS_FD_SYNC |
        __WASI_RIGHTS_PATH_CREATE_DIRECTORY | __WASI_RIGHTS_PATH_CREATE_FILE |
        __WASI_RIGHTS_PATH_LINK_SOURCE | __WASI_RIGHTS_PATH_LINK_TARGET | __WASI_RIGHTS_PATH_OPEN |
        __WASI_RIGHTS_FD_READDIR | __WASI_RIGHTS_PATH_READLINK | __WASI_RIGHTS_PATH_RENAME_SOURCE |
        __WASI_RIGHTS_PATH_RENAME_TARGET | __WASI_RIGHTS_PATH_FILESTAT_GET |
        __WASI_RIGHTS_PATH_FILESTAT_SET_SIZE | __WASI_RIGHTS_PATH_FILESTAT_SET_TIMES |
        __WASI_RIGHTS_FD_FILESTAT_GET | __WASI_RIGHTS_FD_FILESTAT_SET_TIMES |
        __WASI_RIGHTS_PATH_SYMLINK | __WASI_RIGHTS_PATH_REMOVE_DIRECTORY |
        __WASI_RIGHTS_PATH_UNLINK_FILE;
    __wasi_rights_t rights = file_rights & ~write_rights;
    __wasi_fd_t fd;
    __wasi_errno_t e = __wasi_path_open(dirfd, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, path, 0, rights,
                                        file_rights, 0, &fd);
    go_first_try = e;
    if (e == __WASI_ERRNO_ISDIR)
        e = __wasi_path_open(dirfd, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, path,
                             __WASI_OFLAGS_DIRECTORY, rights & dir_rights, file_rights, 0, &fd);
    return e != 0 ? -e : fd;
}

/* poll_oneoff on stdin for reading, with a 10 s timeout: "ok" when stdin is reported readable. */
static const char *poll_stdin(void) {
    __wasi_subscription_t in[2];
    memset(in, 0, sizeof in);
    in[0].userdata = 1;
    in[0].u.tag = __WASI_EVENTTYPE_FD_READ;
    in[0].u.u.fd_read.file_descriptor = 0;
    in[1].userdata = 2;
    in[1].u.tag = __WASI_EVENTTYPE_CLOCK;
    in[1].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
    in[1].u.u.clock.timeout = 10ull * 1000 * 1000 * 1000;
    __wasi_event_t out[2];
    __wasi_size_t n;
    __wasi_errno_t e = __wasi_poll_oneoff(in, out, 2, &n);
    if (e != 0)
        return errname(e);
    for (__wasi_size_t i = 0; i < n; i++) {
        if (out[i].userdata == 1)
            return out[i].error == 0 ? "ok" : errname(out[i].error);
    }
    return "timed out";
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fputs("usage: dirs DIR\n", stderr);
        return 2;
    }
    const char *dir = argv[1];
    int pre = preopen_of(dir);
    if (pre < 0) {
        fprintf(stderr, "dirs: no preopen named %s\n", dir);
        return 1;
    }
    char path[512];

    /* fd_renumber onto a closed descriptor. */
    __wasi_fd_t from;
    touch(dir, "file");
    __wasi_errno_t e = __wasi_path_open(pre, 0, in_dir("file"), 0, __WASI_RIGHTS_FD_READ, 0, 0, &from);
    if (e != 0) {
        printf("renumber-to-closed: open %s\n", errname(e));
    } else {
        printf("renumber-to-closed: %s\n", errname(__wasi_fd_renumber(from, 1000)));
        (void)__wasi_fd_close(from);
    }

    /* path_readlink into a buffer shorter than the link's target. */
    snprintf(path, sizeof path, "%s/link", dir);
    unlink(path);
    if (symlink("a-rather-long-target", path) != 0) {
        printf("readlink-short: symlink %s\n", errname(errno));
    } else {
        uint8_t buf[6] = {0};
        __wasi_size_t used = 0;
        e = __wasi_path_readlink(pre, in_dir("link"), buf, 6, &used);
        if (e != 0)
            printf("readlink-short: %s\n", errname(e));
        else
            printf("readlink-short: ok %u %.*s\n", (unsigned)used, (int)used, (const char *)buf);
    }

    /* A directory opened for writing. */
    snprintf(path, sizeof path, "%s/sub", dir);
    mkdir(path, 0755);
    touch(path, "a");
    touch(path, "b");
    touch(path, "c");
    int fd = open(path, O_WRONLY);
    printf("open-dir-for-write: %s\n", fd >= 0 ? "ok" : errname(errno));
    if (fd >= 0)
        close(fd);

    /* The preopen's name into no room at all. */
    uint8_t none[1];
    printf("prestat-name-empty: %s\n", errname(__wasi_fd_prestat_dir_name(pre, none, 0)));

    /* rmdir with a trailing slash. */
    snprintf(path, sizeof path, "%s/gone", dir);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/gone/", dir);
    printf("rmdir-trailing-slash: %s\n", rmdir(path) == 0 ? "ok" : errname(errno));

    /* poll_oneoff on stdin: readable with input waiting, and at end of input. */
    printf("poll-stdin-data: %s\n", poll_stdin());
    char in[4096];
    long total = 0;
    ssize_t r;
    while ((r = read(0, in, sizeof in)) > 0)
        total += r;
    printf("poll-stdin-eof: %s\n", poll_stdin());

    /* A directory listed as Go's os.ReadDir opens it. */
    fd = go_open_dir(pre, in_dir("sub"));
    printf("go-open: %s\n", errname(go_first_try));
    if (fd < 0) {
        printf("go-readdir: open %s\n", errname(-fd));
    } else {
        print_count("go-readdir", count_entries(fd));
        (void)__wasi_fd_close(fd);
    }

    /* And as libc's open(O_RDONLY) does, without O_DIRECTORY. */
    snprintf(path, sizeof path, "%s/sub", dir);
    fd = open(path, O_RDONLY);
    if (fd < 0) {
        printf("libc-readdir: open %s\n", errname(errno));
    } else {
        DIR *d = fdopendir(fd);
        if (!d) {
            printf("libc-readdir: fdopendir %s\n", errname(errno));
            close(fd);
        } else {
            int n = 0;
            struct dirent *ent;
            errno = 0;
            while ((ent = readdir(d)) != NULL) {
                if (strcmp(ent->d_name, ".") != 0 && strcmp(ent->d_name, "..") != 0)
                    n++;
            }
            if (errno != 0)
                printf("libc-readdir: readdir %s\n", errname(errno));
            else
                printf("libc-readdir: ok %d\n", n);
            closedir(d);
        }
    }
    printf("stdin bytes: %ld\n", total);
    return 0;
}
