/*
 * start: containerd's `start`; finds or spawns the namespace's daemon (isolated: the pod's) and
 * prints its socket.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "launcher.h"
#include "pb.h"
#include "util.h"

#define START_TIMEOUT_MS 30000
#define POLL_INTERVAL_NS 2000000L
#define LOG_TAIL_LINES 20
#define LOG_TAIL_BYTES 4096

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

/* Runs in the forked child; never returns.  pod_cg: the cgroup an isolated daemon joins. */
static void exec_daemon(const char *java, char **argv, int log_fd, int isolated, const char *pod_cg)
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
    if (isolated) {
        /* Before the JVM exists: its first thread is already in the pod's cgroup and confined. */
        if (pod_cg && join_pod_cgroup(pod_cg) < 0)
            _exit(125);
        if (!pod_cg)
            dprintf(2, "krill-launcher: the task's spec names no pod cgroup (linux.cgroupsPath); "
                       "the daemon stays in containerd's cgroup\n");
        if (confine_daemon() != 0)
            _exit(125);
    }
    /* Holding containerd's pipes or our lock would hang start callers. */
    close_fds_from(3);
    daemon_env();
    execv(java, argv);
    dprintf(2, "krill-launcher: cannot execute %s: %s\n", java, strerror(errno));
    _exit(127);
}

static void spawn_daemon(const char *home, const struct options *o, const struct daemon_paths *d,
                         const char *bundle)
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
        if (d->pod)
            dprintf(log_fd,
                    "krill-launcher: %s starting daemon for pod %s (namespace %s) with %s\n", when,
                    d->pod, o->namespace, java);
        else
            dprintf(log_fd, "krill-launcher: %s starting daemon for namespace %s with %s\n", when,
                    o->namespace, java);
    }
    off_t log_start = lseek(log_fd, 0, SEEK_END);
    if (log_start < 0)
        log_start = 0;

    if (unlink(d->socket) != 0 && errno != ENOENT)
        start_fail("cannot remove stale socket %s: %s", d->socket, strerror(errno));

    char *pod_cg = d->pod ? pod_cgroup(spec_string(bundle, "cgroupsPath")) : NULL;
    pid_t pid = fork();
    if (pid < 0)
        start_fail("fork: %s", strerror(errno));
    if (pid == 0)
        exec_daemon(java, argv, log_fd, d->pod != NULL, pod_cg);
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
            if (d->pod && WIFEXITED(status) && WEXITSTATUS(status) == 125)
                start_fail("the launcher could not place the pod's daemon in the pod's cgroup or "
                           "confine it, so it never started (see %s; fix what the log says, or run "
                           "the pod with RuntimeClass krill)%s%s",
                           log_path, *tail ? "; last log lines: " : "", tail);
            if (d->pod && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
                start_fail("%s %s before listening on %s (see %s; in the pod's cgroup the JVM "
                           "counts against the pod's memory limit: give the pod room for it, as "
                           "the krill-isolated RuntimeClass's overhead does)%s%s",
                           java, how, d->socket, log_path, *tail ? "; last log lines: " : "", tail);
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

int cmd_start(const struct options *in)
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

    const char *pod = NULL;
    if (isolated_mode) {
        pod = pod_group(bundle, o.id);
        if (!pod)
            start_fail("container %s: neither its io.kubernetes.cri.sandbox-id annotation nor its "
                       "id is a usable pod id (letters, digits, '.', '_', '-'; at most 128); "
                       "check %s/config.json",
                       o.id ? o.id : "(no -id)", bundle);
        start_pod = pod;
    }
    struct daemon_paths d;
    daemon_paths(o.address, o.namespace, pod, &d);
    if (mkdir_p(SOCKET_DIR, 0711) != 0)
        start_fail("cannot create %s: %s", SOCKET_DIR, strerror(errno));
    if (mkdir_p(d.run_dir, 0700) != 0)
        start_fail("cannot create %s: %s (set KRILL_RUN_DIR to a writable directory)", d.run_dir,
                   strerror(errno));

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
        spawn_daemon(home, &o, &d, bundle);

    write_address(bundle, d.socket);
    close(lock_fd);

    char *out = xasprintf("unix://%s", d.socket);
    if (write_all(STDOUT_FILENO, out, strlen(out)) != 0)
        start_fail("cannot write to stdout: %s", strerror(errno));
    return 0;
}
