package io.krill.it.chaos;

import static io.krill.it.harness.KrillTasks.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.krill.it.harness.Containerd;
import io.krill.it.harness.ContainerdPerClass;
import io.krill.it.harness.ContainerdVersion;
import io.krill.it.harness.Host;
import io.krill.it.harness.Tasks;
import io.krill.it.harness.TestImages;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * What krill's daemons leave of the CPU cgroups they make: nothing, once they are gone, whether a
 * daemon was killed with its containers running or left when idle. A ctr container's cgroup is
 * containerd's default {@code /<namespace>/<id>}, in the cpu and cpuacct hierarchies; each test
 * uses a namespace of its own, so {@link Containerd#assertNoLeaks} checks that no {@code
 * /<namespace>} directory is left.
 */
class CgroupCleanupE2ETest {
  @RegisterExtension
  static final ContainerdPerClass<Containerd> containerds = ContainerdPerClass.withKrill();

  private static final Path CPU = Path.of("/sys/fs/cgroup/cpu");
  private static final Path CPUACCT = Path.of("/sys/fs/cgroup/cpuacct");

  @BeforeAll
  static void cgroupV1() {
    assumeTrue(
        Files.isRegularFile(CPU.resolve("tasks")) && Files.isRegularFile(CPUACCT.resolve("tasks")),
        "krill makes CPU cgroups only in cgroup v1 cpu and cpuacct hierarchies");
  }

  private static String namespace(String what, ContainerdVersion v) {
    return "krill-cg-"
        + what
        + "-"
        + v.name().toLowerCase(Locale.ROOT).replace('_', '-')
        + "-"
        + ProcessHandle.current().pid();
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void cgroupsOfAKilledDaemonsContainersGoWithTheirTasks(ContainerdVersion v) throws Exception {
    Containerd c = containerds.get(v);
    String ns = namespace("kill", v);
    String image = TestImages.PROGS.importInto(c, ns);
    List<String> ids = IntStream.range(0, 3).mapToObj(i -> id("killed")).toList();
    runDetachedAll(c, ns, image, ids, 3, "/sleep.wasm", "600");
    long daemon = onlyDaemon(c);
    for (String id : ids) {
      for (Path root : List.of(CPU, CPUACCT)) {
        Path dir = root.resolve(ns).resolve(id);
        assertTrue(Files.isDirectory(dir), "cgroup of running container " + id + ": " + dir);
      }
    }

    assertEquals(0, Host.run("kill", "-9", Long.toString(daemon)));
    for (String id : ids) {
      Tasks.Task t = awaitStoppedOrGone(c, ns, id);
      if (t != null) {
        c.ok("-n", ns, "task", "rm", id);
      }
      c.ok("-n", ns, "container", "rm", id);
    }
    // The launcher's delete of each dead task removes the task's own cgroup directories, which the
    // killed daemon recorded in its run dir.
    for (String id : ids) {
      for (Path root : List.of(CPU, CPUACCT)) {
        Path dir = root.resolve(ns).resolve(id);
        awaitGone(dir, "cgroup of container " + id + " of the killed daemon");
      }
    }
    boolean nsLeft = Files.isDirectory(CPU.resolve(ns));

    // The next daemon of the namespace removes the rest (containerd's /<ns>) as it starts, or at
    // its exit.
    assertEquals(HELLO, runOk(c, ns, image, id("hello"), "/hello.wasm").stdout());
    assertNotEquals(daemon, onlyDaemon(c));
    System.out.printf(
        "cgroups %s: 0 of %d containers' cgroups left after kill -9 of the daemon and the tasks'"
            + " delete; namespace directory %s until the next daemon%n",
        v, ids.size(), nsLeft ? "left" : "gone");
    // The next daemon's idle exit removes the namespace's directory.
    c.assertNoLeaks();
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void anIdleDaemonLeavesNoNamespaceCgroup(ContainerdVersion v) throws Exception {
    Containerd c = containerds.get(v);
    String ns = namespace("idle", v);
    String image = TestImages.PROGS.importInto(c, ns);
    // The first container's cgroup creation makes /<ns>; it is deleted while the second still
    // has its cgroup there, so the last container's deletion does not remove /<ns>.
    String first = id("first");
    String second = id("second");
    runDetached(c, ns, image, first, "/sleep.wasm", "600");
    runDetached(c, ns, image, second, "/sleep.wasm", "600");
    killAndRemove(c, ns, first);
    killAndRemove(c, ns, second);
    boolean leftAfterDeletes = Files.isDirectory(CPU.resolve(ns));
    System.out.printf(
        "cgroups %s: namespace directory %s after the last delete%n",
        v, leftAfterDeletes ? "still there" : "gone");
    c.assertNoLeaks();
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void aDaemonStoppedBySigtermLeavesNoEmptyCgroup(ContainerdVersion v) throws Exception {
    Containerd c = containerds.get(v);
    String ns = namespace("term", v);
    String image = TestImages.PROGS.importInto(c, ns);
    String first = id("first");
    String second = id("second");
    runDetached(c, ns, image, first, "/sleep.wasm", "600");
    runDetached(c, ns, image, second, "/sleep.wasm", "600");
    killAndRemove(c, ns, first);
    killAndRemove(c, ns, second);
    // Within its accept grace (5 s after the last call) the daemon is still up: stop it.
    long daemon = onlyDaemon(c);
    assertEquals(0, Host.run("kill", "-TERM", Long.toString(daemon)));
    long deadline = System.nanoTime() + Containerd.DAEMON_EXIT_TIMEOUT.toNanos();
    while (Host.alive(daemon)) {
      assertTrue(System.nanoTime() < deadline, "daemon " + daemon + " alive after SIGTERM");
      Host.sleep(50);
    }
    assertEquals(List.of(), Containerd.cgroupDirs(ns), "cgroups of " + ns + " after SIGTERM");
    c.assertNoLeaks();
  }

  /**
   * containerd runs the launcher's delete of a dead shim's task as it notices, not on ctr's call.
   */
  private static void awaitGone(Path dir, String what) {
    long deadline = System.nanoTime() + Containerd.DAEMON_EXIT_TIMEOUT.toNanos();
    while (Files.exists(dir)) {
      assertTrue(System.nanoTime() < deadline, what + " still there: " + dir);
      Host.sleep(50);
    }
  }

  private static Tasks.Task awaitStoppedOrGone(Containerd c, String ns, String id) {
    long deadline = System.nanoTime() + Containerd.CTR_TIMEOUT.toNanos();
    while (true) {
      Tasks.Task t = Tasks.list(c, ns).get(id);
      if (t == null || t.status().equals("STOPPED")) {
        return t;
      }
      assertTrue(System.nanoTime() < deadline, id + " after kill -9 of the daemon: " + t);
      Host.sleep(100);
    }
  }
}
