package io.krill.it.shim;

import static io.krill.it.harness.KrillTasks.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.krill.it.harness.Containerd;
import io.krill.it.harness.ContainerdPerClass;
import io.krill.it.harness.ContainerdVersion;
import io.krill.it.harness.Host;
import io.krill.it.harness.Result;
import io.krill.it.harness.Tasks;
import io.krill.it.harness.TestImages;
import java.io.IOException;
import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * One daemon, both engines: {@code ctr run --annotation krill.io/engine=chicory} runs that
 * container on Chicory while the daemon's default (Wasmtime) runs the rest, an engine krill does
 * not have is refused, and a trap's cause reaches the container's stderr and the daemon's log on
 * either engine.
 */
class EnginePerContainerE2ETest {
  private static final String NS = "krill-engines";
  private static final String DIVIDE = "wasm trap: integer divide by zero";

  @RegisterExtension
  static final ContainerdPerClass<Containerd> containerds = ContainerdPerClass.withKrill();

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void annotationPicksTheEngine_trapsNameTheirCause(ContainerdVersion v) throws Exception {
    Containerd c = containerds.get(v);
    String image = TestImages.PROGS.importInto(c, NS);

    String onChicory = id("chicory");
    assertEquals(
        HELLO,
        runOk(c, NS, "--annotation", "krill.io/engine=chicory", image, onChicory, "/hello.wasm")
            .stdout());
    assertLogSays(c, onChicory, "created on engine chicory");
    String byDefault = id("default");
    assertEquals(HELLO, runOk(c, NS, image, byDefault, "/hello.wasm").stdout());
    assertLogSays(c, byDefault, "created on engine wasmtime");

    for (String engine : new String[] {"wasmtime", "chicory"}) {
      String id = id("divzero-" + engine);
      Result r =
          run(c, NS, "--annotation", "krill.io/engine=" + engine, image, id, "/divzero.wasm");
      assertExit(c, TRAP_EXIT, r);
      assertTrue(r.stderr().contains("krill: container " + id + ": " + DIVIDE), r.toString());
      assertLogSays(c, id, "trapped: " + DIVIDE);
    }

    String unknown = id("v8");
    Result refused =
        run(c, NS, "--annotation", "krill.io/engine=v8", image, unknown, "/hello.wasm");
    assertNotEquals(0, refused.exitCode(), refused.toString());
    assertTrue(refused.stderr().contains("container " + unknown), refused.toString());
    assertTrue(refused.stderr().contains("krill.io/engine=v8"), refused.toString());
    assertTrue(refused.stderr().contains("use one of wasmtime, chicory"), refused.toString());
    c.assertNoLeaks();
  }

  /**
   * A Chicory guest's linear memory lives outside the daemon's Java heap, as a Wasmtime guest's
   * does: a guest allowed four times the daemon's 256 MiB heap fills it, is OOMKilled alone, and
   * the daemon and a container beside it carry on.
   */
  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void chicoryGuestBeyondTheDaemonsHeap_isOomKilledAlone(ContainerdVersion v) {
    Containerd c = containerds.get(v);
    String image = TestImages.PROGS.importInto(c, NS);
    String keeper = id("keeper");
    Tasks.Task before = runDetached(c, NS, image, keeper, "/sleep.wasm", "300");
    long daemon = onlyDaemon(c);

    String hog = id("chicory-hog");
    Result r =
        run(
            c,
            NS,
            "--annotation",
            "krill.io/engine=chicory",
            "--memory-limit",
            Long.toString(1L << 30),
            image,
            hog,
            "/memhog.wasm");
    Matcher m = Pattern.compile("allocated (\\d+) MiB").matcher(r.stdout());
    assertTrue(m.find(), "memhog did not report its allocation: " + r);
    int mib = Integer.parseInt(m.group(1));
    assertTrue(mib > 512 && mib < 1024, "allocated " + mib + " MiB under a 1 GiB limit: " + r);
    assertExit(c, 137, r);
    assertTrue(r.stderr().contains("out of memory"), r.toString());

    assertEquals(before, tasks(c, NS).get(keeper), "the container beside it");
    assertEquals(daemon, onlyDaemon(c), "the same daemon");
    assertEquals(
        HELLO,
        runOk(c, NS, "--annotation", "krill.io/engine=chicory", image, id("hello"), "/hello.wasm")
            .stdout());
    killAndRemove(c, NS, keeper);
    c.assertNoLeaks();
  }

  /**
   * wasmtime-java keeps every WASI call's arguments on the daemon's heap until the guest's run
   * ends: three million one-byte writes filled the daemon's heap and ended it, with the container
   * beside it. The daemon's call budget stops that guest alone, saying why and what to do.
   */
  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void wasmtimeGuestMakingMillionsOfWasiCalls_isStoppedAlone(ContainerdVersion v) {
    Containerd c = containerds.get(v);
    String image = TestImages.PROGS.importInto(c, NS);
    String keeper = id("keeper");
    Tasks.Task before = runDetached(c, NS, image, keeper, "/sleep.wasm", "300");
    long daemon = onlyDaemon(c);

    String chatty = id("chatty");
    Result r = run(c, NS, image, chatty, "/writes.wasm", "3000000");
    assertExit(c, TRAP_EXIT, r);
    assertTrue(r.stderr().contains("container " + chatty + ": stopped after "), r.stderr());
    assertTrue(r.stderr().contains("krill.io/engine=chicory"), r.stderr());
    long written = r.stdout().length();
    assertTrue(written > 100_000 && written < 3_000_000, written + " bytes written");

    assertEquals(before, tasks(c, NS).get(keeper), "the container beside it");
    assertEquals(daemon, onlyDaemon(c), "the same daemon");
    assertEquals(
        "",
        runOk(
                c,
                NS,
                "--annotation",
                "krill.io/engine=chicory",
                image,
                id("w"),
                "/writes.wasm",
                "1000")
            .stderr());
    assertEquals(HELLO, runOk(c, NS, image, id("hello"), "/hello.wasm").stdout());
    killAndRemove(c, NS, keeper);
    c.assertNoLeaks();
  }

  private static void assertLogSays(Containerd c, String id, String what) throws IOException {
    String logs = Host.daemonLogs(c.runDir());
    assertTrue(
        Arrays.stream(logs.split("\n"))
            .anyMatch(l -> l.contains("container=" + id + " ") && l.contains(what)),
        "no daemon log line with container=" + id + " says '" + what + "': " + logs);
  }
}
