package io.krill.shim;

import io.krill.runtime.ExitStatus;
import io.krill.runtime.TaskEvent;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * Keeps {@code <bundle>/krill.state} current, so that the launcher's {@code delete} can answer
 * truthfully when the daemon is gone: {@code pid=}, {@code status=created|running|stopped}, {@code
 * exit_status=}, {@code exited_at=<seconds>.<nanos>}.
 *
 * <p>Events arrive late (one thread also forwards them to containerd), so a task's bundle may
 * already be gone, or being removed, when its events come: {@link #forget} is called when Delete
 * answers, and from then on nothing is written into that bundle, so containerd's removal of it
 * never meets a file krill creates behind its back.
 */
final class StateFiles {
  static final String FILE = "krill.state";
  private static final System.Logger LOG = System.getLogger("krill.state");
  private final Map<String, Path> bundles = new HashMap<>();

  /** Deleted tasks whose Deleted event has not arrived yet; their earlier events write nothing. */
  private final Set<String> forgotten = new HashSet<>();

  /**
   * The task is deleted: removes its state file and writes nothing more for it. Waits for a write
   * in progress, so once this returns the bundle is containerd's alone.
   */
  synchronized void forget(String id) {
    forgotten.add(id);
    remove(id);
  }

  synchronized void record(TaskEvent event) {
    if (event instanceof TaskEvent.Created c) {
      if (forgotten.contains(c.containerId())) {
        return;
      }
      bundles.put(c.containerId(), c.bundle());
      write(c.containerId(), c.pid(), "created", null);
    } else if (event instanceof TaskEvent.Started s) {
      write(s.containerId(), s.pid(), "running", null);
    } else if (event instanceof TaskEvent.Exited e && !e.isExec()) {
      write(e.containerId(), e.pid(), "stopped", e.status());
    } else if (event instanceof TaskEvent.Deleted d && !d.isExec()) {
      // Always after the task's other events: the id may be created anew from here on.
      forgotten.remove(d.containerId());
      remove(d.containerId());
    }
  }

  private void remove(String id) {
    Path bundle = bundles.remove(id);
    if (bundle != null) {
      try {
        Files.deleteIfExists(bundle.resolve(FILE));
      } catch (IOException e) {
        LOG.log(Level.WARNING, "container {0}: cannot remove {1}: {2}", id, FILE, e.getMessage());
      }
    }
  }

  private void write(String id, int pid, String status, ExitStatus exit) {
    Path bundle = bundles.get(id);
    if (bundle == null) {
      return;
    }
    StringBuilder text =
        new StringBuilder()
            .append("pid=")
            .append(pid)
            .append('\n')
            .append("status=")
            .append(status)
            .append('\n');
    if (exit != null) {
      text.append("exit_status=")
          .append(exit.code())
          .append('\n')
          .append("exited_at=")
          .append(exit.exitedAt().getEpochSecond())
          .append('.')
          .append(String.format("%09d", exit.exitedAt().getNano()))
          .append('\n');
    }
    try {
      Path tmp = bundle.resolve(FILE + ".tmp");
      Files.writeString(tmp, text);
      Files.move(
          tmp,
          bundle.resolve(FILE),
          StandardCopyOption.REPLACE_EXISTING,
          StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      LOG.log(Level.WARNING, "container {0}: cannot write {1}: {2}", id, FILE, e.getMessage());
    }
  }
}
