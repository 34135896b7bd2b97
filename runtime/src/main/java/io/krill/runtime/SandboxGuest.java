package io.krill.runtime;

import io.krill.engine.Guest;
import io.krill.engine.GuestResult;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A Kubernetes pod's sandbox ("pause") task. krill runs no pause binary: the sandbox is a small
 * helper process that joins the pod's network namespace (and gets its own UTS and IPC ones) and
 * waits. Its pid is the sandbox's pid, so the {@code /proc/<pid>/ns/*} paths that containerd's CRI
 * writes into every container of the pod name the pod's namespaces, not the daemon's. It ends when
 * killed or when the daemon goes away (its stdin, a pipe from the daemon, reaches EOF).
 */
final class SandboxGuest implements Guest {
  private static final System.Logger LOG = System.getLogger("krill.tasks");
  private final String containerId;
  private final Process helper;
  private volatile boolean stopped;

  private SandboxGuest(String containerId, Process helper) {
    this.containerId = containerId;
    this.helper = helper;
  }

  /**
   * @param netns the pod's network namespace path; null = the host's (hostNetwork pods)
   */
  static SandboxGuest start(String containerId, Path helperBinary, String netns, String hostname) {
    List<String> cmd = new ArrayList<>(List.of(helperBinary.toString(), "pause"));
    cmd.add(netns == null ? "" : netns);
    cmd.add(hostname == null ? "" : hostname);
    try {
      Process p =
          new ProcessBuilder(cmd)
              .redirectOutput(ProcessBuilder.Redirect.DISCARD)
              .redirectError(ProcessBuilder.Redirect.INHERIT)
              .start();
      return new SandboxGuest(containerId, p);
    } catch (IOException e) {
      throw new KrillException(
          ErrorCode.INTERNAL,
          "container "
              + containerId
              + ": cannot start the pod sandbox helper "
              + helperBinary
              + ": "
              + e.getMessage()
              + " (reinstall krill: the launcher binary provides it)",
          e);
    }
  }

  int pid() {
    return (int) helper.pid();
  }

  @Override
  public GuestResult run() {
    try {
      int code = helper.waitFor();
      return stopped ? new GuestResult.Interrupted() : new GuestResult.Exited(code);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new GuestResult.Interrupted();
    }
  }

  @Override
  public void interrupt() {
    stopped = true;
    helper.destroy();
  }

  @Override
  public long linearMemoryBytes() {
    return 0;
  }

  @Override
  public void close() {
    if (helper.isAlive()) {
      helper.destroyForcibly();
      try {
        helper.waitFor();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        LOG.log(
            Level.WARNING,
            "container {0}: interrupted while reaping the sandbox helper {1}",
            containerId,
            String.valueOf(helper.pid()));
      }
    }
  }
}
