package io.krill.it.harness;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Proves the harness itself against each containerd with the stock runc runtime, so that an
 * end-to-end failure points at krill, not at the private containerd, the image writer or the leak
 * checks.
 */
class HarnessTest {
  private static final String RUNC = "io.containerd.runc.v2";

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void privateContainerdStartsImportsAndRuns(ContainerdVersion v) throws Exception {
    try (Containerd c = Containerd.startWithoutKrill(v)) {
      Result version = c.ok("version");
      assertTrue(version.stdout().contains("Version:  " + v.label()), version.toString());

      String ns = "krill-it-harness";
      String progs = TestImages.PROGS.importInto(c, ns);
      String hello = TestImages.HELLO_NATIVE.importInto(c, ns);
      Result images = c.ok("-n", ns, "images", "ls", "-q");
      assertTrue(images.stdoutLines().contains(progs), images.toString());
      assertTrue(images.stdoutLines().contains(hello), images.toString());

      Result run = c.ok("-n", ns, "run", "--rm", "--runtime", RUNC, hello, KrillTasks.id("h"));
      assertEquals("hello from krill\n", run.stdout());

      Path rootfs = nativeRootfs(c);
      Result viaRootfs =
          c.ok(
              "-n",
              ns,
              "run",
              "--rm",
              "--runtime",
              RUNC,
              "--rootfs",
              rootfs.toString(),
              KrillTasks.id("h"),
              "/hello");
      assertEquals("hello from krill\n", viaRootfs.stdout());

      // The restart and kill flows the krill tests rely on, proven with runc's shim.
      String h3 = KrillTasks.id("h");
      c.ok(
          "-n",
          ns,
          "run",
          "-d",
          "--runtime",
          RUNC,
          "--rootfs",
          rootfs.toString(),
          h3,
          "/sleep",
          "300");
      long pid = Tasks.awaitRunning(c, ns, h3).pid();
      c.restart();
      assertEquals(new Tasks.Task(h3, pid, "RUNNING"), Tasks.list(c, ns).get(h3));
      c.ok("-n", ns, "task", "kill", "-s", "SIGKILL", h3);
      Tasks.awaitStopped(c, ns, h3);
      Result rm = c.ok("-n", ns, "task", "rm", h3);
      assertTrue(rm.stderr().contains("exit code 137"), rm.toString());
      c.ok("-n", ns, "container", "rm", h3);

      c.assertNoLeaks();
    }
  }

  /**
   * stdin forwarding and foreground kills as the krill tests drive them, with runc as the
   * reference.
   */
  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void stdinAndKillOfAForegroundRun(ContainerdVersion v) throws IOException {
    try (Containerd c = Containerd.startWithoutKrill(v)) {
      String ns = "krill-it-harness";
      String rootfs = nativeRootfs(c).toString();
      // ctr never sends CloseIO for a foreground run, so stdin cannot reach EOF: echo, then kill.
      // Only
      // SIGKILL: under runc the guest is pid 1 of its pid namespace and ignores an unhandled
      // SIGTERM.
      String[][] kills = {{"SIGKILL", "137"}};
      for (String[] k : kills) {
        String id = KrillTasks.id("stdin");
        try (CtrProcess run =
            c.ctrBackground(
                "-n", ns, "run", "--rm", "--runtime", RUNC, "--rootfs", rootfs, id, "/stdin")) {
          Tasks.awaitRunning(c, ns, id);
          run.stdin().write("a\nb\n".getBytes(StandardCharsets.UTF_8));
          run.stdin().flush();
          run.awaitStdout("a\nb\n", Duration.ofSeconds(60));
          c.ok("-n", ns, "task", "kill", "-s", k[0], id);
          assertEquals(Integer.parseInt(k[1]), run.await(Containerd.CTR_TIMEOUT).exitCode());
        }
      }
      c.assertNoLeaks();
    }
  }

  private static Path nativeRootfs(Containerd c) {
    Path rootfs = c.newDir("rootfs");
    for (String p : new String[] {"hello", "sleep", "stdin"}) {
      try {
        Files.copy(TestPrograms.path(p + "-native"), rootfs.resolve(p));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      rootfs.resolve(p).toFile().setExecutable(true, false);
    }
    return rootfs;
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(value = ContainerdVersion.class, names = "V1_6")
  void leakCheckSeesLeftovers(ContainerdVersion v) throws Exception {
    try (Containerd c = Containerd.startWithoutKrill(v)) {
      String ns = "leaky";
      String hello = TestImages.HELLO_NATIVE.importInto(c, ns);
      c.ok("-n", ns, "container", "create", "--runtime", RUNC, hello, "left");
      AssertionError e = assertThrows(AssertionError.class, c::assertNoLeaks);
      assertTrue(e.getMessage().contains("containers left in namespace leaky"), e.getMessage());
      c.ok("-n", ns, "container", "rm", "left");

      Path src = c.newDir("src");
      Path target = c.newDir("mnt");
      assertEquals(0, Host.run("mount", "--bind", src.toString(), target.toString()));
      try {
        e = assertThrows(AssertionError.class, c::assertNoLeaks);
        assertTrue(e.getMessage().contains("mounts left"), e.getMessage());
      } finally {
        assertEquals(0, Host.run("umount", target.toString()));
      }
      c.assertNoLeaks();
    }
  }
}
