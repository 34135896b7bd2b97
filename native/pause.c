/* pause: the pod sandbox process the daemon starts for a Kubernetes pod. */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "launcher.h"

/*
 * "pause NETNS HOSTNAME": the stand-in for a Kubernetes pod sandbox that the daemon starts.  It
 * joins the pod's network namespace, takes UTS and IPC namespaces of its own, and waits until the
 * daemon (its stdin pipe) goes away or it is signalled.  Its pid is what containerd's CRI uses to
 * name the pod's namespaces (/proc/<pid>/ns/...) in every container of the pod.
 */
int cmd_pause(int argc, char **argv)
{
    const char *netns = argc > 0 ? argv[0] : "";
    const char *hostname = argc > 1 ? argv[1] : "";
    if (*netns) {
        int fd = open(netns, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) {
            fprintf(stderr, "krill: pod sandbox: cannot join network namespace %s: %s\n", netns,
                    strerror(errno));
            return 1;
        }
        close(fd);
    }
    if (unshare(CLONE_NEWUTS | CLONE_NEWIPC) != 0) {
        fprintf(stderr, "krill: pod sandbox: cannot create UTS/IPC namespaces: %s\n",
                strerror(errno));
        return 1;
    }
    if (*hostname && sethostname(hostname, strlen(hostname)) != 0) {
        fprintf(stderr, "krill: pod sandbox: cannot set hostname %s: %s\n", hostname,
                strerror(errno));
        return 1;
    }
    char buf[64];
    for (;;) {
        ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
        if (n == 0 || (n < 0 && errno != EINTR))
            return 0;
    }
}
