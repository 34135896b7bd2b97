package io.krill.it.harness;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;

/**
 * A pod's cgroup as kubelet's cgroupfs driver names it ({@code /<root>/besteffort/pod<uid>}, the
 * pod's {@code linux.cgroup_parent}) in the cgroup v1 hierarchies containerd's pod statistics read.
 * {@link #create()} makes it as kubelet does before RunPodSandbox; without that, the runtime finds
 * no pod cgroup and makes what it needs itself. A unique root keeps parallel runs apart; {@link
 * #close()} removes whatever is left under it.
 */
public final class PodCgroup implements AutoCloseable {
  public static final List<String> CONTROLLERS = List.of("cpu", "cpuacct", "memory", "pids");
  private static final Path ROOT = Path.of("/sys/fs/cgroup");

  private final String root;
  private final String path;

  private PodCgroup(String root, String path) {
    this.root = root;
    this.path = path;
  }

  /** Whether this host mounts each of {@link #CONTROLLERS} as a cgroup v1 hierarchy of its own. */
  public static boolean v1Hierarchies() {
    return CONTROLLERS.stream().allMatch(c -> Files.isRegularFile(hierarchy(c).resolve("tasks")));
  }

  /** The pod cgroup of pod {@code uid}, not made yet. */
  public static PodCgroup of(String uid) {
    String root = "/krill-it-" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());
    return new PodCgroup(root, root + "/besteffort/pod" + uid);
  }

  public static Path hierarchy(String controller) {
    return ROOT.resolve(controller);
  }

  /** Makes the pod cgroup in every hierarchy, as kubelet does before it runs the pod. */
  public PodCgroup create() {
    try {
      for (String c : CONTROLLERS) {
        Files.createDirectories(dir(c));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return this;
  }

  /** The cgroup path: what kubelet puts in {@code linux.cgroup_parent}. */
  public String path() {
    return path;
  }

  public Path dir(String controller) {
    return hierarchy(controller).resolve(path.substring(1));
  }

  /** A child cgroup's directory, e.g. the one the runtime made for container {@code id}. */
  public Path child(String controller, String id) {
    return dir(controller).resolve(id);
  }

  /** CPU time charged to the pod cgroup and everything under it. */
  public long cpuacctUsage() {
    try {
      return Long.parseLong(Files.readString(dir("cpuacct").resolve("cpuacct.usage")).trim());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The cgroups (directories) under the pod cgroup, in every hierarchy. */
  public List<Path> children() {
    List<Path> out = new ArrayList<>();
    for (String c : CONTROLLERS) {
      out.addAll(under(dir(c)));
    }
    return out;
  }

  /** The directories of this pod cgroup's root (its own included), in every hierarchy. */
  public List<Path> existing() {
    List<Path> out = new ArrayList<>();
    for (String c : CONTROLLERS) {
      Path top = hierarchy(c).resolve(root.substring(1));
      if (Files.isDirectory(top)) {
        out.add(top);
        out.addAll(under(top));
      }
    }
    return out;
  }

  private static List<Path> under(Path dir) {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> s = Files.walk(dir)) {
      return s.filter(p -> !p.equals(dir) && Files.isDirectory(p)).toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Removes everything under the root, deepest first (rmdir: a cgroup goes empty, its files with
   * it), as kubelet removes a pod's cgroup once its containers are gone.
   */
  @Override
  public void close() {
    List<Path> dirs = new ArrayList<>(existing());
    dirs.sort(Comparator.comparingInt(Path::getNameCount).reversed());
    for (Path d : dirs) {
      try {
        Files.deleteIfExists(d);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot remove cgroup " + d, e);
      }
    }
  }

  @Override
  public String toString() {
    return path;
  }
}
