package io.krill.it.shim;

import static io.krill.it.harness.KrillTasks.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.krill.it.harness.Containerd;
import io.krill.it.harness.ContainerdPerClass;
import io.krill.it.harness.ContainerdVersion;
import io.krill.it.harness.Host;
import io.krill.it.harness.Tasks;
import io.krill.it.harness.TestImages;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * CPU limits through real containerd: {@code ctr run --cpu-quota/--cpu-period} puts a spinning
 * guest's thread into a cgroup v1 with those limits, the kernel holds it to its quota, and the
 * cgroup goes with the task. The share bound is loose on purpose (a behaviour, not a benchmark).
 */
class CpuLimitsE2ETest {
  @RegisterExtension
  static final ContainerdPerClass<Containerd> containerds = ContainerdPerClass.withKrill();

  private static final String NS = "krill-cpu";
  private static final Path CPU = Path.of("/sys/fs/cgroup/cpu");
  private static final Path CPUACCT = Path.of("/sys/fs/cgroup/cpuacct");

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void aSpinningGuestIsHeldToItsQuotaInItsOwnCgroup(ContainerdVersion v) throws Exception {
    assumeTrue(
        Files.isRegularFile(CPU.resolve("cpu.cfs_quota_us")), "needs a cgroup v1 cpu hierarchy");
    Containerd c = containerds.get(v);
    String image = TestImages.PROGS.importInto(c, NS);
    String id = id("cpu");
    c.ok(
        "-n",
        NS,
        "run",
        "-d",
        // No reader would ever open a detached task's stdio FIFOs.
        "--null-io",
        "--runtime",
        RUNTIME,
        "--cpu-quota",
        "20000",
        "--cpu-period",
        "100000",
        image,
        id,
        "/spin.wasm");
    Tasks.awaitRunning(c, NS, id);
    long daemon = onlyDaemon(c);

    Path dir = find(CPU, id);
    assertEquals("20000", read(dir.resolve("cpu.cfs_quota_us")));
    assertEquals("100000", read(dir.resolve("cpu.cfs_period_us")));
    Path acct = CPUACCT.resolve(CPU.relativize(dir));
    List<String> tids = awaitThreads(dir);
    for (String tid : tids) {
      assertTrue(
          Files.isDirectory(Path.of("/proc/" + daemon + "/task/" + tid)),
          "thread " + tid + " in " + dir + " is not one of the daemon's (" + daemon + ")");
    }

    long used0 = Long.parseLong(read(acct.resolve("cpuacct.usage")));
    long wall0 = System.nanoTime();
    Host.sleep(3000);
    long used = Long.parseLong(read(acct.resolve("cpuacct.usage"))) - used0;
    long wall = System.nanoTime() - wall0;
    double share = (double) used / wall;
    System.out.printf(
        "%s: spinning guest with a 20%% quota used %.1f%% of a core%n", v, share * 100);
    assertTrue(share < 0.5, "a 20% quota let the guest use " + share * 100 + "% of a core");
    assertTrue(
        share > 0.02,
        "the spinning guest did not run: "
            + share * 100
            + "% of a core; its threads: "
            + tids.stream()
                .map(t -> read(Path.of("/proc/" + daemon + "/task/" + t + "/stat")))
                .toList()
            + "; cpu.stat: "
            + read(dir.resolve("cpu.stat"))
            + "\ncontainerd log tail:\n"
            + c.logTail(40));

    killAndRemove(c, NS, id);
    assertFalse(Files.exists(dir), dir + " left after the task was removed");
    assertFalse(Files.exists(acct), acct + " left after the task was removed");
    c.assertNoLeaks();
  }

  /** ctr puts a container's cgroup under one named after its namespace; that one stays behind. */
  @AfterAll
  static void removeNamespaceCgroups() throws IOException {
    for (Path root : List.of(CPU, CPUACCT)) {
      Path ns = root.resolve(NS);
      if (Files.isDirectory(ns)) {
        try (Stream<Path> children = Files.list(ns)) {
          if (children.noneMatch(Files::isDirectory)) {
            Files.delete(ns);
          }
        }
      }
    }
  }

  /** The container's cgroup: the directory named after it in the cpu hierarchy. */
  private static Path find(Path root, String id) throws IOException {
    try (Stream<Path> s = Files.walk(root, 5)) {
      return s.filter(p -> p.getFileName().toString().equals(id) && Files.isDirectory(p))
          .findFirst()
          .orElseThrow(() -> new AssertionError("no cgroup named " + id + " under " + root));
    }
  }

  private static List<String> awaitThreads(Path dir) {
    for (int i = 0; i < 100; i++) {
      List<String> tids = read(dir.resolve("tasks")).lines().filter(l -> !l.isBlank()).toList();
      if (!tids.isEmpty()) {
        return tids;
      }
      Host.sleep(100);
    }
    throw new AssertionError("no thread ever joined " + dir);
  }

  private static String read(Path p) {
    try {
      return Files.readString(p).trim();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
