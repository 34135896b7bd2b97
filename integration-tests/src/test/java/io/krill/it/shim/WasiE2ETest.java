package io.krill.it.shim;

import static io.krill.it.harness.KrillTasks.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.krill.it.harness.Containerd;
import io.krill.it.harness.ContainerdPerClass;
import io.krill.it.harness.ContainerdVersion;
import io.krill.it.harness.Result;
import io.krill.it.harness.TestImages;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The WASI a guest sees under {@code ctr run}, krill's own: exit statuses, the old snapshot 0, the
 * clocks, directory listings and file bind mounts.
 */
class WasiE2ETest {
  @RegisterExtension
  static final ContainerdPerClass<Containerd> containerds = ContainerdPerClass.withKrill();

  private static final String NS = "krill-wasi";

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void exitStatusesUpTo255AreReportedExactly(ContainerdVersion v) {
    Containerd c = containerds.get(v);
    String image = TestImages.PROGS.importInto(c, NS);
    for (int code : new int[] {125, 126, 127, 200, 255}) {
      assertExit(c, code, run(c, NS, image, id("exit"), "/exit.wasm", Integer.toString(code)));
    }
    c.assertNoLeaks();
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void aWasiUnstableModuleRuns(ContainerdVersion v) {
    Containerd c = containerds.get(v);
    String image = TestImages.PROGS.importInto(c, NS);
    Result r = run(c, NS, image, id("unstable"), "/unstable.wasm");
    assertExit(c, 5, r);
    assertEquals("hello from wasi_unstable\n", r.stdout());
    c.assertNoLeaks();
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void everyClockAnswersCpuTimeIncluded(ContainerdVersion v) {
    Containerd c = containerds.get(v);
    String image = TestImages.PROGS.importInto(c, NS);
    Result r = runOk(c, NS, image, id("clocks"), "/clocks.wasm");
    assertEquals(
        List.of("realtime ok", "monotonic ok", "process ok", "thread ok"), r.stdoutLines());
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
    Result r = runOk(c, NS, "--mount", mount, image, id("readdir"), "/readdir.wasm", "/dir");
    List<String> names = r.stdoutLines();
    assertEquals(List.of(".", ".."), names.subList(0, 2), r.toString());
    assertEquals(42, names.size(), r.toString());
    assertEquals(40, names.stream().distinct().filter(n -> n.startsWith("entry-")).count());
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
    Result read =
        runOk(
            c, NS, "--mount", mount, image, id("file"), "/files.wasm", "read", "/etc/resolv.conf");
    assertEquals("nameserver 10.96.0.10\n", read.stdout());
    Result write =
        run(
            c,
            NS,
            "--mount",
            mount,
            image,
            id("file"),
            "/files.wasm",
            "write",
            "/etc/resolv.conf",
            "x");
    assertTrue(write.exitCode() != 0, "write to a read-only file mount succeeded: " + write);
    assertEquals("nameserver 10.96.0.10\n", Files.readString(file));
    c.assertNoLeaks();
  }
}
