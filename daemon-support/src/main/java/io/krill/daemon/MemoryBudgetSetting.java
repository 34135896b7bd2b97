package io.krill.daemon;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalLong;

/**
 * The {@code memory_budget} setting ({@code KRILL_MEMORY_BUDGET}): how much memory the linear
 * memories of all guests of one daemon may reserve together. {@code auto} (the default) derives it
 * from what the daemon may use: the limit of its memory cgroup (the smallest {@code memory.max} on
 * cgroup v2, or {@code memory.limit_in_bytes} on v1, of its cgroup and the cgroups above it) or, if
 * there is none, the machine's memory; minus the JVM's maximum heap and {@link #JVM_OFF_HEAP_BYTES}
 * for what the JVM and the engine use outside it. Any other value is a size.
 *
 * @param bytes the budget
 * @param how how it was arrived at, for the daemon's log
 */
public record MemoryBudgetSetting(long bytes, String how) {
  public static final String KEY = "memory_budget";
  public static final String AUTO = "auto";

  /**
   * The linear-memory cap of a container that sets none ({@code default_memory_limit}): enough for
   * typical WASI programs, small enough that an unlimited guest cannot take the daemon's memory.
   */
  public static final String DEFAULT_MEMORY_LIMIT = "256Mi";

  /**
   * Kept for the JVM outside its heap (metaspace, code cache, thread stacks, GC structures) and for
   * the engine's compiled code and bookkeeping, which grow with the number of modules and guests.
   */
  public static final long JVM_OFF_HEAP_BYTES = 256L << 20;

  /** Where the kernel files are read from; {@code /} on a real node, a directory in tests. */
  public record Host(Path root) {
    public static final Host REAL = new Host(Path.of("/"));

    Path file(String absolute) {
      return root.resolve(absolute.substring(1));
    }
  }

  /** The setting's value as the file or environment gave it (null or empty: {@code auto}). */
  public static MemoryBudgetSetting resolve(String value, long maxHeapBytes, Host host) {
    String v = value == null ? "" : value.strip();
    if (v.isEmpty() || v.equalsIgnoreCase(AUTO)) {
      return derive(maxHeapBytes, host);
    }
    try {
      return new MemoryBudgetSetting(Sizes.positive(v), "set by memory_budget");
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          KEY + ": " + e.getMessage() + ", or \"" + AUTO + "\" to derive it from the memory limit");
    }
  }

  /** For the daemon's own JVM. */
  public static MemoryBudgetSetting resolve(String value) {
    return resolve(value, Runtime.getRuntime().maxMemory(), Host.REAL);
  }

  static MemoryBudgetSetting derive(long maxHeapBytes, Host host) {
    long machine = machineMemory(host);
    OptionalLong cgroup = cgroupLimit(host);
    long limit = machine;
    String source = "the machine's memory";
    if (cgroup.isPresent() && cgroup.getAsLong() < machine) {
      limit = cgroup.getAsLong();
      source = "the daemon's memory cgroup limit";
    }
    long budget = Math.max(0, limit - maxHeapBytes - JVM_OFF_HEAP_BYTES);
    return new MemoryBudgetSetting(
        budget,
        source
            + " ("
            + mib(limit)
            + ") minus the JVM's maximum heap ("
            + mib(maxHeapBytes)
            + ") and "
            + mib(JVM_OFF_HEAP_BYTES)
            + " for the JVM and engine outside the heap");
  }

  private static String mib(long bytes) {
    return (bytes >> 20) + " MiB";
  }

  /** MemTotal of /proc/meminfo; Long.MAX_VALUE when it cannot be read. */
  static long machineMemory(Host host) {
    try {
      for (String line : Files.readAllLines(host.file("/proc/meminfo"))) {
        if (line.startsWith("MemTotal:")) {
          String[] f = line.substring("MemTotal:".length()).strip().split("\\s+");
          return Long.parseLong(f[0]) * 1024;
        }
      }
    } catch (IOException | RuntimeException e) {
      // fall through: no machine limit known
    }
    return Long.MAX_VALUE;
  }

  /**
   * The tightest memory limit on this process's cgroup and its ancestors, if any. cgroup v2: the
   * {@code 0::/path} line of /proc/self/cgroup and {@code memory.max} under /sys/fs/cgroup; v1: the
   * {@code memory} controller's line and {@code memory.limit_in_bytes} under /sys/fs/cgroup/memory.
   */
  static OptionalLong cgroupLimit(Host host) {
    List<String> lines;
    try {
      lines = Files.readAllLines(host.file("/proc/self/cgroup"));
    } catch (IOException e) {
      return OptionalLong.empty();
    }
    OptionalLong best = OptionalLong.empty();
    for (String line : lines) {
      String[] f = line.split(":", 3);
      if (f.length != 3) {
        continue;
      }
      boolean v1Memory = List.of(f[1].split(",")).contains("memory");
      boolean v2 = f[0].equals("0") && f[1].isEmpty();
      if (!v1Memory && !v2) {
        continue;
      }
      Path mount = v1Memory ? host.file("/sys/fs/cgroup/memory") : host.file("/sys/fs/cgroup");
      String file = v1Memory ? "memory.limit_in_bytes" : "memory.max";
      if (v2 && !Files.exists(mount.resolve("cgroup.controllers"))) {
        continue; // a hybrid host's empty v2 tree
      }
      best = min(best, limitAlong(mount, f[2], file));
    }
    return best;
  }

  /** The smallest limit in {@code file} from the cgroup at {@code path} up to the root. */
  private static OptionalLong limitAlong(Path mount, String path, String file) {
    OptionalLong best = OptionalLong.empty();
    Path dir = mount.resolve(path.replaceFirst("^/+", ""));
    while (dir != null && dir.startsWith(mount)) {
      best = min(best, read(dir.resolve(file)));
      dir = dir.equals(mount) ? null : dir.getParent();
    }
    return best;
  }

  private static OptionalLong read(Path file) {
    try {
      String s = Files.readString(file).strip();
      if (s.equals("max")) {
        return OptionalLong.empty();
      }
      return OptionalLong.of(Long.parseLong(s));
    } catch (IOException | NumberFormatException e) {
      return OptionalLong.empty();
    }
  }

  private static OptionalLong min(OptionalLong a, OptionalLong b) {
    if (a.isEmpty()) {
      return b;
    }
    if (b.isEmpty()) {
      return a;
    }
    return OptionalLong.of(Math.min(a.getAsLong(), b.getAsLong()));
  }
}
