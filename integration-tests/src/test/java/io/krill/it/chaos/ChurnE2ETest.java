package io.krill.it.chaos;

import static io.krill.it.harness.KrillTasks.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.krill.it.harness.Containerd;
import io.krill.it.harness.ContainerdPerClass;
import io.krill.it.harness.ContainerdVersion;
import io.krill.it.harness.CtrEvents;
import io.krill.it.harness.CtrProcess;
import io.krill.it.harness.Host;
import io.krill.it.harness.ProcStats;
import io.krill.it.harness.Result;
import io.krill.it.harness.TestImages;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Container churn through one daemon: hundreds of containers started {@value #PARALLEL} at a time
 * with FIFO stdio (a foreground {@code ctr run} reads each container's output), each printing a
 * known payload, then killed and deleted. Every byte must arrive, every container must get one exit
 * event with status 137, and the daemon must give back the threads, file descriptors and memory it
 * took: a leak check, with the numbers printed.
 */
class ChurnE2ETest {
  @RegisterExtension
  static final ContainerdPerClass<Containerd> containerds = ContainerdPerClass.withKrill();

  private static final String NS = "krill-churn";
  private static final int PARALLEL = 8;
  private static final int LINES = 64;

  /**
   * What the daemon may keep after the churn: a pool thread or two, their descriptors; and RSS
   * growth over the second half of the churn (32 MiB is 128 KiB per container for 250).
   */
  private static final int THREAD_MARGIN = 4;

  private static final int FD_MARGIN = 4;
  private static final long RSS_MARGIN_KIB = 32 * 1024;

  /**
   * The full run on one version keeps the suite's time budget; the others get a tenth. {@code make
   * chaos} multiplies every count by {@code krill.chaos.scale} (10 unless told).
   */
  static Stream<Arguments> cases() {
    int scale = Integer.getInteger("krill.chaos.scale", 1);
    return Stream.of(
        Arguments.of(ContainerdVersion.V1_6, 50 * scale),
        Arguments.of(ContainerdVersion.V1_7, 50 * scale),
        Arguments.of(ContainerdVersion.V2_1, 500 * scale));
  }

  @ParameterizedTest(name = "{0}, {1} containers")
  @MethodSource("cases")
  void churnLosesNoByteNoExitAndLeaksNothing(ContainerdVersion v, int count) throws Exception {
    Containerd c = containerds.get(v);
    String image = TestImages.PROGS.importInto(c, NS);
    // Keeps the daemon up between containers (it leaves after 1 s without tasks in these tests).
    String anchor = id("anchor");
    runDetached(c, NS, image, anchor, "/sleep.wasm", "3600");
    long daemon = onlyDaemon(c);

    // Warm up first: class loading, JIT, pools grown to size belong to the baseline, not the leak.
    churn(c, image, ids(2 * PARALLEL));
    ProcStats start = ProcStats.of(daemon);

    List<String> ids = ids(count);
    AtomicReference<ProcStats> peak = new AtomicReference<>(start);
    AtomicBoolean sampling = new AtomicBoolean(true);
    Thread sampler =
        new Thread(
            () -> {
              while (sampling.get()) {
                ProcStats s = ProcStats.of(daemon);
                peak.updateAndGet(
                    p ->
                        new ProcStats(
                            daemon,
                            Math.max(p.threads(), s.threads()),
                            Math.max(p.fds(), s.fds()),
                            Math.max(p.rssKib(), s.rssKib())));
                Host.sleep(200);
              }
            },
            "sampler");
    int exitEvents;
    ProcStats middle;
    long began = System.nanoTime();
    try (CtrEvents events = CtrEvents.subscribe(c)) {
      sampler.start();
      try {
        churn(c, image, ids.subList(0, count / 2));
        middle = settle(daemon, start);
        churn(c, image, ids.subList(count / 2, count));
      } finally {
        sampling.set(false);
        sampler.join();
      }
      events.awaitExits(ids);
      for (String id : ids) {
        assertEquals(List.of(new CtrEvents.Exit(id, id, SIGKILL_EXIT)), events.exitsOf(id));
      }
      exitEvents = ids.stream().mapToInt(id -> events.exitsOf(id).size()).sum();
    }
    long seconds = (System.nanoTime() - began) / 1_000_000_000L;

    ProcStats end = settle(daemon, start);
    System.out.printf(
        "chaos churn %s: %d containers, %d at a time, in %d s; %d exit events (all %d), %d bytes"
            + " of stdout, all arrived%n  daemon before %s%n  halfway %s%n  peak %s%n"
            + "  after %s%n",
        v,
        count,
        PARALLEL,
        seconds,
        exitEvents,
        SIGKILL_EXIT,
        ids.stream().mapToLong(id -> payload(id).length()).sum(),
        start,
        middle,
        peak.get(),
        end);
    assertTrue(end.threads() <= start.threads() + THREAD_MARGIN, "threads: " + start + " → " + end);
    assertTrue(end.fds() <= start.fds() + FD_MARGIN, "fds: " + start + " → " + end);
    // The JVM's heap and the allocator's arenas grow to the load and stay; what must not happen is
    // growth with every container, so the second half is held to the first half's level.
    assertTrue(end.rssKib() <= middle.rssKib() + RSS_MARGIN_KIB, "RSS: " + middle + " → " + end);

    killAndRemove(c, NS, anchor);
    c.assertNoLeaks();
  }

  private static List<String> ids(int n) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(id("churn"));
    }
    return out;
  }

  /** The stream guest's output for tag {@code tag}: LINES numbered lines. */
  private static String payload(String tag) {
    StringBuilder b = new StringBuilder();
    for (int i = 1; i <= LINES; i++) {
      b.append(String.format("%s %08d%n", tag, i));
    }
    return b.toString();
  }

  /**
   * Each container: a foreground {@code ctr run --rm} (containerd's FIFOs carry its stdio) printing
   * its payload and then holding; once all of it has arrived, SIGKILL; ctr then deletes it.
   */
  private static void churn(Containerd c, String image, List<String> ids) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(PARALLEL);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (String id : ids) {
        done.add(pool.submit(() -> one(c, image, id)));
      }
      for (Future<?> f : done) {
        f.get();
      }
    } finally {
      pool.shutdownNow();
    }
  }

  private static void one(Containerd c, String image, String id) {
    String expected = payload(id);
    try (CtrProcess run =
        c.ctrBackground(
            "-n",
            NS,
            "run",
            "--rm",
            "--runtime",
            RUNTIME,
            image,
            id,
            "/stream.wasm",
            id,
            Integer.toString(LINES),
            "0",
            "600")) {
      run.awaitStdout(String.format("%s %08d%n", id, LINES), Duration.ofSeconds(60));
      c.ok("-n", NS, "task", "kill", "-s", "SIGKILL", id);
      Result r = run.await(Containerd.CTR_TIMEOUT);
      assertExit(c, SIGKILL_EXIT, r);
      if (!r.stdout().equals(expected)) {
        fail("stdout of " + id + " on " + c.version() + " differs from its payload: " + r);
      }
    }
  }

  /**
   * Waits (up to 30 s) for the daemon to wind down what it used for the churn: idle pool threads
   * end after their keep-alive, closed FIFOs are released.
   */
  private static ProcStats settle(long daemon, ProcStats start) {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    ProcStats s = ProcStats.of(daemon);
    while (System.nanoTime() < deadline
        && (s.threads() > start.threads() + THREAD_MARGIN || s.fds() > start.fds() + FD_MARGIN)) {
      Host.sleep(500);
      s = ProcStats.of(daemon);
    }
    return s;
  }
}
