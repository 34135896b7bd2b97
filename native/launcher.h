/* What the launcher's subcommands share (see shim-launcher.c). */
#ifndef KRILL_LAUNCHER_H
#define KRILL_LAUNCHER_H

#define SHIM_NAME "containerd-shim-krill-v1"
/* The same binary under this name (a link) is the krill-isolated runtime: a daemon per pod. */
#define ISOLATED_SHIM_NAME "containerd-shim-krill-isolated-v1"
#define SHIM_VERSION "0.1.0"
#define SHIM_REVISION "krill"
/* containerd's own shims put their sockets here; it is cleaned on reboot. */
#define SOCKET_DIR "/run/containerd/s"

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

/* daemon identity and install layout (launch.c) */

struct daemon_paths {
    char hex[65];
    char *socket;    /* /run/containerd/s/<hex> */
    char *run_dir;   /* ${KRILL_RUN_DIR}/shim/<hex> */
    const char *pod; /* isolated: the pod's sandbox id; NULL for the shared daemon */
};

/* Shared mode: one daemon per (address, namespace); isolated: per pod too (pod != NULL). */
void daemon_paths(const char *address, const char *ns, const char *pod, struct daemon_paths *d);
/* The install is relocatable: KRILL_HOME is the parent of our bin/ dir. */
char *krill_home(void);
/* Returns the java to run, or NULL with *why describing what was wrong. */
char *find_java(const char *home, const char **why);
/* The daemon's java command line; foreground for `daemon` (no idling out). */
char **daemon_argv(const char *java, const char *home, const struct options *o,
                   const struct daemon_paths *d, const char *ttrpc, int foreground);
/* The daemon's environment, set just before its exec (see launch.c). */
void daemon_env(void);

/* krill-isolated (isolate.c) */

/* Whether this process runs as ISOLATED_SHIM_NAME (set by main from argv[0]). */
extern int isolated_mode;
/* The string value of the first member named key in <bundle>/config.json, or NULL. */
char *spec_string(const char *bundle, const char *key);
/* The task's pod: its sandbox-id annotation, else the task id; NULL if neither is a usable id. */
const char *pod_group(const char *bundle, const char *id);
/* The pod's cgroup (the parent of a container's linux.cgroupsPath), or NULL. */
char *pod_cgroup(const char *cgroups_path);
/* Joins pod in every hierarchy that has it: how many, or -1 (the reason is on stderr). */
int join_pod_cgroup(const char *pod);
/* Drops capabilities, sets no_new_privs, installs the seccomp filter; -1 (reason on stderr). */
int confine_daemon(void);

/* socket probing (launch.c) */

enum probe { PROBE_ALIVE, PROBE_DEAD, PROBE_BUSY };

/* A connected fd, or -1 with *err set; the connect waits at most timeout_ms. */
int unix_connect(const char *path, int timeout_ms, int *err);
enum probe probe_socket(const char *path);

/* The namespace (and, isolated, the pod) start_fail names; "?" until it is known. */
extern const char *start_ns;
extern const char *start_pod;
/* Prints "cannot start the krill daemon for namespace ...: <message>" and exits 1. */
void start_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* The subcommands; each returns the process's exit status. */
int cmd_start(const struct options *o);  /* start.c */
int cmd_daemon(const struct options *o); /* daemon.c */
int cmd_delete(const struct options *o); /* delete.c */
int cmd_info(void);                      /* info.c */
int cmd_version(void);                   /* info.c */
int cmd_pause(int argc, char **argv);    /* pause.c */

#endif
