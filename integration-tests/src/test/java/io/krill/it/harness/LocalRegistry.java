package io.krill.it.harness;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A distribution registry ({@code docker-registry}) on 127.0.0.1 with its storage in {@code dir},
 * so CRI pulls images the way a node does, without any traffic leaving the machine. Images go in
 * with skopeo.
 */
public final class LocalRegistry implements AutoCloseable {
  private static final Path BINARY = Path.of("/usr/bin/docker-registry");

  private final Path dir;
  private final int port;
  private final Process process;

  public LocalRegistry(Path dir) {
    this(dir, List.of());
  }

  /**
   * With {@code extraConfig} appended to the registry's YAML config (e.g. an {@code auth:}
   * section).
   */
  public LocalRegistry(Path dir, List<String> extraConfig) {
    this.dir = dir;
    if (!Files.isExecutable(BINARY)) {
      fail("no " + BINARY + ": run scripts/install-deps.sh");
    }
    port = Host.freeLoopbackPort();
    Path config = dir.resolve("registry.yml");
    try {
      Files.createDirectories(dir.resolve("storage"));
      // The packaged config listens on every interface with auth; ours is loopback-only and
      // throwaway.
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
              "http:",
              "  addr: 127.0.0.1:" + port,
              String.join("\n", extraConfig),
              ""));
      process =
          new ProcessBuilder(BINARY.toString(), "serve", config.toString())
              .redirectErrorStream(true)
              .redirectOutput(
                  ProcessBuilder.Redirect.appendTo(dir.resolve("registry.log").toFile()))
              .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
              .start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start the local registry", e);
    }
    awaitReady();
  }

  private void awaitReady() {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    HttpRequest ping =
        HttpRequest.newBuilder(URI.create("http://" + host() + "/v2/"))
            .timeout(Duration.ofSeconds(2))
            .build();
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        fail("docker-registry exited with " + process.exitValue() + ": " + logText());
      }
      try {
        int status = http.send(ping, HttpResponse.BodyHandlers.discarding()).statusCode();
        // 401: the registry is up and asks for a login (a registry with auth configured)
        if (status == 200 || status == 401) {
          return;
        }
      } catch (IOException e) {
        // not listening yet
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
      Host.sleep(100);
    }
    fail("docker-registry did not answer on " + host() + " within 20 s: " + logText());
  }

  /** {@code 127.0.0.1:PORT}, the registry host part of image references. */
  public String host() {
    return "127.0.0.1:" + port;
  }

  /**
   * Pushes an OCI layout tarball as {@code host()/name} (name includes the tag) and returns that
   * reference.
   */
  public String push(Path ociTarball, String name) {
    return push(ociTarball, name, null);
  }

  /** The same, logging in as {@code user:password} when {@code creds} is not null. */
  public String push(Path ociTarball, String name, String creds) {
    String ref = host() + "/" + name;
    // --insecure-policy: the test must not depend on the host's /etc/containers/policy.json.
    List<String> cmd =
        new ArrayList<>(
            List.of("skopeo", "--insecure-policy", "copy", "--quiet", "--dest-tls-verify=false"));
    if (creds != null) {
      cmd.add("--dest-creds=" + creds);
    }
    cmd.addAll(List.of("oci-archive:" + ociTarball, "docker://" + ref));
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
        p.destroyForcibly();
        fail(
            "skopeo push of "
                + ref
                + " failed (run scripts/install-deps.sh?): "
                + String.join(" ", cmd)
                + "\n"
                + out);
      }
    } catch (IOException e) {
      fail("cannot run skopeo: " + e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
    return ref;
  }

  private String logText() {
    try {
      return Files.readString(dir.resolve("registry.log"));
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
    }
  }
}
