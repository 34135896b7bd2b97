/* What start and daemon share: daemon identity, install layout, java command line, probes. */
#define _GNU_SOURCE

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "launcher.h"
#include "pb.h"
#include "sha256.h"
#include "util.h"

#define DEFAULT_RUN_DIR "/run/krill"
#define DAEMON_CLASS "io.krill.shim.Daemon"
#define DAEMON_MAX_HEAP "256m"

/* ------------------------------------------------------------------ */
/* daemon identity, install layout and java command line               */

void daemon_paths(const char *address, const char *ns, const char *pod, struct daemon_paths *d)
{
    char *key = pod ? xasprintf("%s/%s/krill-isolated/%s", address, ns, pod)
                    : xasprintf("%s/%s/krill", address, ns);
    sha256_hex(key, strlen(key), d->hex);
    free(key);
    d->pod = pod;
    d->socket = xasprintf("%s/%s", SOCKET_DIR, d->hex);
    const char *base = env_nonempty("KRILL_RUN_DIR");
    d->run_dir = xasprintf("%s/shim/%s", base ? base : DEFAULT_RUN_DIR, d->hex);
}

char *krill_home(void)
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

char *find_java(const char *home, const char **why)
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

static int is_jar(const struct dirent *e)
{
    size_t n = strlen(e->d_name);
    return n > 4 && strcmp(e->d_name + n - 4, ".jar") == 0;
}

static int byte_order(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

/*
 * The jars of <home>/lib in byte order, as scripts/dist.sh lists them for the ahead-of-time cache's
 * training run: a cache serves only the class path it was made with, and java's own expansion of
 * lib/ * follows the directory's order, which differs from one filesystem to the next.
 */
static char *class_path(const char *home)
{
    char *lib = xasprintf("%s/lib", home);
    struct dirent **names;
    int n = scandir(lib, &names, is_jar, byte_order);
    if (n <= 0) {
        free(lib);
        return xasprintf("%s/lib/*", home);
    }
    struct buf cp = {0};
    for (int i = 0; i < n; i++) {
        if (i)
            buf_put(&cp, ":", 1);
        buf_put(&cp, lib, strlen(lib));
        buf_put(&cp, "/", 1);
        buf_put(&cp, names[i]->d_name, strlen(names[i]->d_name));
        free(names[i]);
    }
    buf_put(&cp, "", 1);
    free(names);
    free(lib);
    return (char *)cp.p;
}

/*
 * The daemon's ahead-of-time cache, if the release has one (scripts/dist.sh), and only for the
 * bundled java that wrote it: another JVM would refuse it anyway.
 */
static char *aot_cache(const char *java, const char *home)
{
    char *bundled = xasprintf("%s/jre/bin/java", home);
    char *cache = xasprintf("%s/lib/daemon.aot", home);
    struct stat st;
    int usable = strcmp(java, bundled) == 0 && stat(cache, &st) == 0 && S_ISREG(st.st_mode);
    free(bundled);
    if (usable)
        return cache;
    free(cache);
    return NULL;
}

/*
 * What the daemon must not inherit from containerd's environment: Java options meant for other
 * JVMs, and Rust's backtrace capture for error values. RUST_BACKTRACE=1 alone turns the latter on,
 * and then every trap of a guest (a kill among them) unwinds its thread's stack through
 * libgcc's frame registry, which holds every compiled module and host-call trampoline of every
 * running guest and is searched under one process-wide lock: with a thousand guests, killing
 * them took seconds each. Panics still print their backtrace; RUST_LIB_BACKTRACE set by the
 * caller is kept.
 */
void daemon_env(void)
{
    unsetenv("JAVA_TOOL_OPTIONS");
    unsetenv("JDK_JAVA_OPTIONS");
    unsetenv("_JAVA_OPTIONS");
    setenv("RUST_LIB_BACKTRACE", "0", 0);
}

char **daemon_argv(const char *java, const char *home, const struct options *o,
                   const struct daemon_paths *d, const char *ttrpc, int foreground)
{
    char *opts = strdup(env_nonempty("KRILL_JAVA_OPTS") ? getenv("KRILL_JAVA_OPTS") : "");
    size_t n = 0, cap = 32 + strlen(opts) / 2;
    char **argv = xmalloc(sizeof(char *) * cap);
    argv[n++] = (char *)java;
    argv[n++] = "-XX:+UseSerialGC";
    /* Full tiered compilation: a WAGI container's requests and a listening guest's loop are hot
     * Java (Chicory's generated classes, krill's WASI) that C2 runs in about two thirds of C1's
     * CPU. A guest's big functions are big methods: HotSpot leaves methods over 8,000 bytes of
     * bytecode to the interpreter unless told otherwise, and a C program's printf is one of those.
     */
    argv[n++] = "-XX:-DontCompileHugeMethods";
    argv[n++] = "-XX:+ExitOnOutOfMemoryError";
    /* The release's AOT cache (classes loaded and linked by a training run), else the runtime's
     * class data sharing archive if it has one. The cache's flag replaces -Xshare, which a JDK 25
     * refuses beside it. */
    char *aot = aot_cache(java, home);
    argv[n++] = aot ? xasprintf("-XX:AOTCache=%s", aot) : "-Xshare:auto";
    /* A JVM crash report belongs with the daemon's log, not in its cwd (/). */
    argv[n++] = xasprintf("-XX:ErrorFile=%s/hs_err_pid%%p.log", d->run_dir);
    /* Guests' linear memory lives outside the heap; the daemon's memory budget is what is left of
     * its limit after this heap and the JVM's off-heap allowance. KRILL_JAVA_OPTS come after, so
     * an -Xmx there wins. */
    argv[n++] = "-Xmx" DAEMON_MAX_HEAP;
#if defined(__x86_64__)
    /* Every guest keeps its thread for its life, and HotSpot touches the stack shadow zone below
     * the deepest frame of each (a sleeping guest waits in a JNI upcall): 10 pages instead of 20
     * is 20 KiB less resident memory per sleeping guest. The cost: Java code may come within
     * 40 KiB of a stack's end (not 80) before its StackOverflowError, and native code it calls
     * there has that much room; guests' Java frames are shallow on their 8 MiB stacks. The least
     * x86-64 allows; other architectures keep their default. */
    argv[n++] = "-XX:StackShadowPages=10";
#endif
    for (char *s = opts, *save = NULL, *w; (w = strtok_r(s, " \t\n", &save)); s = NULL)
        argv[n++] = w;
    argv[n++] = xasprintf("-Djava.library.path=%s/lib/native", home);
    argv[n++] = xasprintf("-Dkrill.home=%s", home);
    argv[n++] = "-cp";
    argv[n++] = class_path(home);
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
    if (d->pod) {
        argv[n++] = "-isolated";
        argv[n++] = (char *)d->pod;
    }
    if (foreground) {
        argv[n++] = "-foreground";
        argv[n++] = "-idle-timeout";
        argv[n++] = "0";
    }
    argv[n] = NULL;
    return argv;
}

/* ------------------------------------------------------------------ */
/* socket probing                                                      */

int unix_connect(const char *path, int timeout_ms, int *err)
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

enum probe probe_socket(const char *path)
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

const char *start_ns = "?";
const char *start_pod = NULL;
int isolated_mode = 0;

void start_fail(const char *fmt, ...)
{
    va_list ap;
    if (start_pod)
        fprintf(stderr,
                "krill: cannot start the krill daemon for pod %s (namespace %s): ", start_pod,
                start_ns);
    else
        fprintf(stderr, "krill: cannot start the krill daemon for namespace %s: ", start_ns);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}
