package io.krill.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The {@code memory_budget} setting, derived from kernel files laid out in a temp directory. */
class MemoryBudgetSettingTest {
  private static final long MIB = 1L << 20;
  private static final long HEAP = 256 * MIB;

  @TempDir Path root;

  private MemoryBudgetSetting.Host host(String cgroup, long memTotalKiB) throws IOException {
    write("/proc/self/cgroup", cgroup);
    write("/proc/meminfo", "MemTotal:       " + memTotalKiB + " kB\nMemFree: 1 kB\n");
    return new MemoryBudgetSetting.Host(root);
  }

  private void write(String absolute, String text) throws IOException {
    Path p = root.resolve(absolute.substring(1));
    Files.createDirectories(p.getParent());
    Files.writeString(p, text);
  }

  @Test
  void auto_cgroupV2_usesTheTightestMemoryMaxUpTheTree() throws IOException {
    MemoryBudgetSetting.Host h = host("0::/system.slice/containerd.service\n", 16L << 20);
    write("/sys/fs/cgroup/cgroup.controllers", "cpu memory\n");
    write("/sys/fs/cgroup/system.slice/memory.max", String.valueOf(1536 * MIB));
    write("/sys/fs/cgroup/system.slice/containerd.service/memory.max", "max\n");

    MemoryBudgetSetting s = MemoryBudgetSetting.resolve("auto", HEAP, h);

    assertEquals(1536 * MIB - HEAP - MemoryBudgetSetting.JVM_OFF_HEAP_BYTES, s.bytes());
    assertTrue(s.how().contains("cgroup limit (1536 MiB)"), s.how());
  }

  @Test
  void auto_cgroupV1_readsTheMemoryControllersLimit() throws IOException {
    MemoryBudgetSetting.Host h = host("5:memory:/krill\n4:cpu,cpuacct:/\n0::/\n", 16L << 20);
    write("/sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n");
    write("/sys/fs/cgroup/memory/krill/memory.limit_in_bytes", String.valueOf(1024 * MIB));

    assertEquals(
        1024 * MIB - HEAP - MemoryBudgetSetting.JVM_OFF_HEAP_BYTES,
        MemoryBudgetSetting.resolve("", HEAP, h).bytes());
  }

  @Test
  void auto_unlimitedCgroup_usesTheMachinesMemory() throws IOException {
    MemoryBudgetSetting.Host h = host("4:memory:/\n", 8L << 20);
    write("/sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n");

    MemoryBudgetSetting s = MemoryBudgetSetting.resolve(null, HEAP, h);

    assertEquals(8192 * MIB - HEAP - MemoryBudgetSetting.JVM_OFF_HEAP_BYTES, s.bytes());
    assertTrue(s.how().startsWith("the machine's memory (8192 MiB)"), s.how());
  }

  @Test
  void auto_limitBelowWhatTheJvmNeeds_isZero() throws IOException {
    MemoryBudgetSetting.Host h = host("0::/tiny\n", 8L << 20);
    write("/sys/fs/cgroup/cgroup.controllers", "memory\n");
    write("/sys/fs/cgroup/tiny/memory.max", String.valueOf(300 * MIB));

    assertEquals(0, MemoryBudgetSetting.resolve("auto", HEAP, h).bytes());
  }

  @Test
  void size_isTakenAsIs() throws IOException {
    MemoryBudgetSetting s = MemoryBudgetSetting.resolve("96Mi", HEAP, host("0::/\n", 1024));
    assertEquals(96 * MIB, s.bytes());
  }

  @Test
  void garbage_errorNamesTheSettingAndWhatIsAccepted() throws IOException {
    MemoryBudgetSetting.Host h = host("0::/\n", 1024);
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> MemoryBudgetSetting.resolve("lots", HEAP, h));
    assertTrue(e.getMessage().startsWith("memory_budget: 'lots' is not"), e.getMessage());
    assertTrue(e.getMessage().contains("\"auto\""), e.getMessage());
  }
}
