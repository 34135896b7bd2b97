/*
 * containerd-shim-krill-v1: the native front end of the krill shim.
 *
 * containerd executes the shim binary for every task ("start") and after
 * every task deletion ("delete").  Starting a JVM each time would cost
 * hundreds of milliseconds and a lot of memory, so this launcher keeps one
 * long-lived Java daemon per (containerd address, namespace) and only hands
 * containerd that daemon's socket.  Everything here must stay fast when the
 * daemon is already running and must never leave containerd hanging.
 *
 * Run as containerd-shim-krill-isolated-v1 (a link to this binary), it is the krill-isolated
 * runtime: one daemon per pod instead, in the pod's cgroup and confined (isolate.c).
 *
 * One file per subcommand: start.c, delete.c, daemon.c, pause.c and info.c (-v, -info);
 * launch.c holds what start and daemon share, launcher.h declares it.  This file parses
 * containerd's arguments and dispatches.
 */
#define _GNU_SOURCE

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "launcher.h"
#include "util.h"

/* ------------------------------------------------------------------ */
/* argument parsing (Go flag package conventions)                      */

static const char **value_flag(struct options *o, const char *name, size_t len)
{
#define VF(n, field)                                                                               \
    if (len == sizeof(n) - 1 && memcmp(name, n, len) == 0) {                                       \
        return &o->field;                                                                          \
    }
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
#define BF(n, field)                                                                               \
    if (len == sizeof(n) - 1 && memcmp(name, n, len) == 0) {                                       \
        return &o->field;                                                                          \
    }
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

int main(int argc, char **argv)
{
    struct options o = {0};
    ensure_stdio();
    /* containerd runs shims by path; the link's name, not its target, says which runtime. */
    const char *self = argc > 0 && argv[0] ? strrchr(argv[0], '/') : NULL;
    self = self ? self + 1 : (argc > 0 && argv[0] ? argv[0] : "");
    isolated_mode = strcmp(self, ISOLATED_SHIM_NAME) == 0;
    if (argc >= 2 && strcmp(argv[1], "pause") == 0)
        return cmd_pause(argc - 2, argv + 2);
    /* A vanished reader must turn into an error we report, not a silent death. */
    signal(SIGPIPE, SIG_IGN);

    if (parse_args(argc, argv, &o) != 0)
        return 1;
    if (o.version)
        return cmd_version();
    if (o.info)
        return cmd_info();
    if (!o.action) {
        fprintf(stderr,
                "krill: usage: %s -namespace NS -address ADDR -publish-binary BIN "
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
