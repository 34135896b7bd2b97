/* daemon: the same daemon, in the foreground, for a service manager (`krill daemon`). */
#define _GNU_SOURCE

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "launcher.h"
#include "util.h"

/*
 * `krill daemon` (the systemd unit's ExecStart) becomes the daemon a `start` would spawn for this
 * address and namespace, same socket, run dir and java command line, so `start` finds it alive and
 * never spawns another.  It execs in place, so the pid systemd started is the daemon.  The daemon
 * itself claims the socket under the run dir's lock (-foreground): a daemon this launcher spawned
 * may be holding it, and only the JVM knows when it is listening.
 */
#define DAEMON_USAGE                                                                               \
    "usage: krill daemon [--namespace k8s.io] [--address /run/containerd/containerd.sock] "        \
    "[--ttrpc-address ADDR.ttrpc] [--debug] [--dry-run]"

int cmd_daemon(const struct options *in)
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
    if (isolated_mode) {
        fputs("krill daemon: " ISOLATED_SHIM_NAME " starts one daemon per pod, for containerd; run "
              "`krill daemon` (" SHIM_NAME ") for the shared daemon\n",
              stderr);
        return 2;
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
    daemon_paths(o.address, o.namespace, NULL, &d);
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
        start_fail("cannot create %s: %s (set KRILL_RUN_DIR to a writable directory)", d.run_dir,
                   strerror(errno));
    daemon_env();
    execv(java, argv);
    start_fail("cannot execute %s: %s", java, strerror(errno));

usage:
    fprintf(stderr, "%s\n", DAEMON_USAGE);
    return 2;
}
