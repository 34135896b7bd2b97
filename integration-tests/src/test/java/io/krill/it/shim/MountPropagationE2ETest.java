package io.krill.it.shim;

import static io.krill.it.harness.KrillTasks.RUNTIME;
import static io.krill.it.harness.KrillTasks.id;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import io.krill.it.harness.Containerd;
import io.krill.it.harness.ContainerdPerClass;
import io.krill.it.harness.ContainerdVersion;
import io.krill.it.harness.CtrProcess;
import io.krill.it.harness.Host;
import io.krill.it.harness.Result;
import io.krill.it.harness.Tasks;
import io.krill.it.harness.TestImages;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Bind-mount propagation under {@code ctr run --mount ...,options=rbind:<propagation>}: a host
 * mount made under the source after the task started reaches the guest through {@code rslave} and
 * {@code rshared} mounts, and not through an {@code rprivate} one.
 */
class MountPropagationE2ETest {
  @RegisterExtension
  static final ContainerdPerClass<Containerd> containerds = ContainerdPerClass.withKrill();

  private static final String NS = "krill-e2e";

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void hostMountAfterStart_reachesSlaveAndSharedButNotPrivate(ContainerdVersion v)
      throws Exception {
    Containerd c = containerds.get(v);
    String image = TestImages.PROGS.importInto(c, NS);
    Path src = c.newDir("propagation");
    Path sub = Files.createDirectories(src.resolve("sub"));
    String id = id("propagation");
    CtrProcess run =
        c.ctrBackground(
            "-n",
            NS,
            "run",
            "--rm",
            "--runtime",
            RUNTIME,
            "--mount",
            "type=bind,src=" + src + ",dst=/private,options=rbind:rprivate:rw",
            "--mount",
            "type=bind,src=" + src + ",dst=/slave,options=rbind:rslave:rw",
            "--mount",
            "type=bind,src=" + src + ",dst=/shared,options=rbind:rshared:rw",
            image,
            id,
            "/files.wasm",
            "await",
            "/private/go",
            "/private/sub/probe",
            "/slave/sub/probe",
            "/shared/sub/probe");
    try (run) {
      awaitRunning(c, id, run);
      assertEquals(0, Host.run("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", sub.toString()));
      try {
        Files.writeString(sub.resolve("probe"), "mounted later\n");
        Files.writeString(src.resolve("go"), "");
        Result r = run.await(Duration.ofSeconds(60));
        assertEquals(0, r.exitCode(), r.toString());
        assertEquals(List.of("absent", "mounted later", "mounted later"), r.stdoutLines());
      } finally {
        assertEquals(0, Host.run("umount", sub.toString()));
      }
    }
    assertEquals(List.of(), Host.mountsUnder(src), "mounts left under the source");
    assertEquals(List.of(), Host.mountsUnder(c.runDir()), "private copies left");
    c.assertNoLeaks();
  }

  private static void awaitRunning(Containerd c, String id, CtrProcess run) {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (System.nanoTime() < deadline) {
      Tasks.Task t = Tasks.list(c, NS).get(id);
      if (t != null && t.status().equals("RUNNING")) {
        return;
      }
      if (!run.isAlive()) {
        fail("ctr run " + id + " ended before its task ran: " + run.await(Duration.ofSeconds(5)));
      }
      Host.sleep(100);
    }
    fail("task " + id + " never RUNNING on " + c.version() + ": " + run.stderrSoFar());
  }
}
