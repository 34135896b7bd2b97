package io.krill.it.shim;

import static io.krill.it.harness.KrillTasks.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.krill.it.harness.Containerd;
import io.krill.it.harness.ContainerdPerClass;
import io.krill.it.harness.ContainerdVersion;
import io.krill.it.harness.CtrProcess;
import io.krill.it.harness.Result;
import io.krill.it.harness.Tasks;
import io.krill.it.harness.TestImages;
import io.krill.it.harness.TestPrograms;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * What a wasm task does under {@code ctr run --runtime io.containerd.krill.v1}: output, argv and
 * env, exit codes, traps, the filesystem it sees, resource limits. One private containerd per
 * version serves the whole class.
 */
class ShimE2ETest {
  @RegisterExtension
  static final ContainerdPerClass<Containerd> containerds = ContainerdPerClass.withKrill();

  private static final String NS = "krill-e2e";

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void helloFromImageEntrypoint(ContainerdVersion v) {
    Containerd c = containerds.get(v);
    String image = TestImages.HELLO.importInto(c, NS);
    Result r = runOk(c, NS, image, id("hello"));
    assertEquals(HELLO, r.stdout());
    c.assertNoLeaks();
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void helloFromRootfs(ContainerdVersion v) {
    Containerd c = containerds.get(v);
    Path rootfs = TestPrograms.populateRootfs(c.newDir("rootfs"));
    Result r = runOk(c, NS, "--rootfs", rootfs.toString(), id("hello"), "/hello.wasm");
    assertEquals(HELLO, r.stdout());
    c.assertNoLeaks();
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void argsAndEnvComeFromTheSpec(ContainerdVersion v) throws Exception {
    Containerd c = containerds.get(v);
    String image = TestImages.PROGS.importInto(c, NS);
    String[] args = {"/args.wasm", "one", "two words", ""};
    // ctr builds the same spec for create as for run, so a created twin shows the env the guest
    // must see.
    String twin = id("twin");
    c.ok(
        concat(
            List.of(
                "-n",
                NS,
                "container",
                "create",
                "--runtime",
                RUNTIME,
                "--env",
                "FOO=bar",
                image,
                twin),
            args));
    JsonNode spec =
        new ObjectMapper().readTree(c.ok("-n", NS, "container", "info", "--spec", twin).stdout());
    c.ok("-n", NS, "container", "rm", twin);
    List<String> expected = new ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      expected.add("arg[" + i + "]=" + args[i]);
    }
    spec.path("process").path("env").forEach(e -> expected.add("env:" + e.asText()));
    assertTrue(expected.contains("env:FOO=bar"), expected.toString());
    assertTrue(expected.contains("env:" + TestImages.IMAGE_ENV), expected.toString());

    Result r = runOk(c, NS, concat(List.of("--env", "FOO=bar", image, id("args")), args));
    assertEquals(expected, r.stdoutLines());
    c.assertNoLeaks();
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void exitCodeIsTheGuests(ContainerdVersion v) {
    Containerd c = containerds.get(v);
    String image = TestImages.PROGS.importInto(c, NS);
    for (int code : new int[] {0, 3, 42}) {
      assertExit(c, code, run(c, NS, image, id("exit"), "/exit.wasm", Integer.toString(code)));
    }
    c.assertNoLeaks();
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void trapExits134WithMessage(ContainerdVersion v) {
    Containerd c = containerds.get(v);
    String image = TestImages.PROGS.importInto(c, NS);
    Result r = run(c, NS, image, id("trap"), "/trap.wasm");
    assertExit(c, TRAP_EXIT, r);
    assertTrue(r.stderr().contains("wasm trap"), r.toString());
    c.assertNoLeaks();
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void readsAFileFromAnImageLayer(ContainerdVersion v) {
    Containerd c = containerds.get(v);
    String image = TestImages.PROGS.importInto(c, NS);
    Result r = runOk(c, NS, image, id("read"), "/files.wasm", "read", TestImages.GREETING_PATH);
    assertEquals(TestImages.GREETING, r.stdout());
    Result missing = run(c, NS, image, id("read"), "/files.wasm", "read", "/no/such/file");
    assertExit(c, 1, missing);
    assertFalse(missing.stderr().isBlank(), missing.toString());
    c.assertNoLeaks();
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void writesIntoAHostRootfs(ContainerdVersion v) throws Exception {
    Containerd c = containerds.get(v);
    Path rootfs = TestPrograms.populateRootfs(c.newDir("rootfs"));
    runOk(
        c,
        NS,
        "--rootfs",
        rootfs.toString(),
        id("write"),
        "/files.wasm",
        "write",
        "/out.txt",
        "hi");
    assertEquals("hi", Files.readString(rootfs.resolve("out.txt")));
    Result ls = runOk(c, NS, "--rootfs", rootfs.toString(), id("ls"), "/files.wasm", "ls", "/");
    assertTrue(ls.stdoutLines().containsAll(List.of("out.txt", "hello.wasm")), ls.toString());
    c.assertNoLeaks();
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void bindMountReadWrite(ContainerdVersion v) throws Exception {
    Containerd c = containerds.get(v);
    String image = TestImages.PROGS.importInto(c, NS);
    Path host = c.newDir("data");
    Files.writeString(host.resolve("in.txt"), "from the host");
    String mount = "type=bind,src=" + host + ",dst=/data,options=rbind:rw";

    Result read =
        runOk(c, NS, "--mount", mount, image, id("bind"), "/files.wasm", "read", "/data/in.txt");
    assertEquals("from the host", read.stdout());
    runOk(
        c,
        NS,
        "--mount",
        mount,
        image,
        id("bind"),
        "/files.wasm",
        "write",
        "/data/out.txt",
        "from wasm");
    assertEquals("from wasm", Files.readString(host.resolve("out.txt")));
    Result ls = runOk(c, NS, "--mount", mount, image, id("bind"), "/files.wasm", "ls", "/data");
    assertEquals(List.of("in.txt", "out.txt"), ls.stdoutLines().stream().sorted().toList());
    c.assertNoLeaks();
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void bindMountReadOnlyRefusesWrites(ContainerdVersion v) throws Exception {
    Containerd c = containerds.get(v);
    String image = TestImages.PROGS.importInto(c, NS);
    Path host = c.newDir("data");
    Files.writeString(host.resolve("in.txt"), "read only");
    String mount = "type=bind,src=" + host + ",dst=/data,options=rbind:ro";

    Result read =
        runOk(c, NS, "--mount", mount, image, id("ro"), "/files.wasm", "read", "/data/in.txt");
    assertEquals("read only", read.stdout());
    Result write =
        run(c, NS, "--mount", mount, image, id("ro"), "/files.wasm", "write", "/data/out.txt", "x");
    assertTrue(write.exitCode() != 0, "write to a read-only mount succeeded: " + write);
    assertFalse(Files.exists(host.resolve("out.txt")), "file appeared on the host");
    c.assertNoLeaks();
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void stdinReachesTheGuest(ContainerdVersion v) throws Exception {
    Containerd c = containerds.get(v);
    String image = TestImages.PROGS.importInto(c, NS);
    String id = id("stdin");
    // A foreground ctr run never closes the task's stdin (no CloseIO), so the guest echoes and is
    // killed.
    try (CtrProcess run = runInBackground(c, NS, image, id, "/stdin.wasm")) {
      run.stdin().write("line one\nline two\n".getBytes(StandardCharsets.UTF_8));
      run.stdin().flush();
      run.awaitStdout("line one\nline two\n", Containerd.CTR_TIMEOUT);
      c.ok("-n", NS, "task", "kill", id);
      assertExit(c, SIGTERM_EXIT, run.await(Containerd.CTR_TIMEOUT));
      assertEquals("line one\nline two\n", run.stdoutSoFar());
    }
    c.assertNoLeaks();
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void memoryLimitCapsTheGuest(ContainerdVersion v) {
    Containerd c = containerds.get(v);
    String image = TestImages.PROGS.importInto(c, NS);
    Result r =
        run(c, NS, "--memory-limit", Long.toString(64L << 20), image, id("memhog"), "/memhog.wasm");
    Matcher m = Pattern.compile("allocated (\\d+) MiB").matcher(r.stdout());
    assertTrue(m.find(), "memhog did not report its allocation: " + r);
    assertTrue(Integer.parseInt(m.group(1)) < 64, "allocated beyond the 64 MiB limit: " + r);
    assertExit(c, 137, r);
    assertTrue(r.stderr().contains("out of memory"), r.toString());
    assertEquals(HELLO, runOk(c, NS, image, id("hello"), "/hello.wasm").stdout());
    c.assertNoLeaks();
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void stackOverflowTrapsAndTheDaemonSurvives(ContainerdVersion v) {
    Containerd c = containerds.get(v);
    String image = TestImages.PROGS.importInto(c, NS);
    // A detached task keeps the daemon alive across the runs, so "survives" means the same process.
    String keeper = id("keeper");
    Tasks.Task before = runDetached(c, NS, image, keeper, "/sleep.wasm", "300");
    long daemon = onlyDaemon(c);

    assertExit(c, TRAP_EXIT, run(c, NS, image, id("recurse"), "/recurse.wasm"));
    assertEquals(HELLO, runOk(c, NS, image, id("hello"), "/hello.wasm").stdout());

    Tasks.Task after = tasks(c, NS).get(keeper);
    assertNotNull(after, "keeper task vanished");
    assertEquals(before, after);
    assertEquals(daemon, onlyDaemon(c));
    killAndRemove(c, NS, keeper);
    c.assertNoLeaks();
  }
}
