package io.krill.it.harness;

import static org.junit.jupiter.api.Assertions.fail;

import io.grpc.StatusRuntimeException;
import io.krill.cri.api.v1.VersionRequest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@code krill cri} from the built distribution on a private socket, root and CNI config directory,
 * its output in a log file. {@link #close()} stops it: SIGTERM, then SIGKILL if it has not stopped
 * within 10 s.
 */
public final class KrillCriDaemon implements AutoCloseable {
  private static final Duration START_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration STOP_TIMEOUT = Duration.ofSeconds(10);

  private final Process process;
  private final Path socket;

  private KrillCriDaemon(Process process, Path socket) {
    this.process = process;
    this.socket = socket;
  }

  /**
   * Starts {@code krill cri} and returns once it answers Version on {@code socket}; fails the test
   * otherwise.
   */
  public static KrillCriDaemon start(
      Path socket, Path root, Path cniConfDir, Path log, String... options) throws IOException {
    List<String> cmd =
        new ArrayList<>(
            List.of(
                Dist.binDir().resolve("krill").toString(),
                "cri",
                "--socket",
                socket.toString(),
                "--root",
                root.toString(),
                "--cni-conf-dir",
                cniConfDir.toString()));
    cmd.addAll(List.of(options));
    Process p =
        new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    while (System.nanoTime() < deadline) {
      if (Files.exists(socket)) {
        try (CriClient c = new CriClient(socket)) {
          c.runtime(Duration.ofSeconds(2)).version(VersionRequest.getDefaultInstance());
          return new KrillCriDaemon(p, socket);
        } catch (StatusRuntimeException e) {
          // not accepting yet
        }
      }
      if (!p.isAlive()) {
        fail("krill cri exited: " + Files.readString(log));
      }
      Host.sleep(100);
    }
    p.destroyForcibly();
    fail(
        "krill cri did not answer within "
            + START_TIMEOUT.toSeconds()
            + " s: "
            + Files.readString(log));
    return null;
  }

  public Path socket() {
    return socket;
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  /** SIGTERM, then SIGKILL if it has not stopped within 10 s; returns once the process is gone. */
  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(STOP_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor();
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }
}
