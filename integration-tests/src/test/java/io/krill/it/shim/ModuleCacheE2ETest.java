package io.krill.it.shim;

import static io.krill.it.harness.KrillTasks.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.krill.it.harness.Containerd;
import io.krill.it.harness.ContainerdPerClass;
import io.krill.it.harness.ContainerdVersion;
import io.krill.it.harness.Host;
import io.krill.it.harness.Result;
import io.krill.it.harness.Tasks;
import io.krill.it.harness.TestPrograms;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The compiled-module cache under {@code ctr run}: damaged or mixed-up artifacts are recompiled
 * (the guest prints what its own module says, a sibling task keeps running, the daemon survives),
 * and a cache on a full filesystem is said once in the log and leaves nothing behind.
 */
class ModuleCacheE2ETest {
  // Debug logging: the daemon logs the key under which it files each container's module. No
  // compiled module in memory: these tests are about the disk store behind it, read by every
  // create.
  @RegisterExtension
  static final ContainerdPerClass<Containerd> containerds =
      ContainerdPerClass.withKrillPrivateCache(
          Map.of("KRILL_LOG_LEVEL", "debug", "KRILL_MODULE_CACHE_ENTRIES", "0"));

  private static final Pattern FILED = Pattern.compile("filed in the cache \\(([0-9a-f]{64})\\)");

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void damagedOrSwappedArtifacts_recompileWhileASiblingRuns(ContainerdVersion v) throws Exception {
    Containerd c = containerds.get(v);
    String ns = "krill-cache";
    Path rootfs = TestPrograms.populateRootfs(c.newDir("rootfs"));
    String rootfsArg = rootfs.toString();
    String sibling = id("sibling");
    c.ok(
        "-n",
        ns,
        "run",
        "-d",
        "--runtime",
        RUNTIME,
        "--rootfs",
        rootfsArg,
        sibling,
        "/sleep.wasm",
        "300");
    Tasks.awaitRunning(c, ns, sibling);
    long daemon = onlyDaemon(c);

    String first = id("hello");
    assertEquals(HELLO, runOk(c, ns, "--rootfs", rootfsArg, first, "/hello.wasm").stdout());
    Path hello = artifact(c, ns, first);
    String other = id("args");
    Result args = runOk(c, ns, "--rootfs", rootfsArg, other, "/args.wasm", "x");
    assertTrue(args.stdout().startsWith("arg[0]=/args.wasm\narg[1]=x\n"), args.toString());
    Path argsArtifact = artifact(c, ns, other);

    // Each damage in turn: the run prints hello, one line names the container and the module.
    Map<String, Damage> damages =
        Map.of(
            "flipped",
            p -> {
              byte[] b = Files.readAllBytes(p);
              b[b.length / 2] ^= 0x10;
              Files.write(p, b);
            },
            "truncated",
            p -> {
              byte[] b = Files.readAllBytes(p);
              Files.write(p, Arrays.copyOf(b, b.length / 2));
            },
            "swapped",
            p -> Files.copy(argsArtifact, p, StandardCopyOption.REPLACE_EXISTING));
    for (String what : List.of("flipped", "truncated", "swapped")) {
      damages.get(what).apply(hello);
      String id = id(what);
      Result r = run(c, ns, "--rootfs", rootfsArg, id, "/hello.wasm");
      assertEquals(0, r.exitCode(), what + ": " + r + "\n" + daemonLog(c, ns));
      assertEquals(HELLO, r.stdout(), what);
      List<String> lines = linesAbout(c, ns, id, "failed verification");
      assertEquals(1, lines.size(), what + ": " + lines);
      assertTrue(lines.get(0).contains("/hello.wasm"), lines.get(0));
      assertEquals(hello, artifact(c, ns, id), what + ": the entry is replaced");
      assertEquals(daemon, onlyDaemon(c), "the daemon survived " + what);
      assertEquals("RUNNING", Tasks.list(c, ns).get(sibling).status(), "sibling after " + what);
    }
    String again = id("again");
    assertEquals(HELLO, runOk(c, ns, "--rootfs", rootfsArg, again, "/hello.wasm").stdout());
    assertEquals(List.of(), linesAbout(c, ns, again, "failed verification"), "entry is good");

    // SIGTERM ends the sleeping sibling with 143: it was alive until now (a dead daemon says 137).
    c.ok("-n", ns, "task", "kill", sibling);
    Tasks.awaitStopped(c, ns, sibling);
    Result rm = c.ok("-n", ns, "task", "rm", sibling);
    assertTrue(rm.stderr().contains("exit code " + SIGTERM_EXIT), rm.toString());
    c.ok("-n", ns, "container", "rm", sibling);
    try (Stream<Path> files = Files.list(daemonDir(c, ns))) {
      assertTrue(
          files.noneMatch(p -> p.getFileName().toString().startsWith("hs_err")),
          "no JVM crash report");
    }
    c.assertNoLeaks();
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void fullCacheFilesystem_guestsRunItIsSaidOnceNothingPartialStays(ContainerdVersion v)
      throws Exception {
    Containerd c = containerds.get(v);
    String ns = "krill-cache-full";
    c.assertNoLeaks(); // no daemon that saw the cache before it filled up
    Path cache = c.krillCacheDir();
    Files.createDirectories(cache);
    assertEquals(
        0,
        Host.run(
            "mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "krill-it-cache", cache.toString()));
    try {
      Path filler = cache.resolve("filler");
      fill(filler);
      Path rootfs = TestPrograms.populateRootfs(c.newDir("rootfs"));
      for (int i = 0; i < 3; i++) {
        String id = id("full");
        assertEquals(
            HELLO, runOk(c, ns, "--rootfs", rootfs.toString(), id, "/hello.wasm").stdout());
      }
      String log = daemonLog(c, ns);
      List<String> said =
          log.lines().filter(l -> l.contains("cannot store compiled modules")).toList();
      assertEquals(1, said.size(), log);
      assertTrue(said.get(0).contains("No space left on device"), said.get(0));
      assertTrue(said.get(0).contains(cache.resolve("compiled").toString()), said.get(0));
      assertEquals(List.of(filler), regularFiles(cache), "no partial file in the cache");
      assertEquals(List.of(), regularFiles(daemonDir(c, ns).resolve("compile")), "staging empty");

      // Space again: the next compile is filed, and the log says that storing works again.
      Files.delete(filler);
      String id = id("space");
      assertEquals(HELLO, runOk(c, ns, "--rootfs", rootfs.toString(), id, "/hello.wasm").stdout());
      Path entry = artifact(c, ns, id);
      assertTrue(
          Files.exists(
              entry.resolveSibling(entry.getFileName().toString().replace(".cwasm", ".seal"))));
      assertTrue(daemonLog(c, ns).contains("works again"), daemonLog(c, ns));
    } finally {
      unmount(cache);
    }
    c.assertNoLeaks();
  }

  @FunctionalInterface
  private interface Damage {
    void apply(Path artifact) throws IOException;
  }

  /** The artifact the daemon filed for container {@code id}'s module. */
  private static Path artifact(Containerd c, String ns, String id) {
    List<String> lines = linesAbout(c, ns, id, "filed in the cache");
    if (lines.size() != 1) {
      fail("container " + id + " filed " + lines.size() + " modules:\n" + daemonLog(c, ns));
    }
    Matcher m = FILED.matcher(lines.get(0));
    assertTrue(m.find(), lines.get(0));
    Path p = c.krillCacheDir().resolve("compiled").resolve(m.group(1) + ".cwasm");
    assertTrue(Files.isRegularFile(p), p.toString());
    return p;
  }

  private static List<String> linesAbout(Containerd c, String ns, String id, String text) {
    return daemonLog(c, ns)
        .lines()
        .filter(l -> l.contains(" container=" + id + " ") && l.contains(text))
        .toList();
  }

  private static Path daemonDir(Containerd c, String ns) {
    return c.runDir().resolve("shim").resolve(c.shimSocket(ns).getFileName());
  }

  private static String daemonLog(Containerd c, String ns) {
    try {
      return Files.readString(daemonDir(c, ns).resolve("daemon.log"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void fill(Path filler) throws IOException {
    byte[] block = new byte[64 << 10];
    try (OutputStream out = Files.newOutputStream(filler)) {
      while (true) {
        out.write(block);
      }
    } catch (IOException e) {
      if (!String.valueOf(e.getMessage()).contains("No space left")) {
        throw e;
      }
    }
  }

  private static List<Path> regularFiles(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return List.of();
    }
    try (Stream<Path> s = Files.walk(dir)) {
      return s.filter(Files::isRegularFile).sorted().toList();
    }
  }

  private static void unmount(Path mountPoint) {
    if (Host.run("umount", mountPoint.toString()) != 0) {
      Host.run("umount", "-l", mountPoint.toString());
    }
  }
}
