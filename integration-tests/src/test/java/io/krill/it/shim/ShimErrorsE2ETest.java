package io.krill.it.shim;

import static io.krill.it.harness.KrillTasks.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.krill.it.harness.Containerd;
import io.krill.it.harness.ContainerdPerClass;
import io.krill.it.harness.ContainerdVersion;
import io.krill.it.harness.Result;
import io.krill.it.harness.TestImages;
import io.krill.it.harness.TestPrograms;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * What krill refuses through {@code ctr}, and how: signals a wasm guest cannot take, module paths
 * that name no module, each with the status code containerd's errdefs expect and a message naming
 * the container; and the daemon log, which names the container on every line about it.
 */
class ShimErrorsE2ETest {
  @RegisterExtension
  static final ContainerdPerClass<Containerd> containerds = ContainerdPerClass.withKrill();

  private static final String NS = "krill-errors";

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void invalidAndJobControlSignalsAreRefusedAndTheTaskKeepsRunning(ContainerdVersion v)
      throws IOException {
    Containerd c = containerds.get(v);
    String image = TestImages.PROGS.importInto(c, NS);
    String id = id("signals");
    runDetached(c, NS, image, id, "/sleep.wasm", "300");

    // As the kernel (and runc) would: a number that is no signal is an invalid argument.
    for (String signal : List.of("99999", "65")) {
      Result r = c.ctr("-n", NS, "task", "kill", "-s", signal, id);
      assertRefused(c, r, id, "INVALID_ARGUMENT", "signal " + signal);
      assertEquals("RUNNING", tasks(c, NS).get(id).status(), "after kill -s " + signal);
    }
    // A wasm guest cannot be stopped and continued: refused, never turned into a kill.
    for (String signal : List.of("SIGSTOP", "SIGCONT", "SIGTSTP")) {
      Result r = c.ctr("-n", NS, "task", "kill", "-s", signal, id);
      assertRefused(c, r, id, "UNIMPLEMENTED", signal);
      assertEquals("RUNNING", tasks(c, NS).get(id).status(), "after kill -s " + signal);
    }
    for (String verb : List.of("pause", "resume")) {
      Result r = c.ctr("-n", NS, "task", verb, id);
      assertRefused(c, r, id, "UNIMPLEMENTED", "a wasm guest cannot be paused");
      assertEquals("RUNNING", tasks(c, NS).get(id).status(), "after task " + verb);
    }
    // The task ends with SIGKILL's status, not with one of the refused signals'.
    killAndRemove(c, NS, id);
    c.assertNoLeaks();
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void modulePathsThatNameNoModuleAreInvalidArguments(ContainerdVersion v) throws IOException {
    Containerd c = containerds.get(v);
    Path rootfs = TestPrograms.populateRootfs(c.newDir("rootfs"));
    Files.createDirectories(rootfs.resolve("dir"));
    // args[0] → what the message must name.
    String[][] cases = {
      {"/missing.wasm", "module /missing.wasm not found"},
      {"/dir", "module /dir is a directory"},
      {"", "process.args[0] is empty"},
      {"../../../../etc/hostname", "module /../../../../etc/hostname not found"},
    };
    for (String[] k : cases) {
      String id = id("badpath");
      Result r = run(c, NS, "--rootfs", rootfs.toString(), id, k[0]);
      assertRefused(c, r, id, "INVALID_ARGUMENT", k[1]);
      assertFalse(tasks(c, NS).containsKey(id), "a refused create left task " + id);
      Result rm = c.ctr("-n", NS, "container", "rm", id);
      assertTrue(rm.ok() || rm.stderr().contains("not found"), rm.toString());
    }
    c.assertNoLeaks();
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void daemonLogNamesTheContainerOnEveryLineAboutIt(ContainerdVersion v) throws IOException {
    Containerd c = containerds.get(v);
    String image = TestImages.PROGS.importInto(c, NS);
    String hello = id("log-hello");
    runOk(c, NS, image, hello, "/hello.wasm");
    String killed = id("log-killed");
    runDetached(c, NS, image, killed, "/sleep.wasm", "300");
    killAndRemove(c, NS, killed);
    String bad = id("log-bad");
    assertFalse(run(c, NS, image, bad, "/missing.wasm").ok());
    c.ctr("-n", NS, "container", "rm", bad);

    List<String> helloLines = linesAbout(c, hello);
    assertHas(helloLines, hello, "created");
    assertHas(helloLines, hello, "started");
    assertHas(helloLines, hello, "exited with status 0");
    assertHas(helloLines, hello, "deleted");
    List<String> killedLines = linesAbout(c, killed);
    assertHas(killedLines, killed, "stopping on signal 9");
    assertHas(killedLines, killed, "exited with status 137");
    assertHas(linesAbout(c, bad), bad, "Create failed");
    c.assertNoLeaks();
  }

  /**
   * ctr failed, saying why and naming the container; the daemon logged the status it answered
   * ({@code <Method> failed (<CODE>)}) on a line about the container. containerd 1.x also shows the
   * code to ctr's user (errdefs' suffix, e.g. {@code : invalid argument}); 2.x drops that suffix.
   */
  private static void assertRefused(Containerd c, Result r, String id, String code, String says)
      throws IOException {
    assertTrue(
        r.exitCode() != 0 && r.stderr().contains(id) && r.stderr().contains(says),
        "expected a refusal naming " + id + " and saying '" + says + "': " + r);
    assertFalse(r.stderr().contains("unavailable"), r.toString());
    if (c.version() != ContainerdVersion.V2_1) {
      String suffix = code.toLowerCase(java.util.Locale.ROOT).replace('_', ' ');
      if (code.equals("UNIMPLEMENTED")) {
        suffix = "not implemented";
      }
      assertTrue(r.stderr().strip().endsWith(": " + suffix), "expected code " + code + ": " + r);
    }
    assertHas(linesAbout(c, id), id, "failed (" + code + "): " + says);
  }

  private static void assertHas(List<String> lines, String id, String what) {
    assertTrue(
        lines.stream().anyMatch(l -> l.contains(what)),
        "no line with container=" + id + " says '" + what + "': " + lines);
  }

  /** {@code grep container=ID} over every daemon log of this containerd. */
  private static List<String> linesAbout(Containerd c, String id) throws IOException {
    try (Stream<Path> files = Files.walk(c.runDir())) {
      return files
          .filter(f -> f.getFileName().toString().startsWith("daemon.log"))
          .sorted()
          .flatMap(ShimErrorsE2ETest::lines)
          .filter(l -> l.contains(" container=" + id + " "))
          .toList();
    }
  }

  private static Stream<String> lines(Path file) {
    try {
      return Files.readAllLines(file).stream();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
