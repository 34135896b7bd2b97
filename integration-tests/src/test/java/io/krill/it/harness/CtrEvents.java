package io.krill.it.harness;

import static org.junit.jupiter.api.Assertions.fail;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code ctr events} running in the background, read as task events. {@link #subscribe} returns
 * only once containerd delivers to it, so nothing a test does afterwards can be missed.
 */
public final class CtrEvents implements AutoCloseable {
  /** One {@code /tasks/exit}: the container, the process id (the container's own or an exec's). */
  public record Exit(String containerId, String processId, int status) {}

  private static final Pattern EXIT =
      Pattern.compile(" /tasks/exit \\{.*\"container_id\":\"([^\"]+)\".*");
  private static final Pattern ID = Pattern.compile("\"id\":\"([^\"]*)\"");
  private static final Pattern STATUS = Pattern.compile("\"exit_status\":(\\d+)");
  private static final AtomicInteger PROBES = new AtomicInteger();

  private final Containerd containerd;
  private final CtrProcess process;

  private CtrEvents(Containerd containerd, CtrProcess process) {
    this.containerd = containerd;
    this.process = process;
  }

  /**
   * Starts {@code ctr events} and waits until it is subscribed: it must show the creation of a
   * probe namespace (created, then removed, every half second until it does).
   */
  public static CtrEvents subscribe(Containerd c) {
    CtrEvents events = new CtrEvents(c, c.ctrBackground("events"));
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (System.nanoTime() < deadline) {
      String probe = "krill-events-probe-" + ProcessHandle.current().pid() + "-" + PROBES.get();
      c.ok("namespaces", "create", probe);
      c.ok("namespaces", "rm", probe);
      long seen = System.nanoTime() + Duration.ofMillis(500).toNanos();
      while (System.nanoTime() < seen) {
        if (events.lines().stream()
            .anyMatch(l -> l.contains("/namespaces/create") && l.contains(probe))) {
          return events;
        }
        Host.sleep(20);
      }
      PROBES.incrementAndGet();
    }
    events.close();
    fail("ctr events never showed a namespace created on " + c.version());
    return null;
  }

  public List<String> lines() {
    return process.stdoutSoFar().lines().toList();
  }

  /** Every {@code /tasks/exit} seen so far, in order. */
  public List<Exit> exits() {
    return lines().stream()
        .map(EXIT::matcher)
        .filter(Matcher::find)
        .map(
            m -> {
              String line = m.group(0);
              Matcher id = ID.matcher(line);
              Matcher status = STATUS.matcher(line);
              // proto3 JSON leaves out a zero status
              return new Exit(
                  m.group(1),
                  id.find() ? id.group(1) : "",
                  status.find() ? Integer.parseInt(status.group(1)) : 0);
            })
        .toList();
  }

  /** The exits of container {@code id}'s own process (not of its execs). */
  public List<Exit> exitsOf(String id) {
    return exits().stream()
        .filter(e -> e.containerId().equals(id) && e.processId().equals(id))
        .toList();
  }

  /** Waits until every container in {@code ids} has at least one exit; fails after 60 s. */
  public void awaitExits(List<String> ids) {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (true) {
      List<Exit> all = exits();
      List<String> missing =
          ids.stream()
              .filter(id -> all.stream().noneMatch(e -> e.containerId().equals(id)))
              .toList();
      if (missing.isEmpty()) {
        return;
      }
      if (System.nanoTime() > deadline || !process.isAlive()) {
        fail(
            "no /tasks/exit on "
                + containerd.version()
                + " for "
                + missing.size()
                + " of "
                + ids.size()
                + " containers, e.g. "
                + missing.get(0)
                + (process.isAlive() ? "" : "; ctr events exited: " + process.stderrSoFar())
                + "\ncontainerd log tail:\n"
                + containerd.logTail(30));
      }
      Host.sleep(100);
    }
  }

  @Override
  public void close() {
    process.close();
  }
}
