package io.krill.it.harness;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A node as an operator gets it: a release tarball unpacked somewhere, a filesystem root (a temp
 * dir standing in for {@code /}) with containerd's own default config, and a containerd started the
 * way a service manager would start it: fixed PATH of system dirs plus {@code
 * <root>/usr/local/bin}, no JAVA_HOME, so the shim can only use the runtime bundled in the release.
 */
public final class InstalledNode implements AutoCloseable {
  private final ContainerdVersion version;
  private final Path dir;
  private final Path root;
  private final Path release;
  private final Path socket;
  private final Path runDir;
  private final Path log;
  private Process containerd;

  public InstalledNode(ContainerdVersion version) {
    this.version = version;
    try {
      // Under /tmp: containerd's socket path must stay below the 108-byte sun_path limit.
      dir = Files.createTempDirectory(Path.of("/tmp"), "krill-inst-").toRealPath();
      root = Files.createDirectories(dir.resolve("root"));
      socket = dir.resolve("c.sock");
      runDir = dir.resolve("krill-run");
      log = dir.resolve("containerd.log");
      Path unpack = Files.createDirectories(dir.resolve("release"));
      must(0, run(List.of("tar", "-xzf", tarball().toString(), "-C", unpack.toString())));
      try (Stream<Path> s = Files.list(unpack)) {
        release = s.findFirst().orElseThrow();
      }
      Path config = containerdConfig();
      Files.createDirectories(config.getParent());
      Files.writeString(config, privateDefaultConfig());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static Path tarball() {
    try (Stream<Path> s = Files.list(Dist.home())) {
      return s.filter(p -> p.getFileName().toString().matches("krill-.*-linux-.*\\.tar\\.gz"))
          .findFirst()
          .orElseGet(() -> fail("no dist/krill-*-linux-*.tar.gz: run make dist first"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** {@code containerd config default} of this version, moved into the temp dir. */
  private String privateDefaultConfig() {
    Result r = run(List.of(version.containerd().toString(), "config", "default"));
    must(0, r);
    // The socket first: it lives under /run/containerd, which becomes the private state dir.
    return r.stdout()
        .replace("/run/containerd/containerd.sock", socket.toString())
        .replace("/var/lib/containerd", dir.resolve("lib").toString())
        .replace("/run/containerd", dir.resolve("state").toString())
        .replace("/opt/containerd", dir.resolve("opt").toString())
        .replace("/var/run/nri/nri.sock", dir.resolve("nri.sock").toString());
  }

  public Path root() {
    return root;
  }

  public Path release() {
    return release;
  }

  public Path runDir() {
    return runDir;
  }

  public Path containerdConfig() {
    return root.resolve("etc/containerd/config.toml");
  }

  public Path installTree() {
    return root.resolve("opt/krill");
  }

  /**
   * {@code <release>/bin/krill ARGS}, as an operator runs it, with a PATH that has no java on it.
   */
  public Result krill(String... args) {
    List<String> cmd =
        new ArrayList<>(
            List.of(
                "env",
                "-i",
                "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
                release.resolve("bin/krill").toString()));
    cmd.addAll(List.of(args));
    return run(cmd);
  }

  public Path socket() {
    return socket;
  }

  /**
   * {@code <root>ARGV} in the environment containerd gets here (so the daemon finds the same run
   * dir and settings its shim launcher would), as a service manager would start it; output to
   * {@code journal}.
   */
  public Process startInstalled(List<String> argv, Path journal) {
    List<String> cmd = new ArrayList<>(argv);
    cmd.set(0, root.resolve(argv.get(0).replaceFirst("^/", "")).toString());
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().clear();
    pb.environment()
        .putAll(
            Map.of(
                "PATH",
                "/usr/sbin:/usr/bin:/sbin:/bin",
                "KRILL_RUN_DIR",
                runDir.toString(),
                "KRILL_CONFIG",
                root.resolve("etc/krill/config.toml").toString(),
                "KRILL_CACHE_DIR",
                dir.resolve("cache").toString()));
    pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    pb.redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(journal.toFile()));
    try {
      return pb.start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public Path dir() {
    return dir;
  }

  public void startContainerd() {
    ProcessBuilder pb =
        new ProcessBuilder(
            version.containerd().toString(), "--config", containerdConfig().toString());
    pb.environment().clear();
    pb.environment()
        .put(
            "PATH",
            root.resolve("usr/local/bin") + ":/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin");
    pb.environment().put("KRILL_RUN_DIR", runDir.toString());
    pb.environment().put("KRILL_CONFIG", root.resolve("etc/krill/config.toml").toString());
    pb.environment().put("KRILL_CACHE_DIR", dir.resolve("cache").toString());
    pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    pb.redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    try {
      containerd = pb.start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (!(Files.exists(socket) && ctr("version").ok())) {
      if (!containerd.isAlive() || System.nanoTime() > deadline) {
        fail(version + " did not start from the installed config:\n" + logTail());
      }
      Host.sleep(100);
    }
  }

  public void stopContainerd() {
    if (containerd == null || !containerd.isAlive()) {
      return;
    }
    containerd.destroy();
    try {
      if (!containerd.waitFor(30, TimeUnit.SECONDS)) {
        containerd.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  public Result ctr(String... args) {
    List<String> cmd =
        new ArrayList<>(List.of(version.ctr().toString(), "--address", socket.toString()));
    cmd.addAll(List.of(args));
    return run(cmd);
  }

  public String logTail() {
    try {
      List<String> all = Files.readAllLines(log, StandardCharsets.UTF_8);
      return String.join("\n", all.subList(Math.max(0, all.size() - 40), all.size()));
    } catch (IOException e) {
      return "(no containerd log: " + e + ")";
    }
  }

  /** krill daemons of this node's containerd (they carry its KRILL_RUN_DIR). */
  public List<Host.Proc> daemons() {
    return Host.all().stream()
        .filter(p -> p.hasEnv("KRILL_RUN_DIR=" + runDir) && !p.isProgram("containerd"))
        .toList();
  }

  public static Result run(List<String> cmd) {
    try (CtrProcess p = new CtrProcess(cmd, ProcessBuilder.Redirect.from(new File("/dev/null")))) {
      return p.await(Duration.ofSeconds(120));
    }
  }

  public static void must(int code, Result r) {
    assertEquals(code, r.exitCode(), r.toString());
  }

  @Override
  public void close() {
    stopContainerd();
    long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
    while (!daemons().isEmpty() && System.nanoTime() < deadline) {
      Host.sleep(100);
    }
    List<Host.Proc> left = daemons();
    left.forEach(p -> ProcessHandle.of(p.pid()).ifPresent(ProcessHandle::destroyForcibly));
    for (Path m : Host.mountsUnder(dir)) {
      Host.run("umount", "-l", m.toString());
    }
    Host.deleteTree(dir);
    if (!left.isEmpty()) {
      fail("krill daemons outlived containerd: " + left.stream().map(Host.Proc::pid).toList());
    }
  }
}
