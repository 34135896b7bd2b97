package io.krill.it.cri;

import static io.krill.it.harness.InstalledNode.must;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.krill.cri.api.v1.ExecRequest;
import io.krill.cri.api.v1.StatusRequest;
import io.krill.cri.api.v1.VersionRequest;
import io.krill.cri.api.v1.VersionResponse;
import io.krill.it.harness.CriCalls;
import io.krill.it.harness.CriClient;
import io.krill.it.harness.InstalledNode;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code packaging/systemd/krill-cri.service} as an operator gets it in the release tarball: its
 * ExecStart, run from the unpacked release in place of {@code /opt/krill} with a service manager's
 * bare environment (no java on PATH, so only the bundled runtime can run it), serves CRI on its
 * socket, and stops cleanly on SIGTERM with the exit status the unit counts as success.
 */
class CriServiceUnitE2ETest {
  @TempDir Path tmp;

  @Test
  void unitExecStart_fromTheRelease_servesCriAndStopsCleanlyOnSigterm() throws Exception {
    Path unpack = Files.createDirectories(tmp.resolve("release"));
    must(
        0,
        InstalledNode.run(
            List.of("tar", "-xzf", InstalledNode.tarball().toString(), "-C", unpack.toString())));
    Path release;
    try (Stream<Path> s = Files.list(unpack)) {
      release = s.findFirst().orElseThrow();
    }
    String unit = Files.readString(release.resolve("packaging/systemd/krill-cri.service"));
    assertEquals(Files.readString(Path.of("../packaging/systemd/krill-cri.service")), unit);
    String line = unit.lines().filter(l -> l.startsWith("ExecStart=")).findFirst().orElseThrow();
    List<String> argv =
        new ArrayList<>(Arrays.asList(line.substring("ExecStart=".length()).split(" ")));
    assertEquals("/opt/krill/bin/krill", argv.get(0));
    assertTrue(unit.contains("SuccessExitStatus=143"), unit);
    argv.set(0, release.resolve("bin/krill").toString());
    // Later options win: the unit's paths, moved under this test's directory.
    Path socket = tmp.resolve("run/krill.sock");
    argv.addAll(
        List.of(
            "--socket",
            socket.toString(),
            "--root",
            tmp.resolve("lib").toString(),
            "--cni-conf-dir",
            tmp.resolve("no-cni").toString()));

    ProcessBuilder pb = new ProcessBuilder(argv);
    pb.environment().clear();
    pb.environment().put("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
    pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    Path journal = tmp.resolve("journal.log");
    pb.redirectErrorStream(true).redirectOutput(journal.toFile());
    Process daemon = pb.start();
    try {
      awaitServing(daemon, socket, journal);
      try (CriClient c = new CriClient(socket)) {
        VersionResponse v = c.runtime().version(VersionRequest.getDefaultInstance());
        assertEquals("krill", v.getRuntimeName());
        assertTrue(
            c.runtime()
                .status(StatusRequest.getDefaultInstance())
                .getStatus()
                .getConditions(0)
                .getStatus());
        // The streaming server's classes come from the release too: an unknown container is
        // NOT_FOUND,
        // not a class loading failure.
        StatusRuntimeException e =
            CriCalls.expectError(
                () ->
                    c.runtime()
                        .exec(
                            ExecRequest.newBuilder()
                                .setContainerId("nosuch")
                                .addCmd("/x.wasm")
                                .setStdout(true)
                                .build()));
        assertEquals(Status.Code.NOT_FOUND, e.getStatus().getCode());
      }
      assertTrue(
          Files.readString(journal).contains("exec/attach streams on http://127.0.0.1:"),
          Files.readString(journal));
      daemon.destroy();
      assertTrue(daemon.waitFor(20, TimeUnit.SECONDS), "krill cri did not stop on SIGTERM");
      assertEquals(143, daemon.exitValue(), Files.readString(journal));
      assertFalse(Files.exists(socket), "the socket goes with the daemon");
    } finally {
      daemon.destroyForcibly().waitFor();
    }
  }

  private static void awaitServing(Process daemon, Path socket, Path journal) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (System.nanoTime() < deadline) {
      if (Files.exists(socket)) {
        try (CriClient c = new CriClient(socket)) {
          c.runtime(Duration.ofSeconds(2)).version(VersionRequest.getDefaultInstance());
          return;
        } catch (StatusRuntimeException e) {
          // not accepting yet
        }
      }
      if (!daemon.isAlive()) {
        fail("krill cri exited: " + Files.readString(journal));
      }
      Thread.sleep(100);
    }
    fail("krill cri did not serve " + socket + " within 30 s: " + Files.readString(journal));
  }
}
