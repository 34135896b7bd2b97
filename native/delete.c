/* delete: containerd's `delete`, answered by the daemon, else from the bundle's state file. */
#define _GNU_SOURCE

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "launcher.h"
#include "pb.h"
#include "util.h"

#define DELETE_TIMEOUT_MS 10000
#define MAX_FRAME (4u << 20)
#define TTRPC_REQUEST 1
#define TTRPC_RESPONSE 2
#define GRPC_NOT_FOUND 5
#define CGROUP_V1_MAGIC 0x27e0eb /* statfs f_type of a cgroup v1 hierarchy */
#define KILLED_EXIT_STATUS 137   /* 128 + SIGKILL: what runc reports for a lost task */

/* Set when the daemon's end went away mid-call (EOF, reset): a daemon dying as it is called. */
static int connection_lost;

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
            connection_lost = errno == ECONNRESET;
            *why = strerror(errno);
            return -1;
        }
        if (n == 0) {
            connection_lost = 1;
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

enum cleanup_result {
    CLEANUP_OK,
    CLEANUP_UNREACHABLE,
    CLEANUP_NOT_FOUND,
    CLEANUP_FAILED,
    CLEANUP_LOST /* accepted, then closed or reset before an answer */
};

/*
 * A SIGKILLed daemon's listening socket can still accept for a moment while the kernel closes
 * its descriptors, and containerd runs delete as soon as its own connection drops, so a
 * connection lost before any answer is tried again until the socket refuses (the daemon is gone)
 * or a daemon answers.
 */
#define LOST_RETRY_MS 50
#define LOST_RETRIES 40

/*
 * Asks the daemon for the task's exit via one ttrpc Cleanup call.  On
 * CLEANUP_OK, *payload holds the serialized DeleteResponse.
 */
static enum cleanup_result daemon_cleanup(const char *socket, const char *id, struct buf *payload,
                                          char *why, size_t why_len)
{
    int64_t deadline = mono_ms() + DELETE_TIMEOUT_MS;
    int err;
    connection_lost = 0;
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
        int lost = errno == EPIPE || errno == ECONNRESET;
        snprintf(why, why_len, "send to %s: %s", socket, strerror(errno));
        free(frame.p);
        close(fd);
        return lost ? CLEANUP_LOST : CLEANUP_FAILED;
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
    return connection_lost ? CLEANUP_LOST : CLEANUP_FAILED;
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

/*
 * A pod's daemon that died (killed, crashed) is never replaced, so nothing else would detach the
 * private copies of the task's bind mounts it made under <run dir>/mounts/<id>, nor remove its
 * socket once the pod's sandbox, its last task, goes.  Its daemon.log and any hs_err file stay in
 * the run dir for a post-mortem.
 */
static void cleanup_dead_pod_daemon(const struct daemon_paths *d, const char *id)
{
    char *dir = xasprintf("%s/mounts/%s", d->run_dir, id ? id : "");
    DIR *dp = id && *id && !strchr(id, '/') ? opendir(dir) : NULL;
    if (dp) {
        struct dirent *e;
        while ((e = readdir(dp))) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char *copy = xasprintf("%s/%s", dir, e->d_name);
            while (umount2(copy, MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
                ;
            if (rmdir(copy) != 0 && errno == ENOTDIR)
                unlink(copy);
            free(copy);
        }
        closedir(dp);
        rmdir(dir);
    }
    free(dir);
    if (id && d->pod && strcmp(id, d->pod) == 0 && probe_socket(d->socket) == PROBE_DEAD)
        unlink(d->socket);
}

/* How long one delete waits in all for a dead daemon's threads to leave the task's cgroups. */
#define CGROUP_EMPTY_WAIT_MS 3000
#define CGROUP_EMPTY_POLL_MS 20

/*
 * rmdir of a cgroup directory, waiting while the kernel refuses it as in use (EBUSY), for at most
 * *budget_ms, which it spends.  containerd runs delete as soon as it sees a killed daemon's
 * connection close, and that can come before each of the daemon's guest threads has finished
 * exiting and left its task's cgroup.
 */
static int rmdir_when_empty(const char *dir, int *budget_ms)
{
    while (rmdir(dir) != 0) {
        if (errno != EBUSY || *budget_ms <= 0)
            return -1;
        struct timespec ts = {.tv_nsec = CGROUP_EMPTY_POLL_MS * 1000000L};
        nanosleep(&ts, NULL);
        *budget_ms -= CGROUP_EMPTY_POLL_MS;
    }
    return 0;
}

/*
 * The task's own cgroup directories that its dead daemon recorded in <run dir>/cgroups (the
 * daemon's CgroupRecord: one path a line, every directory a creation made), those whose last
 * component is the task's id and that are on a cgroup v1 hierarchy: its guests died with the
 * daemon, so they are empty or soon are (rmdir_when_empty waits a while for that: the kernel
 * refuses one still in use).  Parents such as containerd's /<namespace> stay for the namespace's
 * next daemon, which also drops from the record what is gone.
 */
static void remove_dead_task_cgroups(const struct daemon_paths *d, const char *id)
{
    if (!id || !*id || strchr(id, '/') || strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
        return;
    char *record = xasprintf("%s/cgroups", d->run_dir);
    FILE *f = fopen(record, "re");
    free(record);
    if (!f)
        return;
    size_t idlen = strlen(id);
    int budget_ms = CGROUP_EMPTY_WAIT_MS;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        if (line[n - 1] == '\n')
            line[--n] = '\0';
        if (line[0] != '/' || strstr(line, "/../") || (size_t)n <= idlen + 1 ||
            strcmp(line + n - idlen, id) != 0 || line[n - idlen - 1] != '/')
            continue;
        struct statfs fs;
        if (statfs(line, &fs) != 0 || fs.f_type != CGROUP_V1_MAGIC)
            continue;
        if (rmdir_when_empty(line, &budget_ms) != 0 && errno != ENOENT)
            fprintf(stderr,
                    "krill: warning: container %s: cannot remove its cgroup %s: %s; remove it with "
                    "rmdir"
                    " once no thread is in it\n",
                    id, line, strerror(errno));
    }
    free(line);
    fclose(f);
}

int cmd_delete(const struct options *o)
{
    const char *bundle = o->bundle ? o->bundle : ".";
    const char *ns = o->namespace ? o->namespace : env_nonempty("NAMESPACE");
    const char *address = o->address ? o->address : env_nonempty("GRPC_ADDRESS");
    struct buf out = {0};
    enum cleanup_result res = CLEANUP_UNREACHABLE;

    /* The bundle's config.json is still there: containerd removes the bundle after delete. */
    const char *pod = isolated_mode ? pod_group(bundle, o->id) : NULL;
    if (ns && *ns && address && *address && (pod || !isolated_mode)) {
        struct daemon_paths d;
        char why[512];
        daemon_paths(address, ns, pod, &d);
        res = daemon_cleanup(d.socket, o->id, &out, why, sizeof why);
        for (int i = 0; res == CLEANUP_LOST && i < LOST_RETRIES; i++) {
            struct timespec ts = {.tv_nsec = LOST_RETRY_MS * 1000000L};
            nanosleep(&ts, NULL);
            out.len = 0;
            res = daemon_cleanup(d.socket, o->id, &out, why, sizeof why);
        }
        if (res == CLEANUP_FAILED || res == CLEANUP_LOST)
            fprintf(stderr, "krill: warning: daemon cleanup failed, using %s/krill.state: %s\n",
                    bundle, why);
        if (res == CLEANUP_UNREACHABLE && pod)
            cleanup_dead_pod_daemon(&d, o->id);
        if (res == CLEANUP_UNREACHABLE)
            remove_dead_task_cgroups(&d, o->id);
    }
    if (res != CLEANUP_OK) {
        struct task_exit e;
        out.len = 0;
        exit_from_state(bundle, &e);
        encode_delete_response(&e, &out);
    }
    int rc = 0;
    if (out.len && write_all(STDOUT_FILENO, out.p, out.len) != 0) {
        fprintf(stderr, "krill: delete: cannot write the response to stdout: %s\n",
                strerror(errno));
        rc = 1;
    }
    free(out.p);
    cleanup_bundle(bundle);
    return rc;
}
