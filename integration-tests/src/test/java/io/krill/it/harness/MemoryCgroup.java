package io.krill.it.harness;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * A memory cgroup of its own (v1 {@code memory.limit_in_bytes} or v2 {@code memory.max}) with a
 * limit, and a Java wrapper that starts the krill daemon inside it: pass {@link #javaEnv()} to a
 * containerd ({@link Containerd#start(ContainerdVersion, Map)}) and its launcher starts the
 * daemon's JVM through the wrapper. {@link #close()} removes the wrapper and, once no process is
 * left in it, the cgroup.
 */
public final class MemoryCgroup implements AutoCloseable {
  private static final Path V1 = Path.of("/sys/fs/cgroup/memory");
  private static final Path V2 = Path.of("/sys/fs/cgroup");

  private final Path dir;
  private final Path wrapperDir;
  private final Path wrapper;

  private MemoryCgroup(Path dir, Path wrapperDir, Path wrapper) {
    this.dir = dir;
    this.wrapperDir = wrapperDir;
    this.wrapper = wrapper;
  }

  /** A new cgroup limited to {@code limitBytes}, on whichever cgroup version the host mounts. */
  public static MemoryCgroup create(String name, long limitBytes) {
    boolean v1 = Files.isRegularFile(V1.resolve("memory.limit_in_bytes"));
    Path dir = (v1 ? V1 : V2).resolve(name + "-" + ProcessHandle.current().pid());
    try {
      Files.createDirectory(dir);
      Files.writeString(
          dir.resolve(v1 ? "memory.limit_in_bytes" : "memory.max"), Long.toString(limitBytes));
      if (!v1 && Files.exists(dir.resolve("memory.swap.max"))) {
        Files.writeString(dir.resolve("memory.swap.max"), "0");
      }
      Path wrapperDir = Files.createTempDirectory(Path.of("/tmp"), "krill-it-cgroup-");
      Path wrapper = wrapperDir.resolve("java");
      String java = ProcessHandle.current().info().command().orElse("java");
      Files.writeString(
          wrapper,
          "#!/bin/sh\necho $$ > "
              + dir.resolve("cgroup.procs")
              + " || exit 125\nexec "
              + java
              + " \"$@\"\n");
      Files.setPosixFilePermissions(wrapper, PosixFilePermissions.fromString("rwxr-xr-x"));
      return new MemoryCgroup(dir, wrapperDir, wrapper);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot set up memory cgroup " + dir, e);
    }
  }

  /** {@code KRILL_JAVA}: the launcher starts the daemon's JVM in this cgroup. */
  public Map<String, String> javaEnv() {
    return Map.of("KRILL_JAVA", wrapper.toString());
  }

  /** The pids in the cgroup now. */
  public List<Long> pids() {
    try {
      return Files.readAllLines(dir.resolve("cgroup.procs")).stream()
          .filter(s -> !s.isBlank())
          .map(Long::parseLong)
          .toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Waits for the cgroup to empty (its daemon leaves on its idle timeout), then removes it. */
  @Override
  public void close() {
    try {
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (Files.exists(dir) && !pids().isEmpty() && System.nanoTime() < deadline) {
        Host.sleep(100);
      }
      Files.deleteIfExists(wrapper);
      Files.deleteIfExists(wrapperDir);
      // rmdir(2): a cgroup directory is removed empty, its control files go with it.
      Files.deleteIfExists(dir);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot remove memory cgroup " + dir + ": " + pids(), e);
    }
  }
}
