package io.krill.it.shim;

import static io.krill.it.harness.KrillTasks.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.krill.it.harness.Containerd;
import io.krill.it.harness.ContainerdPerClass;
import io.krill.it.harness.ContainerdVersion;
import io.krill.it.harness.CtrProcess;
import io.krill.it.harness.Result;
import io.krill.it.harness.TestImages;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * An exec's stdio through {@code ctr task exec}: stdin from a pipe that the guest never reads, and
 * a terminal ({@code -t}) for execs and for a container's own process.
 */
class ExecStdioE2ETest {
  @RegisterExtension
  static final ContainerdPerClass<Containerd> containerds = ContainerdPerClass.withKrill();

  private static final String NS = "krill-execio";

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void execWithPipedStdin_endsWhenTheGuestExits(ContainerdVersion v) {
    Containerd c = containerds.get(v);
    String image = TestImages.PROGS.importInto(c, NS);
    String id = id("execin");
    runDetached(c, NS, image, id, "/sleep.wasm", "300");

    // echo hi | ctr task exec ...: a guest that never reads its stdin.
    Result piped =
        c.ctrWithStdin(
            "hi\n".getBytes(StandardCharsets.UTF_8),
            "-n",
            NS,
            "task",
            "exec",
            "--exec-id",
            "e1",
            id,
            "/hello.wasm");
    assertExit(c, 0, piped);
    assertEquals(HELLO, piped.stdout());

    // The pipe stays open: the guest's exit still ends ctr.
    try (CtrProcess open =
        c.ctrBackground("-n", NS, "task", "exec", "--exec-id", "e2", id, "/exit.wasm", "3")) {
      assertExit(c, 3, open.await(Duration.ofSeconds(30)));
    }

    // A guest that reads gets the input and end-of-file.
    Result cat =
        c.ctrWithStdin(
            "hi\n".getBytes(StandardCharsets.UTF_8),
            "-n",
            NS,
            "task",
            "exec",
            "--exec-id",
            "e3",
            id,
            "/stdin.wasm");
    assertExit(c, 0, cat);
    assertEquals("hi\neof\n", cat.stdout());

    killAndRemove(c, NS, id);
    c.assertNoLeaks();
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void execWithTerminal_oneOutputStreamAndTheGuestsExitCode(ContainerdVersion v)
      throws IOException {
    Containerd c = containerds.get(v);
    String image = TestImages.PROGS.importInto(c, NS);
    String id = id("exectty");
    runDetached(c, NS, image, id, "/sleep.wasm", "300");

    // ctr -t puts its terminal in raw mode and sends the shim its size (ResizePty) first.
    Result hello =
        c.ctrInTerminal("-n", NS, "task", "exec", "-t", "--exec-id", "t1", id, "/hello.wasm");
    assertExit(c, 0, hello);
    assertTrue(hello.stdout().contains(HELLO.trim()), hello.toString());
    // Under script, ctr's own errors (a refused resize is "console resize") come on the terminal.
    assertTrue(!hello.stdout().contains("resize"), hello.toString());

    Result three =
        c.ctrInTerminal("-n", NS, "task", "exec", "-t", "--exec-id", "t2", id, "/exit.wasm", "3");
    assertExit(c, 3, three);

    // A terminal has no stderr of its own: krill's message about the trap comes on the one stream.
    Result trap =
        c.ctrInTerminal("-n", NS, "task", "exec", "-t", "--exec-id", "t3", id, "/trap.wasm");
    assertExit(c, TRAP_EXIT, trap);
    assertTrue(trap.stdout().contains("wasm trap"), trap.toString());

    // ctr sent ResizePty for each; krill logs every refused call, and refused none.
    String daemonLog = daemonLogs(c);
    assertTrue(daemonLog.contains("exec t1"), daemonLog);
    assertTrue(!daemonLog.contains("ResizePty failed"), daemonLog);

    killAndRemove(c, NS, id);
    c.assertNoLeaks();
  }

  private static String daemonLogs(Containerd c) throws IOException {
    StringBuilder all = new StringBuilder();
    try (Stream<Path> files = Files.walk(c.runDir())) {
      for (Path p : files.filter(f -> f.getFileName().toString().equals("daemon.log")).toList()) {
        all.append(Files.readString(p));
      }
    }
    return all.toString();
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void runWithTerminal_containersOwnProcess(ContainerdVersion v) {
    Containerd c = containerds.get(v);
    String image = TestImages.PROGS.importInto(c, NS);
    String id = id("runtty");
    Result hello =
        c.ctrInTerminal(
            "-n", NS, "run", "-t", "--rm", "--runtime", RUNTIME, image, id, "/hello.wasm");
    assertExit(c, 0, hello);
    assertTrue(hello.stdout().contains(HELLO.trim()), hello.toString());

    String id2 = id("runtty");
    Result three =
        c.ctrInTerminal(
            "-n", NS, "run", "-t", "--rm", "--runtime", RUNTIME, image, id2, "/exit.wasm", "3");
    assertExit(c, 3, three);
    c.assertNoLeaks();
  }
}
