package io.krill.it.shim;

import static io.krill.it.harness.KrillTasks.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.krill.it.harness.Containerd;
import io.krill.it.harness.ContainerdPerClass;
import io.krill.it.harness.ContainerdVersion;
import io.krill.it.harness.CtrProcess;
import io.krill.it.harness.Host;
import io.krill.it.harness.MemoryCgroup;
import io.krill.it.harness.Result;
import io.krill.it.harness.Tasks;
import io.krill.it.harness.TestImages;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The daemon's memory budget under {@code ctr}: a container whose memory cap would overrun it is
 * refused at create with a message that says what to do, the ones that fit run, and a guest without
 * a limit gets the default cap, so growing its memory ends it (137, {@code /tasks/oom}) and never
 * the daemon or its siblings. The daemons get a 160 MiB budget and a 48 MiB default limit through
 * containerd's environment.
 */
class MemoryBudgetE2ETest {
  private static final String NS = "krill-budget";
  private static final String BUDGET = "160Mi";
  private static final int DEFAULT_LIMIT_MIB = 48;

  @RegisterExtension
  static final ContainerdPerClass<Containerd> containerds =
      ContainerdPerClass.withKrill(
          Map.of(
              "KRILL_MEMORY_BUDGET",
              BUDGET,
              "KRILL_DEFAULT_MEMORY_LIMIT",
              DEFAULT_LIMIT_MIB + "Mi"));

  private static String mib(int n) {
    return Long.toString((long) n << 20);
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void capBeyondTheBudget_refusedAtCreate_whileTheOnesThatFitRun(ContainerdVersion v) {
    Containerd c = containerds.get(v);
    String image = TestImages.PROGS.importInto(c, NS);
    String a = id("a");
    String b = id("b");
    sleeper(c, image, a, mib(64));
    sleeper(c, image, b, mib(64));
    long daemon = onlyDaemon(c);

    String refused = id("refused");
    Result r = run(c, NS, "--memory-limit", mib(64), image, refused, "/hello.wasm");

    assertFalse(r.ok(), "a 64 MiB cap on top of 128 of 160 MiB must be refused: " + r);
    assertTrue(
        r.stderr().contains("container " + refused + ": refused: it has a memory limit of 64 MiB"),
        "ctr shows the refusal, naming the container and its cap: " + r);
    assertTrue(
        r.stderr().contains("memory budget for guests is 160 MiB, of which 128 MiB is held by 2"),
        "ctr shows the budget: " + r);
    assertTrue(
        r.stderr().contains("KRILL_MEMORY_BUDGET")
            && r.stderr().contains("wait for other containers to end"),
        "ctr shows what to do: " + r);
    assertTrue(daemonLog(c).contains("container " + refused + ": refused"), "logged");
    assertFalse(tasks(c, NS).containsKey(refused), "a refused container leaves no task");

    // What fits still runs, beside the two that hold most of the budget, in the same daemon.
    Result small = runOk(c, NS, "--memory-limit", mib(16), image, id("small"), "/hello.wasm");
    assertEquals(HELLO, small.stdout());
    assertEquals(daemon, onlyDaemon(c));

    // A task that ends gives its cap back: now the refused size fits. The cap is released when the
    // guest's thread has let go of its memory, which on a loaded machine may be a little after
    // containerd saw the task stop (a kill is reported within 700 ms even if the thread lags).
    killAndRemove(c, NS, a);
    Result later = runOnceItFits(c, image, id("later"), mib(64));
    assertEquals(HELLO, later.stdout(), later.toString());

    killAndRemove(c, NS, b);
    c.assertNoLeaks();
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void guestWithoutLimit_cappedByTheDefault_reportedOom_siblingsKeepRunning(ContainerdVersion v) {
    Containerd c = containerds.get(v);
    String image = TestImages.PROGS.importInto(c, NS);
    List<String> siblings = List.of(id("sibling"), id("sibling"));
    sleeper(c, image, siblings.get(0), mib(32));
    runDetached(c, NS, image, siblings.get(1), "/sleep.wasm", "300");
    long daemon = onlyDaemon(c);

    String hog = id("memhog");
    Result r;
    try (CtrProcess events = c.ctrBackground("-n", NS, "events")) {
      Host.sleep(200); // let ctr events subscribe before anything happens
      r = run(c, NS, image, hog, "/memhog.wasm");
      events.awaitEvent("/tasks/oom", "\"container_id\":\"" + hog + "\"");
      events.awaitEvent(
          "/tasks/exit", "\"container_id\":\"" + hog + "\"", "\"exit_status\":" + SIGKILL_EXIT);
    }

    assertExit(c, SIGKILL_EXIT, r);
    Matcher m = Pattern.compile("allocated (\\d+) MiB").matcher(r.stdout());
    assertTrue(m.find(), "memhog did not report its allocation: " + r);
    assertTrue(
        Integer.parseInt(m.group(1)) < DEFAULT_LIMIT_MIB,
        "allocated beyond the " + DEFAULT_LIMIT_MIB + " MiB default limit: " + r);
    assertTrue(r.stderr().contains("out of memory"), r.toString());
    assertEquals(daemon, onlyDaemon(c), "the daemon survived");
    for (String s : siblings) {
      assertEquals("RUNNING", tasks(c, NS).get(s).status(), s + " survived");
    }
    for (String s : siblings) {
      killAndRemove(c, NS, s);
    }
    c.assertNoLeaks();
  }

  /**
   * The failure, for real: the daemon in a 1 GiB memory cgroup, its budget derived from
   * that limit, and a guest without a limit that allocates until it cannot. With the default cap
   * the guest ends OOM at 256 MiB; without it the guest grew until the kernel killed the daemon and
   * every task in it.
   */
  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void daemonInAMemoryCgroup_survivesAGuestGrowingWithoutLimit(ContainerdVersion v) {
    try (MemoryCgroup cgroup = MemoryCgroup.create("krill-it-budget", 1L << 30);
        Containerd c = Containerd.start(v, cgroup.javaEnv())) {
      String image = TestImages.PROGS.importInto(c, NS);
      List<String> siblings = List.of(id("sibling"), id("sibling"), id("sibling"));
      for (String s : siblings) {
        sleeper(c, image, s, mib(16));
      }
      long daemon = onlyDaemon(c);
      assertTrue(cgroup.pids().contains(daemon), "the daemon runs in the cgroup: " + cgroup.pids());
      String log = daemonLog(c);
      assertTrue(
          log.contains("(the daemon's memory cgroup limit (1024 MiB) minus the JVM's maximum heap"),
          "the budget comes from the cgroup: " + log);
      assertTrue(log.contains("default memory limit: 256 MiB"), log);

      Result big = run(c, NS, "--memory-limit", mib(1024), image, id("big"), "/memhog.wasm");
      assertFalse(big.ok(), "a 1 GiB cap cannot fit a 1 GiB cgroup beside the JVM: " + big);
      assertTrue(big.stderr().contains("give it a lower memory limit"), big.toString());

      Result r = run(c, NS, image, id("memhog"), "/memhog.wasm");

      assertExit(c, SIGKILL_EXIT, r);
      Matcher m = Pattern.compile("allocated (\\d+) MiB").matcher(r.stdout());
      assertTrue(m.find() && Integer.parseInt(m.group(1)) >= 200, "grew to its cap: " + r);
      assertTrue(r.stderr().contains("out of memory"), r.toString());
      assertEquals(daemon, onlyDaemon(c), "the daemon survived");
      for (String s : siblings) {
        assertEquals("RUNNING", tasks(c, NS).get(s).status(), s + " survived");
      }
      for (String s : siblings) {
        killAndRemove(c, NS, s);
      }
      c.assertNoLeaks();
    }
  }

  /** {@code ctr run --rm --memory-limit LIMIT IMAGE ID /hello.wasm}, again while refused. */
  private static Result runOnceItFits(Containerd c, String image, String id, String limit) {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (true) {
      Result r = run(c, NS, "--memory-limit", limit, image, id, "/hello.wasm");
      if (r.ok() || !r.stderr().contains(": refused: ") || System.nanoTime() > deadline) {
        return r;
      }
      Host.sleep(200);
    }
  }

  /** {@code ctr run -d --memory-limit LIMIT IMAGE ID /sleep.wasm 300}, once RUNNING. */
  private static void sleeper(Containerd c, String image, String id, String limit) {
    c.ok(
        "-n",
        NS,
        "run",
        "-d",
        "--runtime",
        RUNTIME,
        "--memory-limit",
        limit,
        image,
        id,
        "/sleep.wasm",
        "300");
    Tasks.awaitRunning(c, NS, id);
  }

  private static String daemonLog(Containerd c) {
    try (Stream<Path> files = Files.walk(c.runDir())) {
      return files
          .filter(p -> p.getFileName().toString().startsWith("daemon.log"))
          .map(MemoryBudgetE2ETest::read)
          .collect(Collectors.joining());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String read(Path p) {
    try {
      return Files.readString(p);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
