/* -v and -info: the shim's version, as containerd's shims print and answer it. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "launcher.h"
#include "pb.h"
#include "util.h"

int cmd_version(void)
{
    fputs(isolated_mode ? ISOLATED_SHIM_NAME : SHIM_NAME, stdout);
    fputs(":\n  Version: " SHIM_VERSION "\n  Revision: " SHIM_REVISION
          "\n  Go version: none (native launcher)\n",
          stdout);
    return fflush(stdout) == 0 ? 0 : 1;
}

/* containerd 2.x asks shims for RuntimeInfo{name, version{version, revision}}. */
int cmd_info(void)
{
    struct buf ver = {0}, out = {0};
    drain_stdin();
    pb_string(&ver, 1, SHIM_VERSION);
    pb_string(&ver, 2, SHIM_REVISION);
    pb_string(&out, 1,
              isolated_mode ? "io.containerd.krill-isolated.v1" : "io.containerd.krill.v1");
    pb_bytes(&out, 2, ver.p, ver.len);
    int rc = write_all(STDOUT_FILENO, out.p, out.len) == 0 ? 0 : 1;
    free(ver.p);
    free(out.p);
    return rc;
}
