/*
 * containerd-shim-krill-v1: the native front end of the krill shim.
 *
 * containerd executes the shim binary for every task ("start") and after
 * every task deletion ("delete").  Starting a JVM each time would cost
 * hundreds of milliseconds and a lot of memory, so this launcher keeps one
 * long-lived Java daemon per (containerd address, namespace) and only hands
 * containerd that daemon's socket.  Everything here must stay fast when the
 * daemon is already running and must never leave containerd hanging.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pb.h"
#include "sha256.h"
#include "util.h"

#define SHIM_NAME "containerd-shim-krill-v1"
#define SHIM_VERSION "0.1.0"
#define SHIM_REVISION "krill"
/* containerd's own shims put their sockets here; it is cleaned on reboot. */
#define SOCKET_DIR "/run/containerd/s"
#define DEFAULT_RUN_DIR "/run/krill"
#define DAEMON_CLASS "io.krill.shim.Daemon"
#define START_TIMEOUT_MS 30000
#define POLL_INTERVAL_NS 2000000L
#define DELETE_TIMEOUT_MS 10000
#define MAX_FRAME (4u << 20)
#define LOG_TAIL_LINES 20
#define LOG_TAIL_BYTES 4096

#define TTRPC_REQUEST 1
#define TTRPC_RESPONSE 2
#define GRPC_NOT_FOUND 5
#define KILLED_EXIT_STATUS 137 /* 128 + SIGKILL: what runc reports for a lost task */

struct options {
    const char *namespace;
    const char *address;
    const char *publish_binary;
    const char *id;
    const char *bundle;
    const char *socket;
    const char *ttrpc_address;
    const char *action;
    const char *unknown; /* first flag we did not know; only `daemon` refuses it */
    int debug;
    int dry_run;
    int version;
    int info;
};

/* ------------------------------------------------------------------ */
/* argument parsing (Go flag package conventions)                      */

static const char **value_flag(struct options *o, const char *name, size_t len)
{
#define VF(n, field) \
    if (len == sizeof(n) - 1 && memcmp(name, n, len) == 0) return &o->field
    VF("namespace", namespace);
    VF("address", address);
    VF("publish-binary", publish_binary);
    VF("id", id);
    VF("bundle", bundle);
    VF("socket", socket);
    VF("ttrpc-address", ttrpc_address);
#undef VF
    return NULL;
}

static int *bool_flag(struct options *o, const char *name, size_t len)
{
#define BF(n, field) \
    if (len == sizeof(n) - 1 && memcmp(name, n, len) == 0) return &o->field
    BF("debug", debug);
    BF("v", version);
    BF("info", info);
    BF("dry-run", dry_run);
#undef BF
    return NULL;
}

static int parse_bool(const char *v)
{
    static const char *falses[] = {"0", "f", "F", "false", "FALSE", "False"};
    for (size_t i = 0; i < sizeof falses / sizeof falses[0]; i++)
        if (strcmp(v, falses[i]) == 0)
            return 0;
    return 1;
}

static int is_action(const char *s)
{
    return strcmp(s, "start") == 0 || strcmp(s, "delete") == 0 || strcmp(s, "daemon") == 0;
}

static int parse_args(int argc, char **argv, struct options *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || a[1] == '\0') {
            if (!o->action)
                o->action = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            if (i + 1 < argc && !o->action)
                o->action = argv[i + 1];
            break;
        }
        const char *name = a + 1;
        if (*name == '-')
            name++;
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const char *val = eq ? eq + 1 : NULL;

        const char **vslot = value_flag(o, name, len);
        if (vslot) {
            if (!val) {
                if (i + 1 >= argc) {
                    fprintf(stderr, "krill: flag needs an argument: -%.*s\n", (int)len, name);
                    return -1;
                }
                val = argv[++i];
            }
            *vslot = val;
            continue;
        }
        int *bslot = bool_flag(o, name, len);
        if (bslot) {
            *bslot = val ? parse_bool(val) : 1;
            continue;
        }
        if (!o->unknown)
            o->unknown = a;
        /*
         * Unknown flag from a newer containerd: guess whether it takes a
         * value.  A trailing "start"/"delete" is the action, not a value.
         */
        if (!val && i + 1 < argc && argv[i + 1][0] != '-' &&
            !(is_action(argv[i + 1]) && i + 2 == argc))
            i++;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* daemon identity and install layout                                  */

struct daemon_paths {
    char hex[65];
    char *socket;  /* /run/containerd/s/<hex> */
    char *run_dir; /* ${KRILL_RUN_DIR}/shim/<hex> */
};

static void daemon_paths(const char *address, const char *ns, struct daemon_paths *d)
{
    char *key = xasprintf("%s/%s/krill", address, ns);
    sha256_hex(key, strlen(key), d->hex);
    free(key);
    d->socket = xasprintf("%s/%s", SOCKET_DIR, d->hex);
    const char *base = env_nonempty("KRILL_RUN_DIR");
    d->run_dir = xasprintf("%s/shim/%s", base ? base : DEFAULT_RUN_DIR, d->hex);
}

/* The install is relocatable: KRILL_HOME is the parent of our bin/ dir. */
static char *krill_home(void)
{
    char *exe = realpath("/proc/self/exe", NULL);
    if (!exe)
        return NULL;
    for (int i = 0; i < 2; i++) {
        char *slash = strrchr(exe, '/');
        if (!slash) {
            free(exe);
            return NULL;
        }
        if (slash == exe)
            slash[1] = '\0';
        else
            *slash = '\0';
    }
    return exe;
}

static int is_executable(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

static char *search_path(const char *name)
{
    const char *path = getenv("PATH");
    if (!path)
        return NULL;
    while (*path) {
        const char *colon = strchrnul(path, ':');
        if (colon > path) {
            char *cand = xasprintf("%.*s/%s", (int)(colon - path), path, name);
            if (is_executable(cand))
                return cand;
            free(cand);
        }
        path = *colon ? colon + 1 : colon;
    }
    return NULL;
}

/* Returns the java to run, or NULL with *why describing what was wrong. */
static char *find_java(const char *home, const char **why)
{
    const char *v = env_nonempty("KRILL_JAVA");
    if (v) {
        char *p = strchr(v, '/') ? strdup(v) : search_path(v);
        if (p && is_executable(p))
            return p;
        free(p);
        *why = "KRILL_JAVA does not name an executable file (fix KRILL_JAVA or unset it)";
        return NULL;
    }
    char *p = xasprintf("%s/jre/bin/java", home);
    if (is_executable(p))
        return p;
    free(p);
    if ((v = env_nonempty("JAVA_HOME"))) {
        p = xasprintf("%s/bin/java", v);
        if (is_executable(p))
            return p;
        free(p);
    }
    if ((p = search_path("java")))
        return p;
    *why = "java not found (set KRILL_JAVA or JAVA_HOME, or install a Java 17 runtime)";
    return NULL;
}

/* ------------------------------------------------------------------ */
/* socket probing                                                      */

enum probe { PROBE_ALIVE, PROBE_DEAD, PROBE_BUSY };

static int unix_connect(const char *path, int timeout_ms, int *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) {
        *err = ENAMETOOLONG;
        return -1;
    }
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *err = errno;
        return -1;
    }
    /* Unix-socket connect() blocks on a full backlog and honours SO_SNDTIMEO. */
    struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int r;
    do
        r = connect(fd, (struct sockaddr *)&sa, sizeof sa);
    while (r < 0 && errno == EINTR);
    if (r < 0) {
        *err = errno;
        close(fd);
        return -1;
    }
    return fd;
}

static enum probe probe_socket(const char *path)
{
    int err;
    int fd = unix_connect(path, 2000, &err);
    if (fd >= 0) {
        close(fd);
        return PROBE_ALIVE;
    }
    /*
     * Only "nobody there" counts as dead.  A timeout means a listener with a
     * full backlog, and treating that as dead would unlink a live socket.
     */
    if (err == ENOENT || err == ECONNREFUSED || err == ENOTSOCK || err == ENOTDIR)
        return PROBE_DEAD;
    return PROBE_BUSY;
}

/* ------------------------------------------------------------------ */
/* start                                                               */

static const char *start_ns = "?";

static void start_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void start_fail(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "krill: cannot start the krill daemon for namespace %s: ", start_ns);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

/*
 * The last lines the daemon wrote since `from`, joined into one line so the
 * error containerd shows stays a single readable message.
 */
static char *log_tail(const char *path, off_t from)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return strdup("");
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size <= from) {
        close(fd);
        return strdup("");
    }
    if (st.st_size - from > LOG_TAIL_BYTES)
        from = st.st_size - LOG_TAIL_BYTES;
    size_t want = (size_t)(st.st_size - from);
    char *data = xmalloc(want + 1);
    ssize_t n = pread(fd, data, want, from);
    close(fd);
    if (n <= 0) {
        free(data);
        return strdup("");
    }
    data[n] = '\0';

    char *lines[LOG_TAIL_LINES];
    int count = 0;
    for (char *s = data, *save = NULL, *line; (line = strtok_r(s, "\n", &save)); s = NULL) {
        for (char *c = line; *c; c++)
            if ((unsigned char)*c < 0x20)
                *c = ' ';
        if (strspn(line, " ") == strlen(line))
            continue;
        if (count == LOG_TAIL_LINES) {
            memmove(lines, lines + 1, sizeof lines[0] * (LOG_TAIL_LINES - 1));
            count--;
        }
        lines[count++] = line;
    }
    struct buf out = {0};
    for (int i = 0; i < count; i++) {
        if (i)
            buf_put(&out, " | ", 3);
        buf_put(&out, lines[i], strlen(lines[i]));
    }
    buf_put(&out, "", 1);
    free(data);
    return (char *)out.p;
}

static void close_fds_from(int lowest)
{
#ifdef SYS_close_range
    if (syscall(SYS_close_range, (unsigned)lowest, ~0U, 0) == 0)
        return;
#endif
    long max = sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > 65536)
        max = 65536;
    for (int fd = lowest; fd < max; fd++)
        close(fd);
}

/* Runs in the forked child; never returns. */
static void exec_daemon(const char *java, char **argv, int log_fd)
{
    /* containerd may have left signals ignored/blocked; the JVM needs defaults. */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            signal(sig, SIG_DFL);

    /* Outlive this start process and stay out of containerd's process group. */
    setsid();
    if (chdir("/") != 0)
        _exit(126);
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0)
        _exit(126);
    /* Holding containerd's pipes or our lock would hang start callers. */
    close_fds_from(3);
    unsetenv("JAVA_TOOL_OPTIONS");
    unsetenv("JDK_JAVA_OPTIONS");
    unsetenv("_JAVA_OPTIONS");
    execv(java, argv);
    dprintf(2, "krill-launcher: cannot execute %s: %s\n", java, strerror(errno));
    _exit(127);
}

static char **daemon_argv(const char *java, const char *home, const struct options *o,
                          const struct daemon_paths *d, const char *ttrpc, int foreground)
{
    char *opts = strdup(env_nonempty("KRILL_JAVA_OPTS") ? getenv("KRILL_JAVA_OPTS") : "");
    size_t n = 0, cap = 32 + strlen(opts) / 2;
    char **argv = xmalloc(sizeof(char *) * cap);
    argv[n++] = (char *)java;
    argv[n++] = "-XX:+UseSerialGC";
    argv[n++] = "-XX:TieredStopAtLevel=1";
    argv[n++] = "-XX:+ExitOnOutOfMemoryError";
    argv[n++] = "-Xshare:auto";
    for (char *s = opts, *save = NULL, *w; (w = strtok_r(s, " \t\n", &save)); s = NULL)
        argv[n++] = w;
    argv[n++] = xasprintf("-Djava.library.path=%s/lib/native", home);
    argv[n++] = xasprintf("-Dkrill.home=%s", home);
    argv[n++] = "-cp";
    argv[n++] = xasprintf("%s/lib/*", home);
    argv[n++] = DAEMON_CLASS;
    argv[n++] = "-socket";
    argv[n++] = d->socket;
    argv[n++] = "-namespace";
    argv[n++] = (char *)o->namespace;
    argv[n++] = "-address";
    argv[n++] = (char *)o->address;
    argv[n++] = "-ttrpc-address";
    argv[n++] = (char *)ttrpc;
    argv[n++] = "-publish-binary";
    argv[n++] = (char *)(o->publish_binary ? o->publish_binary : "");
    argv[n++] = "-run-dir";
    argv[n++] = d->run_dir;
    if (o->debug)
        argv[n++] = "-debug";
    if (foreground) {
        argv[n++] = "-foreground";
        argv[n++] = "-idle-timeout";
        argv[n++] = "0";
    }
    argv[n] = NULL;
    return argv;
}

static void spawn_daemon(const char *home, const struct options *o, const struct daemon_paths *d)
{
    const char *why = NULL;
    char *java = find_java(home, &why);
    if (!java)
        start_fail("%s", why);

    const char *ttrpc = env_nonempty("TTRPC_ADDRESS");
    /* containerd's convention when it did not tell us: grpc address + ".ttrpc". */
    char *ttrpc_owned = ttrpc ? NULL : xasprintf("%s.ttrpc", o->address);
    char **argv = daemon_argv(java, home, o, d, ttrpc ? ttrpc : ttrpc_owned, 0);

    char *log_path = xasprintf("%s/daemon.log", d->run_dir);
    int log_fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (log_fd < 0)
        start_fail("cannot open %s: %s", log_path, strerror(errno));
    {
        /* A marker makes it obvious in the log where each daemon's life began. */
        char when[64] = "";
        time_t now = time(NULL);
        struct tm tm;
        if (gmtime_r(&now, &tm))
            strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        dprintf(log_fd, "krill-launcher: %s starting daemon for namespace %s with %s\n", when,
                o->namespace, java);
    }
    off_t log_start = lseek(log_fd, 0, SEEK_END);
    if (log_start < 0)
        log_start = 0;

    if (unlink(d->socket) != 0 && errno != ENOENT)
        start_fail("cannot remove stale socket %s: %s", d->socket, strerror(errno));

    pid_t pid = fork();
    if (pid < 0)
        start_fail("fork: %s", strerror(errno));
    if (pid == 0)
        exec_daemon(java, argv, log_fd);
    close(log_fd);

    int64_t deadline = mono_ms() + START_TIMEOUT_MS;
    for (;;) {
        if (probe_socket(d->socket) != PROBE_DEAD)
            return;
        int status;
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid) {
            char how[64];
            if (WIFEXITED(status))
                snprintf(how, sizeof how, "exited with status %d", WEXITSTATUS(status));
            else
                snprintf(how, sizeof how, "was killed by signal %d", WTERMSIG(status));
            char *tail = log_tail(log_path, log_start);
            start_fail("%s %s before listening on %s (see %s; check the Java runtime and "
                       "KRILL_JAVA_OPTS)%s%s",
                       java, how, d->socket, log_path, *tail ? "; last log lines: " : "", tail);
        }
        if (mono_ms() > deadline) {
            /* A half-started JVM would race the next start for the socket. */
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            char *tail = log_tail(log_path, log_start);
            start_fail("%s did not listen on %s within %d s and was killed (see %s)%s%s", java,
                       d->socket, START_TIMEOUT_MS / 1000, log_path,
                       *tail ? "; last log lines: " : "", tail);
        }
        struct timespec ts = {0, POLL_INTERVAL_NS};
        nanosleep(&ts, NULL);
    }
}

static void write_address(const char *bundle, const char *socket)
{
    char *tmp = xasprintf("%s/.address.%d", bundle, (int)getpid());
    char *dst = xasprintf("%s/address", bundle);
    char *content = xasprintf("unix://%s", socket);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        start_fail("cannot write %s: %s", tmp, strerror(errno));
    if (write_all(fd, content, strlen(content)) != 0 || close(fd) != 0) {
        int e = errno;
        unlink(tmp);
        start_fail("cannot write %s: %s", tmp, strerror(e));
    }
    if (rename(tmp, dst) != 0) {
        int e = errno;
        unlink(tmp);
        start_fail("cannot create %s: %s", dst, strerror(e));
    }
    free(tmp);
    free(dst);
    free(content);
}

static int cmd_start(const struct options *in)
{
    struct options o = *in;
    drain_stdin();
    if (!o.namespace)
        o.namespace = env_nonempty("NAMESPACE");
    if (o.namespace)
        start_ns = o.namespace;
    if (!o.address)
        o.address = env_nonempty("GRPC_ADDRESS");
    if (!o.namespace || !*o.namespace)
        start_fail("no -namespace given (this program is meant to be run by containerd)");
    if (!o.address || !*o.address)
        start_fail("no -address given (this program is meant to be run by containerd)");

    char *home = krill_home();
    if (!home)
        start_fail("cannot resolve /proc/self/exe: %s", strerror(errno));

    char *cwd = NULL;
    const char *bundle = o.bundle;
    if (!bundle) {
        cwd = getcwd(NULL, 0);
        if (!cwd)
            start_fail("cannot determine the bundle directory (cwd): %s", strerror(errno));
        bundle = cwd;
    }

    struct daemon_paths d;
    daemon_paths(o.address, o.namespace, &d);
    if (mkdir_p(SOCKET_DIR, 0711) != 0)
        start_fail("cannot create %s: %s", SOCKET_DIR, strerror(errno));
    if (mkdir_p(d.run_dir, 0700) != 0)
        start_fail("cannot create %s: %s (set KRILL_RUN_DIR to a writable directory)",
                   d.run_dir, strerror(errno));

    /* Many tasks start at once; exactly one of them may spawn the daemon. A POSIX record lock,
     * not flock(2): the daemon takes the same lock (Java's FileLock is fcntl-based) before it
     * leaves on idle, so it never exits under a start that has just found it alive. */
    char *lock_path = xasprintf("%s/lock", d.run_dir);
    int lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd < 0)
        start_fail("cannot open %s: %s", lock_path, strerror(errno));
    struct flock whole = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    while (fcntl(lock_fd, F_SETLKW, &whole) != 0) {
        if (errno != EINTR)
            start_fail("cannot lock %s: %s", lock_path, strerror(errno));
    }

    if (probe_socket(d.socket) == PROBE_DEAD)
        spawn_daemon(home, &o, &d);

    write_address(bundle, d.socket);
    close(lock_fd);

    char *out = xasprintf("unix://%s", d.socket);
    if (write_all(STDOUT_FILENO, out, strlen(out)) != 0)
        start_fail("cannot write to stdout: %s", strerror(errno));
    return 0;
}

/* ------------------------------------------------------------------ */
/* daemon: the same daemon, in the foreground, for a service manager     */

/*
 * `krill daemon` (the systemd unit's ExecStart) becomes the daemon a `start` would spawn for this
 * address and namespace, same socket, run dir and java command line, so `start` finds it alive and
 * never spawns another.  It execs in place, so the pid systemd started is the daemon.  The daemon
 * itself claims the socket under the run dir's lock (-foreground): a daemon this launcher spawned
 * may be holding it, and only the JVM knows when it is listening.
 */
#define DAEMON_USAGE "usage: krill daemon [--namespace k8s.io] [--address /run/containerd/containerd.sock] " \
                     "[--ttrpc-address ADDR.ttrpc] [--debug] [--dry-run]"

static int cmd_daemon(const struct options *in)
{
    struct options o = *in;
    if (o.unknown && (strcmp(o.unknown, "-h") == 0 || strcmp(o.unknown, "--help") == 0)) {
        puts(DAEMON_USAGE);
        return 0;
    }
    if (o.unknown) {
        fprintf(stderr, "krill daemon: unknown option %s\n", o.unknown);
        goto usage;
    }
    if (!o.namespace)
        o.namespace = "k8s.io";
    if (!o.address)
        o.address = "/run/containerd/containerd.sock";
    if (!*o.namespace || !*o.address) {
        fputs("krill daemon: --namespace and --address must not be empty\n", stderr);
        goto usage;
    }
    start_ns = o.namespace;
    char *home = krill_home();
    if (!home)
        start_fail("cannot resolve /proc/self/exe: %s", strerror(errno));
    const char *why = NULL;
    char *java = find_java(home, &why);
    if (!java)
        start_fail("%s", why);
    const char *ttrpc = o.ttrpc_address ? o.ttrpc_address : env_nonempty("TTRPC_ADDRESS");
    char *ttrpc_owned = ttrpc ? NULL : xasprintf("%s.ttrpc", o.address);
    struct daemon_paths d;
    daemon_paths(o.address, o.namespace, &d);
    char **argv = daemon_argv(java, home, &o, &d, ttrpc ? ttrpc : ttrpc_owned, 1);
    if (o.dry_run) {
        printf("socket %s\nrun dir %s\nexec", d.socket, d.run_dir);
        for (char **a = argv; *a; a++)
            printf(" %s", *a);
        putchar('\n');
        return fflush(stdout) == 0 ? 0 : 1;
    }
    if (mkdir_p(SOCKET_DIR, 0711) != 0)
        start_fail("cannot create %s: %s", SOCKET_DIR, strerror(errno));
    if (mkdir_p(d.run_dir, 0700) != 0)
        start_fail("cannot create %s: %s (set KRILL_RUN_DIR to a writable directory)",
                   d.run_dir, strerror(errno));
    unsetenv("JAVA_TOOL_OPTIONS");
    unsetenv("JDK_JAVA_OPTIONS");
    unsetenv("_JAVA_OPTIONS");
    execv(java, argv);
    start_fail("cannot execute %s: %s", java, strerror(errno));

usage:
    fprintf(stderr, "%s\n", DAEMON_USAGE);
    return 2;
}

/* ------------------------------------------------------------------ */
/* delete                                                              */

static int read_full(int fd, void *buf, size_t len, int64_t deadline, const char **why)
{
    uint8_t *p = buf;
    while (len > 0) {
        int64_t left = deadline - mono_ms();
        if (left <= 0) {
            *why = "timed out";
            return -1;
        }
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int r = poll(&pfd, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            *why = r == 0 ? "timed out" : strerror(errno);
            return -1;
        }
        ssize_t n = read(fd, p, len);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            *why = strerror(errno);
            return -1;
        }
        if (n == 0) {
            *why = "connection closed by the daemon";
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

enum cleanup_result { CLEANUP_OK, CLEANUP_UNREACHABLE, CLEANUP_NOT_FOUND, CLEANUP_FAILED };

/*
 * Asks the daemon for the task's exit via one ttrpc Cleanup call.  On
 * CLEANUP_OK, *payload holds the serialized DeleteResponse.
 */
static enum cleanup_result daemon_cleanup(const char *socket, const char *id, struct buf *payload,
                                          char *why, size_t why_len)
{
    int64_t deadline = mono_ms() + DELETE_TIMEOUT_MS;
    int err;
    int fd = unix_connect(socket, DELETE_TIMEOUT_MS, &err);
    if (fd < 0) {
        snprintf(why, why_len, "connect %s: %s", socket, strerror(err));
        return (err == ENOENT || err == ECONNREFUSED) ? CLEANUP_UNREACHABLE : CLEANUP_FAILED;
    }
    struct timeval tv = {.tv_sec = DELETE_TIMEOUT_MS / 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

    struct buf req = {0}, frame = {0};
    pb_string(&req, 1, id ? id : ""); /* DeleteRequest.id */
    struct buf msg = {0};
    pb_string(&msg, 1, "krill.shim.v1.Shim");
    pb_string(&msg, 2, "Cleanup");
    pb_bytes(&msg, 3, req.p ? req.p : (const uint8_t *)"", req.len);
    uint8_t hdr[10];
    put_be32(hdr, (uint32_t)msg.len);
    put_be32(hdr + 4, 1);
    hdr[8] = TTRPC_REQUEST;
    hdr[9] = 0;
    buf_put(&frame, hdr, sizeof hdr);
    buf_put(&frame, msg.p, msg.len);
    free(req.p);
    free(msg.p);
    if (write_all(fd, frame.p, frame.len) != 0) {
        snprintf(why, why_len, "send to %s: %s", socket, strerror(errno));
        free(frame.p);
        close(fd);
        return CLEANUP_FAILED;
    }
    free(frame.p);

    const char *rwhy = NULL;
    uint8_t *body = NULL;
    uint32_t len = 0;
    for (int frames = 0;; frames++) {
        if (frames == 16) {
            snprintf(why, why_len, "no response from %s", socket);
            close(fd);
            return CLEANUP_FAILED;
        }
        if (read_full(fd, hdr, sizeof hdr, deadline, &rwhy) != 0)
            goto read_error;
        len = get_be32(hdr);
        if (len > MAX_FRAME) {
            snprintf(why, why_len, "oversized frame (%" PRIu32 " bytes) from %s", len, socket);
            close(fd);
            return CLEANUP_FAILED;
        }
        free(body);
        body = xmalloc(len);
        if (read_full(fd, body, len, deadline, &rwhy) != 0)
            goto read_error;
        if (get_be32(hdr + 4) == 1 && hdr[8] == TTRPC_RESPONSE)
            break;
    }
    close(fd);

    int64_t code = 0;
    const char *message = "";
    size_t message_len = 0;
    const uint8_t *data = NULL;
    size_t data_len = 0;
    struct pb_reader r = {body, body + len};
    unsigned field, wire;
    uint64_t v;
    const uint8_t *p;
    size_t n;
    int rc;
    while ((rc = pb_next(&r, &field, &wire, &v, &p, &n)) == 1) {
        if (field == 1 && wire == 2) {
            struct pb_reader s = {p, p + n};
            int src;
            while ((src = pb_next(&s, &field, &wire, &v, &p, &n)) == 1) {
                if (field == 1 && wire == 0)
                    code = (int32_t)(uint32_t)v;
                else if (field == 2 && wire == 2) {
                    message = (const char *)p;
                    message_len = n;
                }
            }
            if (src < 0)
                rc = -1;
        } else if (field == 2 && wire == 2) {
            data = p;
            data_len = n;
        }
        if (rc < 0)
            break;
    }
    if (rc < 0) {
        snprintf(why, why_len, "malformed ttrpc response from %s", socket);
        free(body);
        return CLEANUP_FAILED;
    }
    if (code != 0) {
        snprintf(why, why_len, "daemon answered code %" PRId64 ": %.*s", code,
                 (int)(message_len > 200 ? 200 : message_len), message);
        free(body);
        return code == GRPC_NOT_FOUND ? CLEANUP_NOT_FOUND : CLEANUP_FAILED;
    }
    if (data_len)
        buf_put(payload, data, data_len);
    free(body);
    return CLEANUP_OK;

read_error:
    snprintf(why, why_len, "reading the response from %s: %s", socket, rwhy);
    free(body);
    close(fd);
    return CLEANUP_FAILED;
}

struct task_exit {
    uint32_t pid;
    uint32_t exit_status;
    int64_t seconds;
    int32_t nanos;
};

static int parse_u32(const char *s, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || v > UINT32_MAX || *s == '-')
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static int parse_timestamp(const char *s, int64_t *sec, int32_t *nanos)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s)
        return -1;
    int32_t ns = 0;
    if (*end == '.') {
        int digits = 0;
        for (end++; *end >= '0' && *end <= '9'; end++) {
            if (digits < 9) {
                ns = ns * 10 + (*end - '0');
                digits++;
            }
        }
        for (; digits < 9; digits++)
            ns *= 10;
    }
    if (*end)
        return -1;
    *sec = v;
    *nanos = ns;
    return 0;
}

/*
 * The daemon records each task's state in the bundle so delete can answer
 * even when the daemon is gone (crashed, killed, idle-exited).
 */
static void exit_from_state(const char *bundle, struct task_exit *e)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    uint32_t pid = 0, exit_status = 0;
    int64_t sec = 0;
    int32_t nanos = 0;
    int stopped = 0, have_status = 0, have_time = 0;

    char *path = xasprintf("%s/krill.state", bundle);
    FILE *f = fopen(path, "re");
    free(path);
    if (f) {
        char line[512];
        while (fgets(line, sizeof line, f)) {
            line[strcspn(line, "\r\n")] = '\0';
            char *eq = strchr(line, '=');
            if (!eq)
                continue;
            *eq = '\0';
            const char *key = line, *val = eq + 1;
            if (strcmp(key, "pid") == 0)
                parse_u32(val, &pid);
            else if (strcmp(key, "status") == 0)
                stopped = strcmp(val, "stopped") == 0;
            else if (strcmp(key, "exit_status") == 0)
                have_status = parse_u32(val, &exit_status) == 0;
            else if (strcmp(key, "exited_at") == 0)
                have_time = parse_timestamp(val, &sec, &nanos) == 0;
        }
        fclose(f);
    }
    e->pid = pid;
    if (stopped) {
        e->exit_status = have_status ? exit_status : KILLED_EXIT_STATUS;
        e->seconds = have_time ? sec : now.tv_sec;
        e->nanos = have_time ? nanos : (int32_t)now.tv_nsec;
    } else {
        /* Never saw it exit: report it as killed, like runc does for lost tasks. */
        e->exit_status = KILLED_EXIT_STATUS;
        e->seconds = now.tv_sec;
        e->nanos = (int32_t)now.tv_nsec;
    }
}

static void encode_delete_response(const struct task_exit *e, struct buf *out)
{
    struct buf ts = {0};
    pb_uint(&ts, 1, (uint64_t)e->seconds);
    pb_uint(&ts, 2, (uint64_t)(int64_t)e->nanos);
    pb_uint(out, 1, e->pid);
    pb_uint(out, 2, e->exit_status);
    pb_bytes(out, 3, ts.p ? ts.p : (const uint8_t *)"", ts.len);
    free(ts.p);
}

static void cleanup_bundle(const char *bundle)
{
    char *rootfs = xasprintf("%s/rootfs", bundle);
    if (umount2(rootfs, MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
        fprintf(stderr, "krill: warning: unmount %s: %s\n", rootfs, strerror(errno));
    free(rootfs);
    char *state = xasprintf("%s/krill.state", bundle);
    if (unlink(state) != 0 && errno != ENOENT)
        fprintf(stderr, "krill: warning: remove %s: %s\n", state, strerror(errno));
    free(state);
}

static int cmd_delete(const struct options *o)
{
    const char *bundle = o->bundle ? o->bundle : ".";
    const char *ns = o->namespace ? o->namespace : env_nonempty("NAMESPACE");
    const char *address = o->address ? o->address : env_nonempty("GRPC_ADDRESS");
    struct buf out = {0};
    enum cleanup_result res = CLEANUP_UNREACHABLE;

    if (ns && *ns && address && *address) {
        struct daemon_paths d;
        char why[512];
        daemon_paths(address, ns, &d);
        res = daemon_cleanup(d.socket, o->id, &out, why, sizeof why);
        if (res == CLEANUP_FAILED)
            fprintf(stderr, "krill: warning: daemon cleanup failed, using %s/krill.state: %s\n",
                    bundle, why);
    }
    if (res != CLEANUP_OK) {
        struct task_exit e;
        out.len = 0;
        exit_from_state(bundle, &e);
        encode_delete_response(&e, &out);
    }
    int rc = 0;
    if (out.len && write_all(STDOUT_FILENO, out.p, out.len) != 0) {
        fprintf(stderr, "krill: delete: cannot write the response to stdout: %s\n", strerror(errno));
        rc = 1;
    }
    free(out.p);
    cleanup_bundle(bundle);
    return rc;
}

/* ------------------------------------------------------------------ */

/* containerd 2.x asks shims for RuntimeInfo{name, version{version, revision}}. */
static int cmd_info(void)
{
    struct buf ver = {0}, out = {0};
    drain_stdin();
    pb_string(&ver, 1, SHIM_VERSION);
    pb_string(&ver, 2, SHIM_REVISION);
    pb_string(&out, 1, "io.containerd.krill.v1");
    pb_bytes(&out, 2, ver.p, ver.len);
    int rc = write_all(STDOUT_FILENO, out.p, out.len) == 0 ? 0 : 1;
    free(ver.p);
    free(out.p);
    return rc;
}

/*
 * "pause NETNS HOSTNAME": the stand-in for a Kubernetes pod sandbox that the daemon starts.  It
 * joins the pod's network namespace, takes UTS and IPC namespaces of its own, and waits until the
 * daemon (its stdin pipe) goes away or it is signalled.  Its pid is what containerd's CRI uses to
 * name the pod's namespaces (/proc/<pid>/ns/...) in every container of the pod.
 */
static int cmd_pause(int argc, char **argv)
{
    const char *netns = argc > 0 ? argv[0] : "";
    const char *hostname = argc > 1 ? argv[1] : "";
    if (*netns) {
        int fd = open(netns, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) {
            fprintf(stderr, "krill: pod sandbox: cannot join network namespace %s: %s\n", netns, strerror(errno));
            return 1;
        }
        close(fd);
    }
    if (unshare(CLONE_NEWUTS | CLONE_NEWIPC) != 0) {
        fprintf(stderr, "krill: pod sandbox: cannot create UTS/IPC namespaces: %s\n", strerror(errno));
        return 1;
    }
    if (*hostname && sethostname(hostname, strlen(hostname)) != 0) {
        fprintf(stderr, "krill: pod sandbox: cannot set hostname %s: %s\n", hostname, strerror(errno));
        return 1;
    }
    char buf[64];
    for (;;) {
        ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
        if (n == 0 || (n < 0 && errno != EINTR))
            return 0;
    }
}

int main(int argc, char **argv)
{
    struct options o = {0};
    ensure_stdio();
    if (argc >= 2 && strcmp(argv[1], "pause") == 0)
        return cmd_pause(argc - 2, argv + 2);
    /* A vanished reader must turn into an error we report, not a silent death. */
    signal(SIGPIPE, SIG_IGN);

    if (parse_args(argc, argv, &o) != 0)
        return 1;
    if (o.version) {
        fputs(SHIM_NAME ":\n  Version: " SHIM_VERSION "\n  Revision: " SHIM_REVISION
                        "\n  Go version: none (native launcher)\n",
              stdout);
        return fflush(stdout) == 0 ? 0 : 1;
    }
    if (o.info)
        return cmd_info();
    if (!o.action) {
        fprintf(stderr, "krill: usage: %s -namespace NS -address ADDR -publish-binary BIN "
                        "-id ID [-bundle DIR] [-debug] start|delete\n"
                        "       %s daemon [--namespace NS] [--address ADDR] (see krill daemon)\n",
                SHIM_NAME, SHIM_NAME);
        return 1;
    }
    if (strcmp(o.action, "start") == 0)
        return cmd_start(&o);
    if (strcmp(o.action, "delete") == 0)
        return cmd_delete(&o);
    if (strcmp(o.action, "daemon") == 0)
        return cmd_daemon(&o);
    fprintf(stderr, "krill: unknown action \"%s\" (expected start, delete or daemon)\n", o.action);
    return 1;
}
