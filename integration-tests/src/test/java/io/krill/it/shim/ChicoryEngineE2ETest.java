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
import io.krill.it.harness.Result;
import io.krill.it.harness.TestImages;
import java.util.Map;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The pure-Java engine under {@code ctr}: with {@code KRILL_ENGINE=chicory} in containerd's
 * environment the daemon runs its guests on Chicory, and they print, exit with their codes, trap
 * with the cause and are killed in a busy loop as on Wasmtime.
 */
class ChicoryEngineE2ETest {
  private static final String NS = "krill-chicory";

  @RegisterExtension
  static final ContainerdPerClass<Containerd> containerds =
      ContainerdPerClass.withKrill(Map.of("KRILL_ENGINE", "chicory"));

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void helloExitTrapAndKill_onChicory(ContainerdVersion v) throws Exception {
    Containerd c = containerds.get(v);
    String image = TestImages.PROGS.importInto(c, NS);

    assertEquals(HELLO, runOk(c, NS, image, id("hello"), "/hello.wasm").stdout());
    assertTrue(
        Host.daemonLogs(c.runDir()).contains("engine chicory"),
        "the daemon says which engine it runs: " + Host.daemonLogs(c.runDir()));
    for (int code : new int[] {42, 200}) {
      assertExit(c, code, run(c, NS, image, id("exit"), "/exit.wasm", Integer.toString(code)));
    }
    Result trap = run(c, NS, image, id("trap"), "/trap.wasm");
    assertExit(c, TRAP_EXIT, trap);
    assertTrue(trap.stderr().contains("wasm trap: unreachable"), trap.toString());

    String spin = id("spin");
    try (CtrProcess run = runInBackground(c, NS, image, spin, "/spin.wasm")) {
      c.ok("-n", NS, "task", "kill", "-s", "SIGKILL", spin);
      assertExit(c, SIGKILL_EXIT, run.await(Containerd.CTR_TIMEOUT));
    }
    assertFalse(tasks(c, NS).containsKey(spin), "ctr run --rm left task " + spin);
    c.assertNoLeaks();
  }

  /**
   * A module whose compile would not fit the daemon's Java heap is refused for its own container:
   * compiling a 7 MiB module on Chicory used to end the daemon with {@code OutOfMemoryError}, and
   * with it every container it ran.
   */
  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void moduleTooBigForTheHeap_refusedForItsContainer_theOthersRunOn(ContainerdVersion v)
      throws Exception {
    Containerd c = containerds.get(v);
    String image = TestImages.PROGS.importInto(c, NS);
    String big = TestImages.BIG.importInto(c, NS);
    String sleeper = id("sleeper");
    try (CtrProcess s = runInBackground(c, NS, image, sleeper, "/sleep.wasm", "3600")) {
      long daemon = onlyDaemon(c);
      String bigId = id("big");

      Result r = run(c, NS, big, bigId);

      assertFalse(r.ok(), r.toString());
      assertTrue(r.stderr().contains("container " + bigId + ": module /big.wasm ("), r.toString());
      assertTrue(r.stderr().contains("is too big for the chicory engine"), r.toString());
      assertTrue(r.stderr().contains("krill.io/engine: wasmtime"), r.toString());
      assertEquals("RUNNING", tasks(c, NS).get(sleeper).status(), "the other container runs on");
      assertEquals(daemon, onlyDaemon(c), "the daemon that ran it before still does");
      c.ok("-n", NS, "task", "kill", "-s", "SIGKILL", sleeper);
      assertExit(c, SIGKILL_EXIT, s.await(Containerd.CTR_TIMEOUT));
    }
    c.assertNoLeaks();
  }
}
