package io.krill.os;

import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.OptionalLong;
import java.util.Set;

/**
 * One container's CPU cgroup (v1): a directory in the cpu hierarchy and, when cpuacct is mounted
 * apart, one at the same path in the cpuacct hierarchy. Threads, not processes, are moved in: each
 * guest is a thread of the daemon, and v1's {@code tasks} file takes a thread id.
 */
public final class CpuCgroup {
  private static final int REMOVE_ATTEMPTS = 20;

  private final String path;
  private final Path cpuDir;
  private final Path cpuacctDir;
  private final Path cpuHome;
  private final Path cpuacctHome;

  CpuCgroup(String path, Path cpuDir, Path cpuacctDir, Path cpuHome, Path cpuacctHome) {
    this.path = path;
    this.cpuDir = cpuDir;
    this.cpuacctDir = cpuacctDir;
    this.cpuHome = cpuHome;
    this.cpuacctHome = cpuacctHome;
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
   * Moves any thread still inside back to the daemon's own cgroup and removes the directories. A
   * thread that exits meanwhile can keep the kernel busy for a moment, so the removal is retried.
   */
  public void remove() throws IOException {
    Set<Path> dirs = new LinkedHashSet<>(List.of(cpuDir, cpuacctDir));
    IOException last = null;
    for (int attempt = 0; attempt < REMOVE_ATTEMPTS; attempt++) {
      last = null;
      for (Path dir : List.copyOf(dirs)) {
        Path home = dir.equals(cpuDir) ? cpuHome : cpuacctHome;
        if (!Files.isDirectory(dir)) {
          dirs.remove(dir);
          continue;
        }
        try {
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
