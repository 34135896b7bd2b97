package io.krill.shim;

import io.krill.runtime.ExitStatus;
import io.krill.runtime.TaskEvent;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Keeps {@code <bundle>/krill.state} current, so that the launcher's {@code delete} can answer
 * truthfully when the daemon is gone: {@code pid=}, {@code status=created|running|stopped}, {@code
 * exit_status=}, {@code exited_at=<seconds>.<nanos>}.
 */
final class StateFiles {
  static final String FILE = "krill.state";
  private static final System.Logger LOG = System.getLogger("krill.state");
  private final Map<String, Path> bundles = new ConcurrentHashMap<>();

  /** Deleted (Delete has answered) while events of theirs are still queued: they write nothing. */
  private final Set<String> forgotten = new HashSet<>();

  /** Whose Deleted event came through before Delete had answered: nothing left to forget. */
  private final Set<String> deletedFirst = new HashSet<>();

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
      if (!forgotten.remove(d.containerId())) {
        deletedFirst.add(d.containerId());
      }
      Path bundle = bundles.remove(d.containerId());
      if (bundle != null) {
        try {
          Files.deleteIfExists(bundle.resolve(FILE));
        } catch (IOException e) {
          LOG.log(
              Level.WARNING,
              "container {0}: cannot remove {1}: {2}",
              d.containerId(),
              FILE,
              e.getMessage());
        }
      }
    }
  }

  /**
   * Called when Delete returns, before containerd removes the bundle: from then on nothing is
   * written into it, though the task's older events may still be on their way through the queue.
   * Waits for a write in progress, so none can land in a bundle being removed.
   */
  synchronized void forget(String id) {
    if (deletedFirst.remove(id)) {
      return;
    }
    forgotten.add(id);
    Path bundle = bundles.remove(id);
    if (bundle == null) {
      return;
    }
    try {
      Files.deleteIfExists(bundle.resolve(FILE + ".tmp"));
      Files.deleteIfExists(bundle.resolve(FILE));
    } catch (IOException e) {
      LOG.log(Level.WARNING, "container {0}: cannot remove {1}: {2}", id, FILE, e.getMessage());
    }
  }

  private synchronized void write(String id, int pid, String status, ExitStatus exit) {
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
