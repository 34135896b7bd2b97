package io.krill.oci.registry;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * The distribution registry (Debian's {@code docker-registry}) on a free 127.0.0.1 port, with its
 * own config and storage under {@code dir}; stopped by pid on close.
 */
final class TestRegistry implements AutoCloseable {
  private static final Path BINARY = Path.of("/usr/bin/docker-registry");
  private final Process process;
  private final int port;
  private final Path log;

  TestRegistry(Path dir) throws IOException {
    if (!Files.isExecutable(BINARY)) {
      fail(BINARY + " is missing: run scripts/install-deps.sh (Debian package docker-registry)");
    }
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    Path config = dir.resolve("registry.yml");
    log = dir.resolve("registry.log");
    Files.writeString(
        config,
        String.join(
            "\n",
            "version: 0.1",
            "log:",
            "  level: warn",
            "storage:",
            "  filesystem:",
            "    rootdirectory: " + dir.resolve("storage"),
            "  delete:",
            "    enabled: true",
            "http:",
            "  addr: 127.0.0.1:" + port,
            ""));
    process =
        new ProcessBuilder(BINARY.toString(), "serve", config.toString())
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (true) {
      try (Socket ignored = new Socket(InetAddress.getLoopbackAddress(), port)) {
        return;
      } catch (IOException e) {
        if (!process.isAlive() || System.nanoTime() > deadline) {
          close();
          fail("docker-registry did not start: " + Files.readString(log));
        }
        sleep();
      }
    }
  }

  private static void sleep() {
    try {
      Thread.sleep(50);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new UncheckedIOException(new IOException("interrupted"));
    }
  }

  String host() {
    return "127.0.0.1:" + port;
  }

  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
