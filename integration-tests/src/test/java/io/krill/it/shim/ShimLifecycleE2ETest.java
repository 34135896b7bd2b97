package io.krill.it.shim;

import static io.krill.it.harness.KrillTasks.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.krill.it.harness.Containerd;
import io.krill.it.harness.ContainerdPerClass;
import io.krill.it.harness.ContainerdVersion;
import io.krill.it.harness.CtrProcess;
import io.krill.it.harness.Host;
import io.krill.it.harness.Result;
import io.krill.it.harness.Tasks;
import io.krill.it.harness.TestImages;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Task lifecycle under krill: detached tasks, signals, many tasks in one daemon, namespaces, a
 * killed daemon and a restarted containerd. No wall-time bounds here; timeouts only keep a broken
 * shim from hanging CI.
 */
class ShimLifecycleE2ETest {
  @RegisterExtension
  static final ContainerdPerClass<Containerd> containerds = ContainerdPerClass.withKrill();

  private static final String NS = "krill-life";

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void detachedTaskLifecycle(ContainerdVersion v) {
    Containerd c = containerds.get(v);
    String image = TestImages.PROGS.importInto(c, NS);
    String id = id("detached");
    Tasks.Task t = runDetached(c, NS, image, id, "/sleep.wasm", "300");
    assertTrue(t.pid() > 0, t.toString());

    Result ps = c.ok("-n", NS, "task", "ps", id);
    assertTrue(
        ps.stdoutLines().stream().skip(1).anyMatch(l -> l.trim().matches("\\d+.*")), ps.toString());
    c.ok("-n", NS, "task", "metrics", id);

    c.ok("-n", NS, "task", "kill", "-s", "SIGKILL", id);
    Tasks.awaitStopped(c, NS, id);
    c.ok("-n", NS, "task", "rm", id);
    c.ok("-n", NS, "container", "rm", id);
    c.assertNoLeaks();
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void execRunsAnotherEntryInTheContainer(ContainerdVersion v) {
    Containerd c = containerds.get(v);
    String image = TestImages.PROGS.importInto(c, NS);
    String id = id("exec");
    runDetached(c, NS, image, id, "/sleep.wasm", "300");

    Result hello = c.ok("-n", NS, "task", "exec", "--exec-id", "e1", id, "/hello.wasm");
    assertEquals(HELLO, hello.stdout());
    Result three = c.ctr("-n", NS, "task", "exec", "--exec-id", "e2", id, "/exit.wasm", "3");
    assertExit(c, 3, three);
    Result missing = c.ctr("-n", NS, "task", "exec", "--exec-id", "e3", id, "/nope.wasm");
    assertTrue(
        missing.exitCode() != 0
            && missing.stderr().contains("not found")
            && missing.stderr().contains(id),
        missing.toString());

    killAndRemove(c, NS, id);
    c.assertNoLeaks();
  }

  static Stream<Arguments> killCases() {
    List<Arguments> out = new ArrayList<>();
    for (ContainerdVersion v : ContainerdVersion.values()) {
      out.add(Arguments.of(v, "busy loop", new String[] {"/spin.wasm"}));
      out.add(Arguments.of(v, "sleeper", new String[] {"/sleep.wasm", "300"}));
      out.add(Arguments.of(v, "blocked stdin reader", new String[] {"/stdin.wasm"}));
    }
    return out.stream();
  }

  @ParameterizedTest(name = "{0}, {1}")
  @MethodSource("killCases")
  void killEndsAForegroundRun(ContainerdVersion v, String what, String[] args) throws Exception {
    Containerd c = containerds.get(v);
    String image = TestImages.PROGS.importInto(c, NS);
    for (String signal : new String[] {"SIGTERM", "SIGKILL"}) {
      String id = id("kill");
      // stdin stays an open, silent pipe: the stdin reader blocks until the kill.
      try (CtrProcess run = runInBackground(c, NS, image, id, args)) {
        if (signal.equals("SIGTERM")) {
          c.ok("-n", NS, "task", "kill", id);
        } else {
          c.ok("-n", NS, "task", "kill", "-s", signal, id);
        }
        Result r = run.await(Containerd.CTR_TIMEOUT);
        assertExit(c, signal.equals("SIGTERM") ? SIGTERM_EXIT : SIGKILL_EXIT, r);
      }
      assertFalse(tasks(c, NS).containsKey(id), "ctr run --rm left task " + id);
    }
    c.assertNoLeaks();
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void twentyTasksShareOneDaemon(ContainerdVersion v) throws Exception {
    Containerd c = containerds.get(v);
    String image = TestImages.PROGS.importInto(c, NS);
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      ids.add(id("many"));
    }
    ExecutorService pool = Executors.newFixedThreadPool(ids.size());
    try {
      List<Future<Result>> started = new ArrayList<>();
      for (String id : ids) {
        started.add(
            pool.submit(
                () ->
                    c.ok(
                        "-n",
                        NS,
                        "run",
                        "-d",
                        "--runtime",
                        RUNTIME,
                        image,
                        id,
                        "/sleep.wasm",
                        "300")));
      }
      for (Future<Result> f : started) {
        f.get();
      }
    } finally {
      pool.shutdownNow();
    }
    for (String id : ids) {
      Tasks.awaitRunning(c, NS, id);
    }
    Map<String, Tasks.Task> all = tasks(c, NS);
    long daemon = onlyDaemon(c);
    for (String id : ids) {
      assertEquals(new Tasks.Task(id, daemon, "RUNNING"), all.get(id));
    }
    for (String id : ids) {
      killAndRemove(c, NS, id);
    }
    c.assertNoLeaks();
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void namespacesAreIsolated(ContainerdVersion v) {
    Containerd c = containerds.get(v);
    String a = "krill-a";
    String b = "krill-b";
    String image = TestImages.PROGS.importInto(c, a);
    TestImages.PROGS.importInto(c, b);
    String id = id("same");
    runDetached(c, a, image, id, "/sleep.wasm", "300");
    runDetached(c, b, image, id, "/sleep.wasm", "300");
    killAndRemove(c, a, id);
    assertEquals(
        "RUNNING", tasks(c, b).get(id).status(), "killing " + a + "/" + id + " touched " + b);
    killAndRemove(c, b, id);

    String hello = id("same-hello");
    assertEquals(HELLO, runOk(c, a, image, hello, "/hello.wasm").stdout());
    assertEquals(HELLO, runOk(c, b, image, hello, "/hello.wasm").stdout());
    c.assertNoLeaks();
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void killedDaemonStopsItsTasks(ContainerdVersion v) {
    Containerd c = containerds.get(v);
    String image = TestImages.PROGS.importInto(c, NS);
    List<String> ids = List.of(id("orphan"), id("orphan"));
    for (String id : ids) {
      runDetached(c, NS, image, id, "/sleep.wasm", "300");
    }
    long daemon = tasks(c, NS).get(ids.get(0)).pid();
    assertEquals(daemon, onlyDaemon(c));

    try (CtrProcess events = c.ctrBackground("-n", NS, "events")) {
      Host.sleep(200); // let ctr events subscribe before anything happens
      assertTrue(ProcessHandle.of(daemon).map(ProcessHandle::destroyForcibly).orElse(false));
      for (String id : ids) {
        awaitNotRunning(c, id);
      }
      // containerd runs the shim's "delete" for a dead daemon and publishes its exit status.
      for (String id : ids) {
        events.awaitEvent(
            "/tasks/exit", "\"container_id\":\"" + id + "\"", "\"exit_status\":" + SIGKILL_EXIT);
      }
    }
    for (String id : ids) {
      if (tasks(c, NS).containsKey(id)) {
        c.ok("-n", NS, "task", "rm", id);
      }
      c.ok("-n", NS, "container", "rm", id);
    }
    assertEquals(HELLO, runOk(c, NS, image, id("after"), "/hello.wasm").stdout());
    c.assertNoLeaks();
  }

  /**
   * Once a task's shim connection is gone, containerd drops the task from its list (seen with
   * runc's shim on 1.6.20, 1.7.24 and 2.1.9); a shim that still answers must report it STOPPED.
   * Either is fine, RUNNING is not.
   */
  private static void awaitNotRunning(Containerd c, String id) {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (System.nanoTime() < deadline) {
      Tasks.Task t = tasks(c, NS).get(id);
      if (t == null || t.status().equals("STOPPED")) {
        return;
      }
      Host.sleep(100);
    }
    fail(id + " still listed as running after its daemon was killed: " + tasks(c, NS));
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void taskSurvivesContainerdRestart(ContainerdVersion v) {
    Containerd c = containerds.get(v);
    String image = TestImages.PROGS.importInto(c, NS);
    String id = id("survivor");
    Tasks.Task before = runDetached(c, NS, image, id, "/sleep.wasm", "300");
    long daemon = onlyDaemon(c);
    long containerdPid = c.pid();

    c.restart();
    assertNotEquals(containerdPid, c.pid());
    assertEquals(before, tasks(c, NS).get(id));
    assertEquals(daemon, onlyDaemon(c));
    killAndRemove(c, NS, id);
    c.assertNoLeaks();
  }
}
