/*
 * isolate: what the krill-isolated runtime adds to `start`.  A pod gets a daemon of its own, keyed
 * by the pod's sandbox id, placed in the pod's cgroup and confined (fewer capabilities,
 * no_new_privs, a seccomp deny-list) before the launcher execs the JVM.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "launcher.h"
#include "pb.h"
#include "util.h"

#define SPEC_MAX_BYTES (8u << 20)
#define GROUP_MAX_LEN 128

/* ------------------------------------------------------------------ */
/* the bundle's config.json                                            */

static char *read_spec(const char *bundle, size_t *len)
{
    char *path = xasprintf("%s/config.json", bundle);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    free(path);
    if (fd < 0)
        return NULL;
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size <= 0 || (size_t)st.st_size > SPEC_MAX_BYTES) {
        close(fd);
        return NULL;
    }
    char *data = xmalloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, data + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    data[got] = '\0';
    *len = got;
    return data;
}

/* The end of the JSON string whose body starts at s[i] (the index of its closing quote), or n. */
static size_t string_end(const char *s, size_t n, size_t i)
{
    while (i < n && s[i] != '"')
        i += s[i] == '\\' ? 2 : 1;
    return i < n ? i : n;
}

/*
 * The string value of the first object member named `key`, at any depth.  Strings are walked as
 * tokens (escapes included), so the key is only found where it really is a key.  A value with an
 * escape other than \" \\ \/ counts as absent: ids and cgroup paths never have one.
 */
char *spec_string(const char *bundle, const char *key)
{
    size_t n = 0;
    char *s = read_spec(bundle, &n);
    if (!s)
        return NULL;
    size_t klen = strlen(key);
    char *found = NULL;
    for (size_t i = 0; i < n && !found;) {
        if (s[i] != '"') {
            i++;
            continue;
        }
        size_t start = i + 1, end = string_end(s, n, start);
        if (end == n)
            break;
        i = end + 1;
        if (end - start != klen || memcmp(s + start, key, klen) != 0)
            continue;
        size_t k = i;
        while (k < n && strchr(" \t\r\n", s[k]))
            k++;
        if (k >= n || s[k] != ':')
            continue;
        for (k++; k < n && strchr(" \t\r\n", s[k]); k++)
            ;
        if (k >= n || s[k] != '"')
            break;
        size_t vstart = k + 1, vend = string_end(s, n, vstart);
        if (vend == n)
            break;
        struct buf v = {0};
        int ok = 1;
        for (size_t j = vstart; j < vend; j++) {
            char c = s[j];
            if (c == '\\') {
                c = s[++j];
                if (c != '"' && c != '\\' && c != '/') {
                    ok = 0;
                    break;
                }
            }
            buf_put(&v, &c, 1);
        }
        buf_put(&v, "", 1);
        if (ok)
            found = (char *)v.p;
        else
            free(v.p);
        break;
    }
    free(s);
    return found;
}

/*
 * The pod a task belongs to: containerd's CRI annotates every container of a pod, the sandbox
 * included, with the sandbox's id (as runc's shim groups them).  A container without it (ctr run)
 * is a pod of its own.
 */
const char *pod_group(const char *bundle, const char *id)
{
    char *group = spec_string(bundle, "io.kubernetes.cri.sandbox-id");
    const char *g = group && *group ? group : id;
    if (!g || !*g)
        return NULL;
    size_t len = strlen(g);
    if (len > GROUP_MAX_LEN || strspn(g, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                         "0123456789._-") != len)
        return NULL;
    return g;
}

/* ------------------------------------------------------------------ */
/* the pod's cgroup                                                    */

/* systemd's slice name "a-b-c.slice" as a path: /a.slice/a-b.slice/a-b-c.slice. */
static char *slice_path(const char *slice)
{
    size_t len = strlen(slice);
    if (strcmp(slice, "-.slice") == 0 || len <= 6 || strcmp(slice + len - 6, ".slice") != 0)
        return NULL;
    struct buf p = {0};
    for (const char *dash = slice;; dash++) {
        dash = strchr(dash, '-');
        size_t upto = dash ? (size_t)(dash - slice) : len - 6;
        buf_put(&p, "/", 1);
        buf_put(&p, slice, upto);
        buf_put(&p, ".slice", 6);
        if (!dash)
            break;
    }
    buf_put(&p, "", 1);
    return (char *)p.p;
}

/*
 * The pod's cgroup from a container's linux.cgroupsPath: its parent ("/kubepods/burstable/pod<uid>"
 * for "/kubepods/burstable/pod<uid>/<id>"), or with the systemd driver the slice of
 * "slice:prefix:name".  NULL when there is none below the root.
 */
char *pod_cgroup(const char *cgroups_path)
{
    if (!cgroups_path || !*cgroups_path)
        return NULL;
    const char *colon = strchr(cgroups_path, ':');
    if (colon)
        return slice_path(strndup(cgroups_path, (size_t)(colon - cgroups_path)));
    char *p = xasprintf("%s%s", cgroups_path[0] == '/' ? "" : "/", cgroups_path);
    size_t len = strlen(p);
    while (len > 1 && p[len - 1] == '/')
        p[--len] = '\0';
    char *slash = strrchr(p, '/');
    if (slash == p || strstr(p, "/../") || strstr(p, "/./")) {
        free(p);
        return NULL;
    }
    *slash = '\0';
    return p;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s)
{
    char *out = s;
    for (char *in = s; *in; in++) {
        if (in[0] == '\\' && in[1] >= '0' && in[1] <= '3' && in[2] >= '0' && in[2] <= '7' &&
            in[3] >= '0' && in[3] <= '7') {
            *out++ = (char)((in[1] - '0') << 6 | (in[2] - '0') << 3 | (in[3] - '0'));
            in += 3;
        } else {
            *out++ = *in;
        }
    }
    *out = '\0';
}

/*
 * Moves this process into `pod` in every cgroup hierarchy that has it (v1: memory, cpu, pids...;
 * a v2 hierarchy too).  kubelet creates the pod's cgroups before it asks for the sandbox; where one
 * is missing this says so on stderr (the daemon's log) and the daemon stays where it was.  Returns
 * the number of hierarchies joined, or -1 after printing why a move failed.
 */
int join_pod_cgroup(const char *pod)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f) {
        fprintf(stderr, "krill-launcher: cannot read /proc/self/mountinfo: %s\n", strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    int joined = 0, rc = 0;
    while (getline(&line, &cap, f) > 0) {
        /* id parent major:minor root mountpoint options [optional...] - fstype source super */
        char *sep = strstr(line, " - ");
        if (!sep)
            continue;
        char fstype[32] = "";
        if (sscanf(sep + 3, "%31s", fstype) != 1)
            continue;
        int v2 = strcmp(fstype, "cgroup2") == 0;
        if (!v2 && strcmp(fstype, "cgroup") != 0)
            continue;
        char root[4096], mnt[4096];
        if (sscanf(line, "%*s %*s %*s %4095s %4095s", root, mnt) != 2)
            continue;
        unescape_octal(root);
        unescape_octal(mnt);
        const char *rel = pod;
        if (strcmp(root, "/") != 0) {
            size_t rl = strlen(root);
            if (strncmp(pod, root, rl) != 0 || (pod[rl] != '/' && pod[rl] != '\0'))
                continue;
            rel = pod + rl;
        }
        char *dir = xasprintf("%s%s", mnt, rel);
        char *procs = xasprintf("%s/cgroup.procs", dir);
        struct stat st;
        if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
            fprintf(stderr, "krill-launcher: pod cgroup %s does not exist; not joined\n", dir);
        } else {
            int fd = open(procs, O_WRONLY | O_CLOEXEC);
            if (fd >= 0 && write_all(fd, "0", 1) == 0 && close(fd) == 0) {
                joined++;
            } else {
                int e = errno;
                if (fd >= 0)
                    close(fd);
                /* A v2 pod cgroup that delegates controllers takes no processes of its own. */
                if (v2 && (e == EBUSY || e == EOPNOTSUPP)) {
                    fprintf(stderr,
                            "krill-launcher: cannot join %s (cgroup v2 allows no process "
                            "in a cgroup with children); not joined\n",
                            dir);
                } else {
                    fprintf(stderr, "krill-launcher: cannot move the daemon into %s: %s\n", procs,
                            strerror(e));
                    rc = -1;
                }
            }
        }
        free(dir);
        free(procs);
        if (rc != 0)
            break;
    }
    free(line);
    fclose(f);
    return rc != 0 ? -1 : joined;
}

/* ------------------------------------------------------------------ */
/* capabilities                                                        */

/*
 * What the daemon keeps (see docs/architecture.md, "The isolated runtime"):
 *  - CAP_SYS_ADMIN: mount(2)/umount2(2) of each container's rootfs and of private copies of
 *    bind mounts; its pod sandbox process (`pause`) joins the pod's network namespace with
 *    setns(2), takes UTS and IPC namespaces with unshare(2) and sets the pod's hostname.
 *  - CAP_DAC_OVERRIDE: guests read and write their rootfs and volumes whatever the files' owners
 *    and modes, as a root process in a runc container may.
 * Everything else goes, from the bounding set too, so no later exec can get it back.
 */
#define KEPT_CAPS ((1ULL << CAP_SYS_ADMIN) | (1ULL << CAP_DAC_OVERRIDE))

static int last_cap(void)
{
    int last = 63;
    FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
    if (f) {
        if (fscanf(f, "%d", &last) != 1 || last < 0 || last > 63)
            last = 63;
        fclose(f);
    }
    return last;
}

static int drop_capabilities(void)
{
    for (int c = 0; c <= last_cap(); c++) {
        if ((KEPT_CAPS >> c) & 1)
            continue;
        if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0 && errno != EINVAL) {
            fprintf(stderr, "krill-launcher: cannot drop capability %d: %s\n", c, strerror(errno));
            return -1;
        }
    }
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
    struct __user_cap_data_struct d[2];
    memset(d, 0, sizeof d);
    if (syscall(SYS_capget, &h, d) != 0) {
        fprintf(stderr, "krill-launcher: capget: %s\n", strerror(errno));
        return -1;
    }
    for (int i = 0; i < 2; i++) {
        uint32_t kept = (uint32_t)(KEPT_CAPS >> (32 * i));
        d[i].permitted &= kept;
        d[i].effective = d[i].permitted;
        d[i].inheritable = 0;
    }
    if (syscall(SYS_capset, &h, d) != 0) {
        fprintf(stderr, "krill-launcher: capset: %s\n", strerror(errno));
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* seccomp                                                             */

#if defined(__x86_64__)
#define KRILL_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define KRILL_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* Namespaces the daemon never creates: a new user namespace above all (it hands out capabilities).
 */
#define NS_NEVER                                                                                   \
    (CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP | CLONE_NEWTIME)
/* clone(2) with any namespace: the daemon and the JVM only start threads and its pause process. */
#define NS_ALL_CLONE                                                                               \
    (CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP | CLONE_NEWUTS |  \
     CLONE_NEWIPC)

/*
 * Syscalls a JVM running wasm guests never needs; each answers EPERM.  Kernel and module
 * loading, tracing other processes, BPF and perf, the kernel keyring, swap, accounting, reboot,
 * time setting, userfaultfd (a favourite of kernel exploits), io_uring, file handles
 * (open_by_handle_at walks out of any mount), and the mount family except mount(2) and umount2(2),
 * which the daemon uses for rootfs and bind mounts.
 */
static const int denied[] = {
#ifdef __NR_ptrace
    __NR_ptrace,
#endif
#ifdef __NR_process_vm_readv
    __NR_process_vm_readv,
#endif
#ifdef __NR_process_vm_writev
    __NR_process_vm_writev,
#endif
#ifdef __NR_kcmp
    __NR_kcmp,
#endif
#ifdef __NR_pidfd_getfd
    __NR_pidfd_getfd,
#endif
#ifdef __NR_kexec_load
    __NR_kexec_load,
#endif
#ifdef __NR_kexec_file_load
    __NR_kexec_file_load,
#endif
#ifdef __NR_init_module
    __NR_init_module,
#endif
#ifdef __NR_finit_module
    __NR_finit_module,
#endif
#ifdef __NR_delete_module
    __NR_delete_module,
#endif
#ifdef __NR_create_module
    __NR_create_module,
#endif
#ifdef __NR_get_kernel_syms
    __NR_get_kernel_syms,
#endif
#ifdef __NR_query_module
    __NR_query_module,
#endif
#ifdef __NR_bpf
    __NR_bpf,
#endif
#ifdef __NR_perf_event_open
    __NR_perf_event_open,
#endif
#ifdef __NR_keyctl
    __NR_keyctl,
#endif
#ifdef __NR_add_key
    __NR_add_key,
#endif
#ifdef __NR_request_key
    __NR_request_key,
#endif
#ifdef __NR_reboot
    __NR_reboot,
#endif
#ifdef __NR_swapon
    __NR_swapon,
#endif
#ifdef __NR_swapoff
    __NR_swapoff,
#endif
#ifdef __NR_acct
    __NR_acct,
#endif
#ifdef __NR_userfaultfd
    __NR_userfaultfd,
#endif
#ifdef __NR_io_uring_setup
    __NR_io_uring_setup,
#endif
#ifdef __NR_io_uring_enter
    __NR_io_uring_enter,
#endif
#ifdef __NR_io_uring_register
    __NR_io_uring_register,
#endif
#ifdef __NR_open_by_handle_at
    __NR_open_by_handle_at,
#endif
#ifdef __NR_name_to_handle_at
    __NR_name_to_handle_at,
#endif
#ifdef __NR_pivot_root
    __NR_pivot_root,
#endif
#ifdef __NR_chroot
    __NR_chroot,
#endif
#ifdef __NR_open_tree
    __NR_open_tree,
#endif
#ifdef __NR_move_mount
    __NR_move_mount,
#endif
#ifdef __NR_fsopen
    __NR_fsopen,
#endif
#ifdef __NR_fsconfig
    __NR_fsconfig,
#endif
#ifdef __NR_fsmount
    __NR_fsmount,
#endif
#ifdef __NR_fspick
    __NR_fspick,
#endif
#ifdef __NR_mount_setattr
    __NR_mount_setattr,
#endif
#ifdef __NR_fanotify_init
    __NR_fanotify_init,
#endif
#ifdef __NR_lookup_dcookie
    __NR_lookup_dcookie,
#endif
#ifdef __NR_quotactl
    __NR_quotactl,
#endif
#ifdef __NR_quotactl_fd
    __NR_quotactl_fd,
#endif
#ifdef __NR_iopl
    __NR_iopl,
#endif
#ifdef __NR_ioperm
    __NR_ioperm,
#endif
#ifdef __NR_modify_ldt
    __NR_modify_ldt,
#endif
#ifdef __NR_syslog
    __NR_syslog,
#endif
#ifdef __NR_vhangup
    __NR_vhangup,
#endif
#ifdef __NR_uselib
    __NR_uselib,
#endif
#ifdef __NR__sysctl
    __NR__sysctl,
#endif
#ifdef __NR_nfsservctl
    __NR_nfsservctl,
#endif
#ifdef __NR_settimeofday
    __NR_settimeofday,
#endif
#ifdef __NR_clock_settime
    __NR_clock_settime,
#endif
#ifdef __NR_clock_adjtime
    __NR_clock_adjtime,
#endif
#ifdef __NR_adjtimex
    __NR_adjtimex,
#endif
#ifdef __NR_setdomainname
    __NR_setdomainname,
#endif
};

#define ARG_LO(n) ((uint32_t)(offsetof(struct seccomp_data, args) + 8 * (n)))
#define DENY (SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA))

struct prog {
    struct sock_filter f[256];
    unsigned short n;
};

static void emit(struct prog *p, unsigned short code, unsigned char jt, unsigned char jf,
                 uint32_t k)
{
    p->f[p->n++] = (struct sock_filter){code, jt, jf, k};
}

/* `if (nr == syscall) return ret;` */
static void deny_nr(struct prog *p, int nr, uint32_t ret)
{
    emit(p, BPF_JMP | BPF_JEQ | BPF_K, 0, 1, (uint32_t)nr);
    emit(p, BPF_RET | BPF_K, 0, 0, ret);
}

/* `if (nr == syscall) return (args[arg] & mask) ? EPERM : ALLOW;` (the low 32 bits, little endian)
 */
static void deny_flags(struct prog *p, int nr, int arg, uint32_t mask)
{
    emit(p, BPF_JMP | BPF_JEQ | BPF_K, 0, 4, (uint32_t)nr);
    emit(p, BPF_LD | BPF_W | BPF_ABS, 0, 0, ARG_LO(arg));
    emit(p, BPF_JMP | BPF_JSET | BPF_K, 0, 1, mask);
    emit(p, BPF_RET | BPF_K, 0, 0, DENY);
    emit(p, BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ALLOW);
}

static int install_seccomp(void)
{
#ifndef KRILL_AUDIT_ARCH
    fputs("krill-launcher: no seccomp filter for this CPU architecture (krill-isolated needs "
          "x86_64 or aarch64)\n",
          stderr);
    return -1;
#else
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the seccomp filter reads syscall arguments' low words as little endian"
#endif
    static struct prog p;
    p.n = 0;
    /* Another ABI (i386 via int 0x80, x32) would bring other syscall numbers: refuse it all. */
    emit(&p, BPF_LD | BPF_W | BPF_ABS, 0, 0, offsetof(struct seccomp_data, arch));
    emit(&p, BPF_JMP | BPF_JEQ | BPF_K, 1, 0, KRILL_AUDIT_ARCH);
    emit(&p, BPF_RET | BPF_K, 0, 0, DENY);
    emit(&p, BPF_LD | BPF_W | BPF_ABS, 0, 0, offsetof(struct seccomp_data, nr));
#ifdef __x86_64__
    emit(&p, BPF_JMP | BPF_JGE | BPF_K, 0, 1, 0x40000000); /* __X32_SYSCALL_BIT */
    emit(&p, BPF_RET | BPF_K, 0, 0, DENY);
#endif
    for (size_t i = 0; i < sizeof denied / sizeof denied[0]; i++)
        deny_nr(&p, denied[i], DENY);
        /* clone3's flags sit in memory a filter cannot read; ENOSYS makes glibc fall back to clone.
         */
#ifdef __NR_clone3
    deny_nr(&p, __NR_clone3, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA));
#endif
    deny_flags(&p, __NR_clone, 0, NS_ALL_CLONE);
    /* pause: unshare(CLONE_NEWUTS | CLONE_NEWIPC) and setns(fd, CLONE_NEWNET), nothing else. */
    deny_flags(&p, __NR_unshare, 0, NS_NEVER);
    emit(&p, BPF_JMP | BPF_JEQ | BPF_K, 0, 4, __NR_setns);
    emit(&p, BPF_LD | BPF_W | BPF_ABS, 0, 0, ARG_LO(1));
    emit(&p, BPF_JMP | BPF_JEQ | BPF_K, 1, 0, CLONE_NEWNET);
    emit(&p, BPF_RET | BPF_K, 0, 0, DENY);
    emit(&p, BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ALLOW);
    emit(&p, BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ALLOW);

    struct sock_fprog fprog = {.len = p.n, .filter = p.f};
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0) != 0) {
        fprintf(stderr, "krill-launcher: cannot install the seccomp filter: %s\n", strerror(errno));
        return -1;
    }
    return 0;
#endif
}

int confine_daemon(void)
{
    if (drop_capabilities() != 0)
        return -1;
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        fprintf(stderr, "krill-launcher: cannot set no_new_privs: %s\n", strerror(errno));
        return -1;
    }
    return install_seccomp();
}
