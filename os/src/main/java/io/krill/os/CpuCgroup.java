package io.krill.os;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;

/**
 * One container's CPU cgroup (v1): a directory in the cpu hierarchy and, when cpuacct is mounted
 * apart, one at the same path in the cpuacct hierarchy. Threads, not processes, are moved in: each
 * guest is a thread of the daemon, and v1's {@code tasks} file takes a thread id. A pod sandbox's
 * cgroup ({@link CpuCgroups#createForProcess}) also has a directory in the memory and pids
 * hierarchies, for the sandbox's own process.
 *
 * <p>It remembers the directories its creation made, its parents included (a pod's cgroup that
 * kubelet did not make first): {@link #remove} removes those too once they are empty.
 */
public final class CpuCgroup {
  private static final int REMOVE_ATTEMPTS = 20;

  private final String path;
  private final Path cpuDir;
  private final Path cpuacctDir;
  private final Path memoryDir;

  /** Every directory of this cgroup, and the daemon's own cgroup in the same hierarchy. */
  private final Map<Path, Path> homes;

  /** The directories that making this cgroup created, parents before children. */
  private final List<Path> made;

  CpuCgroup(
      String path,
      Map<Path, Path> homes,
      Path cpuDir,
      Path cpuacctDir,
      Path memoryDir,
      List<Path> made) {
    this.path = path;
    this.cpuDir = cpuDir;
    this.cpuacctDir = cpuacctDir;
    this.memoryDir = memoryDir;
    this.homes = new LinkedHashMap<>(homes);
    this.made = List.copyOf(made);
  }

  /** The cgroup's path inside its hierarchies, e.g. {@code /krill/default/web}. */
  public String path() {
    return path;
  }

  /** Its directory in the cpu hierarchy. */
  public Path cpuDir() {
    return cpuDir;
  }

  /** Its directory in the cpuacct hierarchy (the same as {@link #cpuDir} when mounted together). */
  public Path cpuacctDir() {
    return cpuacctDir;
  }

  /**
   * Writes the limits that are set: the period before the quota, as the kernel checks the quota
   * against it.
   */
  public void update(CpuLimits limits) throws IOException {
    if (limits.periodMicros() != null) {
      write(cpuDir.resolve("cpu.cfs_period_us"), limits.periodMicros());
    }
    if (limits.quotaMicros() != null) {
      write(
          cpuDir.resolve("cpu.cfs_quota_us"), limits.quotaMicros() > 0 ? limits.quotaMicros() : -1);
    }
    if (limits.shares() != null) {
      write(cpuDir.resolve("cpu.shares"), limits.shares());
    }
  }

  /** Its directory in the memory hierarchy, for a process's cgroup on a host that mounts one. */
  public Optional<Path> memoryDir() {
    return Optional.ofNullable(memoryDir);
  }

  /**
   * Moves a whole process (the pod sandbox's) into this cgroup, in every hierarchy it has a
   * directory in.
   */
  public void addProcess(long pid) throws IOException {
    for (Path dir : homes.keySet()) {
      write(dir.resolve("cgroup.procs"), pid);
    }
  }

  /** Moves the calling thread into this cgroup; returns its thread id. */
  public int addCurrentThread() throws IOException {
    int tid = Threads.currentTid();
    addThread(tid);
    return tid;
  }

  /** Moves one thread (by kernel thread id) into this cgroup. */
  public void addThread(int tid) throws IOException {
    write(cpuDir.resolve("tasks"), tid);
    if (!cpuacctDir.equals(cpuDir)) {
      write(cpuacctDir.resolve("tasks"), tid);
    }
  }

  /** The thread ids in this cgroup (of the cpu hierarchy). */
  public List<Integer> threads() throws IOException {
    return readTids(cpuDir.resolve("tasks"));
  }

  /** CPU time its threads used while in it, from {@code cpuacct.usage}; empty if unreadable. */
  public OptionalLong usageNanos() {
    try {
      return OptionalLong.of(
          Long.parseLong(Files.readString(cpuacctDir.resolve("cpuacct.usage")).trim()));
    } catch (IOException | NumberFormatException e) {
      return OptionalLong.empty();
    }
  }

  /**
   * Moves any thread still inside back to the daemon's own cgroup and removes the directories, then
   * those of its parents that making it created, once they are empty (a sibling still there keeps
   * them). A thread that exits meanwhile can keep the kernel busy for a moment, so the removal is
   * retried.
   */
  public void remove() throws IOException {
    Set<Path> dirs = new LinkedHashSet<>(homes.keySet());
    IOException last = null;
    for (int attempt = 0; attempt < REMOVE_ATTEMPTS; attempt++) {
      last = null;
      for (Path dir : List.copyOf(dirs)) {
        Path home = homes.get(dir);
        if (!Files.isDirectory(dir)) {
          dirs.remove(dir);
          continue;
        }
        try {
          // Thread by thread: cgroup.procs would move the whole daemon, every guest with it.
          if (Files.exists(dir.resolve("tasks"))) {
            for (int tid : readTids(dir.resolve("tasks"))) {
              try {
                write(home.resolve("tasks"), tid);
              } catch (IOException gone) {
                // the thread exited meanwhile
              }
            }
          }
          Files.delete(dir);
          dirs.remove(dir);
        } catch (NoSuchFileException gone) {
          dirs.remove(dir);
        } catch (FileSystemException e) {
          last = e;
        }
      }
      if (dirs.isEmpty()) {
        removeMadeParents();
        return;
      }
      try {
        Thread.sleep(10);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    throw new IOException(
        "cannot remove cgroup " + dirs + ": " + (last == null ? "interrupted" : last.getMessage()),
        last);
  }

  /**
   * Removes the cgroups under this one that no thread is in, deepest first: what a daemon that died
   * left of its containers' cgroups. Returns those left (in use).
   */
  public List<Path> removeEmptyChildren() {
    List<Path> left = new ArrayList<>();
    for (Path dir : homes.keySet()) {
      if (!Files.isDirectory(dir)) {
        continue;
      }
      List<Path> children;
      try (var walk = Files.walk(dir)) {
        children =
            walk.filter(p -> !p.equals(dir) && Files.isDirectory(p))
                .sorted(Comparator.comparingInt(Path::getNameCount).reversed())
                .toList();
      } catch (IOException | UncheckedIOException e) {
        continue;
      }
      for (Path child : children) {
        try {
          Files.delete(child);
        } catch (IOException inUse) {
          left.add(child);
        }
      }
    }
    return left;
  }

  /**
   * Removes only the directories that making this cgroup created, deepest first, while they are
   * empty: a pod's cgroup that kubelet made is kubelet's to remove. Returns those left (in use).
   */
  public List<Path> removeMade() {
    List<Path> dirs = new ArrayList<>(made);
    dirs.sort(Comparator.comparingInt(Path::getNameCount).reversed());
    List<Path> left = new ArrayList<>();
    for (Path p : dirs) {
      try {
        Files.deleteIfExists(p);
      } catch (IOException stillUsed) {
        left.add(p);
      }
    }
    return left;
  }

  /** The parents this cgroup's creation made, deepest first, while they are empty. */
  private void removeMadeParents() {
    List<Path> parents = new ArrayList<>(made);
    parents.removeAll(homes.keySet());
    parents.sort(Comparator.comparingInt(Path::getNameCount).reversed());
    for (Path p : parents) {
      try {
        Files.deleteIfExists(p);
      } catch (IOException stillUsed) {
        // a sibling (another container of the pod) still has its cgroup there
      }
    }
  }

  /** The directories that making this cgroup created, its own and its parents'. */
  public List<Path> made() {
    return made;
  }

  private static List<Integer> readTids(Path tasks) throws IOException {
    List<Integer> out = new ArrayList<>();
    for (String line : Files.readAllLines(tasks)) {
      if (!line.isBlank()) {
        out.add(Integer.parseInt(line.trim()));
      }
    }
    return out;
  }

  private static void write(Path file, long value) throws IOException {
    try {
      Files.writeString(file, Long.toString(value));
    } catch (IOException e) {
      throw new IOException("cannot write " + value + " to " + file + ": " + e.getMessage(), e);
    }
  }

  @Override
  public String toString() {
    return path;
  }
}
