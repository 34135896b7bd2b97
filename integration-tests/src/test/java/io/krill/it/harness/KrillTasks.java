package io.krill.it.harness;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Shared vocabulary of the end-to-end tests: every task runs with krill's runtime, ids never
 * repeat. Tests use it by {@code import static io.krill.it.harness.KrillTasks.*}.
 */
public final class KrillTasks {
  public static final String RUNTIME = Dist.RUNTIME;

  /**
   * Exit code the contract assigns to a wasm trap (128 + SIGABRT, as a native abort would give).
   */
  public static final int TRAP_EXIT = 134;

  public static final int SIGTERM_EXIT = 143;
  public static final int SIGKILL_EXIT = 137;
  public static final String HELLO = "hello from krill\n";
  private static final AtomicInteger SEQ = new AtomicInteger();

  private KrillTasks() {}

  /** Unique container ids avoid clashes with state a failed earlier test may have left. */
  public static String id(String prefix) {
    return prefix + "-" + ProcessHandle.current().pid() + "-" + SEQ.incrementAndGet();
  }

  public static String[] concat(List<String> head, String... tail) {
    List<String> all = new ArrayList<>(head);
    all.addAll(List.of(tail));
    return all.toArray(String[]::new);
  }

  /**
   * {@code ctr -n NS run --rm --runtime krill ARGS...}: foreground, so ctr's exit code is the
   * guest's.
   */
  public static Result run(Containerd c, String ns, String... args) {
    return c.ctr(concat(List.of("-n", ns, "run", "--rm", "--runtime", RUNTIME), args));
  }

  public static Result runOk(Containerd c, String ns, String... args) {
    Result r = run(c, ns, args);
    if (!r.ok()) {
      fail(
          "krill run failed on "
              + c.version()
              + ": "
              + r
              + "\ncontainerd log tail:\n"
              + c.logTail(30)
              + "\nkrill daemon log tail:\n"
              + c.krillLogTail(30));
    }
    return r;
  }

  public static void assertExit(Containerd c, int expected, Result r) {
    if (r.exitCode() != expected) {
      fail(
          "expected exit "
              + expected
              + " on "
              + c.version()
              + ": "
              + r
              + "\ncontainerd log tail:\n"
              + c.logTail(30)
              + "\nkrill daemon log tail:\n"
              + c.krillLogTail(30));
    }
  }

  /**
   * {@code ctr run -d}: returns once the task is RUNNING, with its row from {@code ctr task ls}.
   */
  public static Tasks.Task runDetached(
      Containerd c, String ns, String image, String id, String... args) {
    c.ok(concat(List.of("-n", ns, "run", "-d", "--runtime", RUNTIME, image, id), args));
    return Tasks.awaitRunning(c, ns, id);
  }

  /**
   * {@code ctr run -d} of one container per id, {@code parallel} at a time, each with {@code args};
   * returns once every ctr has returned, failing on the first that did not succeed.
   */
  public static void runDetachedAll(
      Containerd c, String ns, String image, List<String> ids, int parallel, String... args)
      throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(parallel);
    try {
      List<Future<Result>> started = new ArrayList<>();
      for (String id : ids) {
        started.add(
            pool.submit(
                () ->
                    c.ok(
                        concat(
                            List.of("-n", ns, "run", "-d", "--runtime", RUNTIME, image, id),
                            args))));
      }
      for (Future<Result> f : started) {
        f.get();
      }
    } finally {
      pool.shutdownNow();
    }
  }

  /** SIGKILLs a task, waits for STOPPED and removes task and container. */
  public static void killAndRemove(Containerd c, String ns, String id) {
    c.ok("-n", ns, "task", "kill", "-s", "SIGKILL", id);
    Tasks.awaitStopped(c, ns, id);
    Result rm = c.ok("-n", ns, "task", "rm", id);
    // ctr reports a non-zero exit status only as a warning on stderr.
    assertTrue(rm.stderr().contains("exit code " + SIGKILL_EXIT), "task rm after SIGKILL: " + rm);
    c.ok("-n", ns, "container", "rm", id);
  }

  /**
   * Starts a foreground {@code ctr run --rm} in the background (stdin an open pipe), once RUNNING.
   */
  public static CtrProcess runInBackground(
      Containerd c, String ns, String image, String id, String... args) {
    CtrProcess p =
        c.ctrBackground(
            concat(List.of("-n", ns, "run", "--rm", "--runtime", RUNTIME, image, id), args));
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (System.nanoTime() < deadline) {
      Tasks.Task t = Tasks.list(c, ns).get(id);
      if (t != null && t.status().equals("RUNNING")) {
        return p;
      }
      if (!p.isAlive()) {
        fail("ctr run " + id + " ended before its task ran: " + p.await(Duration.ofSeconds(5)));
      }
      Host.sleep(100);
    }
    fail(
        "task "
            + id
            + " never RUNNING on "
            + c.version()
            + "; ctr so far: "
            + p.stderrSoFar()
            + "\ncontainerd log tail:\n"
            + c.logTail(30));
    return p;
  }

  /** The single krill daemon of this containerd, asserting there is exactly one. */
  public static long onlyDaemon(Containerd c) {
    List<Long> pids = c.krillDaemons().stream().map(Host.Proc::pid).toList();
    assertEquals(1, pids.size(), "krill daemons on " + c.version() + ": " + pids);
    return pids.get(0);
  }

  public static Map<String, Tasks.Task> tasks(Containerd c, String ns) {
    return Tasks.list(c, ns);
  }
}
