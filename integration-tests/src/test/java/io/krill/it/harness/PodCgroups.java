package io.krill.it.harness;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Pod cgroups as kubelet (cgroupfs driver, cgroup v1) makes them before it asks for a sandbox: a
 * parent of this test's own and one {@code pod<uid>} cgroup per pod in the memory, cpu, cpuacct and
 * pids hierarchies, with a memory limit; the pod's CRI {@code cgroup_parent} is {@link
 * #parent(String)}. {@link #close()} waits for them to empty and removes them.
 */
public final class PodCgroups implements AutoCloseable {
  private static final Path ROOT = Path.of("/sys/fs/cgroup");
  private static final List<String> HIERARCHIES = List.of("memory", "cpu", "cpuacct", "pids");

  private final String base = "krill-it-pods-" + ProcessHandle.current().pid();

  /** Whether this host has the cgroup v1 memory hierarchy these cgroups live in. */
  public static boolean available() {
    return Files.isRegularFile(ROOT.resolve("memory/memory.limit_in_bytes"));
  }

  /** Creates {@code /<base>/pod<uid>} with {@code memoryLimit} bytes; returns its path. */
  public String create(String uid, long memoryLimit) {
    String path = "/" + base + "/pod" + uid;
    try {
      for (String h : HIERARCHIES) {
        Path hierarchy = ROOT.resolve(h);
        if (!Files.isDirectory(hierarchy)) {
          continue;
        }
        Path parent = hierarchy.resolve(base);
        if (!Files.isDirectory(parent)) {
          Files.createDirectory(parent);
        }
        Files.createDirectory(parent.resolve("pod" + uid));
      }
      Files.writeString(
          ROOT.resolve("memory").resolve(path.substring(1)).resolve("memory.limit_in_bytes"),
          Long.toString(memoryLimit));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create pod cgroup " + path, e);
    }
    return path;
  }

  /** The pod's cgroup as a CRI {@code cgroup_parent}. */
  public String parent(String uid) {
    return "/" + base + "/pod" + uid;
  }

  /** The memory hierarchy's directory of {@code path}. */
  public static Path memoryDir(String path) {
    return ROOT.resolve("memory").resolve(path.substring(1));
  }

  /** The pids in {@code path}'s memory cgroup and all of its children. */
  public static List<Long> pidsUnder(String path) {
    try (Stream<Path> all = Files.walk(memoryDir(path))) {
      List<Long> pids = new ArrayList<>();
      for (Path procs : all.filter(p -> p.endsWith("cgroup.procs")).toList()) {
        Files.readAllLines(procs).stream()
            .filter(s -> !s.isBlank())
            .map(Long::parseLong)
            .forEach(pids::add);
      }
      return pids;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Waits (at most 30 s) until no process is left in any of them, then removes them from every
   * hierarchy, with what runtimes made below them (runc makes the pod's cgroups in the hierarchies
   * this class leaves alone too, and its containers' own; the daemons' CPU limits theirs).
   */
  @Override
  public void close() {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    List<Path> bases;
    try (Stream<Path> hierarchies = Files.list(ROOT)) {
      bases = hierarchies.map(h -> h.resolve(base)).filter(Files::isDirectory).toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    for (Path dir : bases) {
      List<Path> all;
      try (Stream<Path> tree = Files.walk(dir)) {
        all =
            tree.filter(Files::isDirectory)
                .sorted(Comparator.comparingInt(Path::getNameCount).reversed())
                .toList();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      for (Path d : all) {
        while (true) {
          try {
            // rmdir(2): a cgroup goes empty, its control files with it.
            Files.delete(d);
            break;
          } catch (IOException busy) {
            if (System.nanoTime() > deadline) {
              throw new UncheckedIOException("cannot remove cgroup " + d, busy);
            }
            Host.sleep(100);
          }
        }
      }
    }
  }
}
