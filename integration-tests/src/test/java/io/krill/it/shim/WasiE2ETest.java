package io.krill.it.shim;

import static io.krill.it.harness.KrillTasks.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.krill.it.harness.Containerd;
import io.krill.it.harness.ContainerdPerClass;
import io.krill.it.harness.ContainerdVersion;
import io.krill.it.harness.Result;
import io.krill.it.harness.TestImages;
import io.krill.it.harness.TestPrograms;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The WASI a guest sees under {@code ctr run}, krill's own, on both engines: exit statuses, the old
 * snapshot 0, the clocks, stdin to its end, the directory semantics where runtimes have differed
 * (answered as current Wasmtime does), directory listings and file bind mounts.
 */
class WasiE2ETest {
  @RegisterExtension
  static final ContainerdPerClass<Containerd> containerds = ContainerdPerClass.withKrill();

  private static final String NS = "krill-wasi";
  private static final String[] ENGINES = {"wasmtime", "chicory"};

  private static String engine(String name) {
    return "krill.io/engine=" + name;
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void exitStatusesUpTo255AreReportedExactly(ContainerdVersion v) {
    Containerd c = containerds.get(v);
    String image = TestImages.PROGS.importInto(c, NS);
    for (String e : ENGINES) {
      for (int code : new int[] {125, 126, 127, 128, 137, 200, 254, 255}) {
        String arg = Integer.toString(code);
        assertExit(
            c, code, run(c, NS, "--annotation", engine(e), image, id("exit"), "/exit.wasm", arg));
      }
    }
    c.assertNoLeaks();
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void aWasiUnstableModuleRuns(ContainerdVersion v) {
    Containerd c = containerds.get(v);
    String image = TestImages.PROGS.importInto(c, NS);
    for (String e : ENGINES) {
      Result r = run(c, NS, "--annotation", engine(e), image, id("unstable"), "/unstable.wasm");
      assertExit(c, 5, r);
      assertEquals("hello from wasi_unstable\n", r.stdout(), e);
    }
    c.assertNoLeaks();
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void everyClockAnswersCpuTimeIncluded(ContainerdVersion v) {
    Containerd c = containerds.get(v);
    String image = TestImages.PROGS.importInto(c, NS);
    for (String e : ENGINES) {
      Result r = runOk(c, NS, "--annotation", engine(e), image, id("clocks"), "/clocks.wasm");
      assertEquals(
          List.of("realtime ok", "monotonic ok", "process ok", "thread ok"), r.stdoutLines(), e);
    }
    c.assertNoLeaks();
  }

  /** Piped into ctr run: every byte reaches the guest, in order, then end-of-file. */
  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void stdinArrivesWholeThenEndOfFile(ContainerdVersion v) {
    Containerd c = containerds.get(v);
    String image = TestImages.PROGS.importInto(c, NS);
    Random random = new Random(11);
    for (int size : new int[] {10_000, 6_900_000}) {
      byte[] input = new byte[size];
      random.nextBytes(input);
      for (String e : ENGINES) {
        Result r =
            c.ctrWithStdin(
                input,
                concat(
                    List.of("-n", NS, "run", "--rm", "--runtime", RUNTIME),
                    "--annotation",
                    engine(e),
                    image,
                    id("stdin"),
                    "/stdinsum.wasm"));
        assertExit(c, 0, r);
        assertEquals(
            "bytes " + size + " fnv1a " + TestPrograms.fnv1a(input) + "\n",
            r.stdout(),
            e + ", " + size);
      }
    }
    c.assertNoLeaks();
  }

  /**
   * Where WASI runtimes have answered differently, krill answers as current Wasmtime: renumbering
   * onto a closed descriptor is EBADF, readlink into a short buffer cuts the target, a directory
   * opened for writing is EISDIR, the preopen's name into no room is ENAMETOOLONG, rmdir takes a
   * trailing slash, poll_oneoff reports stdin readable with input and at its end, and a directory
   * opened as Go's os.ReadDir and libc's open(O_RDONLY) open it (no O_DIRECTORY) lists.
   */
  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void directorySemanticsAreWasmtimes(ContainerdVersion v) {
    Containerd c = containerds.get(v);
    String image = TestImages.PROGS.importInto(c, NS);
    for (String e : ENGINES) {
      Path host = c.newDir("dirs-" + e);
      String mount = "type=bind,src=" + host + ",dst=/dir,options=rbind:rw";
      Result r =
          c.ctrWithStdin(
              "input\n".getBytes(StandardCharsets.UTF_8),
              concat(
                  List.of("-n", NS, "run", "--rm", "--runtime", RUNTIME),
                  "--annotation",
                  engine(e),
                  "--mount",
                  mount,
                  image,
                  id("dirs"),
                  "/dirs.wasm",
                  "/dir"));
      assertExit(c, 0, r);
      assertEquals(TestPrograms.DIRS_LINES, r.stdoutLines(), e + ": " + r);
      assertTrue(Files.isDirectory(host.resolve("sub")), e);
      assertTrue(!Files.exists(host.resolve("gone")), e);
    }
    c.assertNoLeaks();
  }

  /** As current Wasmtime: "." and ".." first, then the entries, each once. */
  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void readdirListsDotEntriesThenEveryEntryOnce(ContainerdVersion v) throws Exception {
    Containerd c = containerds.get(v);
    String image = TestImages.PROGS.importInto(c, NS);
    Path host = c.newDir("dir");
    for (int i = 0; i < 40; i++) {
      Files.writeString(host.resolve("entry-with-a-longer-name-" + i), "");
    }
    String mount = "type=bind,src=" + host + ",dst=/dir,options=rbind:ro";
    for (String e : ENGINES) {
      Result r =
          runOk(
              c,
              NS,
              "--annotation",
              engine(e),
              "--mount",
              mount,
              image,
              id("readdir"),
              "/readdir.wasm",
              "/dir");
      List<String> names = r.stdoutLines();
      assertEquals(List.of(".", ".."), names.subList(0, 2), r.toString());
      assertEquals(42, names.size(), r.toString());
      assertEquals(40, names.stream().distinct().filter(n -> n.startsWith("entry-")).count(), e);
    }
    c.assertNoLeaks();
  }

  /** kubelet's /etc/resolv.conf, /etc/hosts and /etc/hostname are file bind mounts. */
  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void aSingleFileBindMountIsReadableAndReadOnly(ContainerdVersion v) throws Exception {
    Containerd c = containerds.get(v);
    String image = TestImages.PROGS.importInto(c, NS);
    Path file = c.newDir("etc").resolve("resolv.conf");
    Files.writeString(file, "nameserver 10.96.0.10\n");
    String mount = "type=bind,src=" + file + ",dst=/etc/resolv.conf,options=rbind:ro";
    for (String e : ENGINES) {
      String on = engine(e);
      Result read =
          runOk(
              c,
              NS,
              "--annotation",
              on,
              "--mount",
              mount,
              image,
              id("file"),
              "/files.wasm",
              "read",
              "/etc/resolv.conf");
      assertEquals("nameserver 10.96.0.10\n", read.stdout(), e);
      Result write =
          run(
              c,
              NS,
              "--annotation",
              on,
              "--mount",
              mount,
              image,
              id("file"),
              "/files.wasm",
              "write",
              "/etc/resolv.conf",
              "x");
      assertTrue(
          write.exitCode() != 0, e + ": write to a read-only file mount succeeded: " + write);
      assertEquals("nameserver 10.96.0.10\n", Files.readString(file), e);
    }
    c.assertNoLeaks();
  }
}
