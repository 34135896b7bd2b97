package io.krill.it.harness;

import static org.junit.jupiter.api.Assertions.fail;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reads {@code ctr task ls} and waits for task states; the one view of tasks every containerd
 * version shares.
 */
public final class Tasks {
  /** One row of {@code ctr task ls}: TASK, PID, STATUS. */
  public record Task(String id, long pid, String status) {}

  private Tasks() {}

  public static Map<String, Task> list(Containerd c, String ns) {
    Result r = c.ok("-n", ns, "tasks", "ls");
    Map<String, Task> out = new LinkedHashMap<>();
    for (String line : r.stdoutLines()) {
      String[] f = line.trim().split("\\s+");
      if (f.length < 3 || f[0].equals("TASK")) {
        continue;
      }
      out.put(f[0], new Task(f[0], Long.parseLong(f[1]), f[2]));
    }
    return out;
  }

  /**
   * Polls until task {@code id} has {@code status}; fails after {@code timeout} with the last
   * listing.
   */
  public static Task await(Containerd c, String ns, String id, String status, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    Map<String, Task> last;
    do {
      last = list(c, ns);
      Task t = last.get(id);
      if (t != null && t.status().equals(status)) {
        return t;
      }
      Host.sleep(100);
    } while (System.nanoTime() < deadline);
    fail(
        "task "
            + ns
            + "/"
            + id
            + " not "
            + status
            + " within "
            + timeout.toSeconds()
            + " s; ctr task ls: "
            + last.values()
            + "\ncontainerd log tail:\n"
            + c.logTail(30));
    return null;
  }

  public static Task awaitRunning(Containerd c, String ns, String id) {
    return await(c, ns, id, "RUNNING", Duration.ofSeconds(60));
  }

  public static Task awaitStopped(Containerd c, String ns, String id) {
    return await(c, ns, id, "STOPPED", Duration.ofSeconds(60));
  }
}
