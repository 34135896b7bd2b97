package io.krill.os;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The cgroup v1 file writes, with temp directories standing in for the hierarchies. */
class CpuCgroupTest {
  @TempDir Path tmp;

  private CpuCgroups split() throws IOException {
    Path cpu = Files.createDirectories(tmp.resolve("cpu"));
    Path acct = Files.createDirectories(tmp.resolve("cpuacct"));
    Files.writeString(cpu.resolve("tasks"), "");
    Files.writeString(acct.resolve("tasks"), "");
    return CpuCgroups.at(cpu, acct, "/", "/");
  }

  @Test
  void createWritesPeriodQuotaAndSharesInTheCpuHierarchy() throws IOException {
    CpuCgroup g = split().create("/krill/default/web", new CpuLimits(20000L, 100000L, 512L));
    Path dir = tmp.resolve("cpu/krill/default/web");
    assertEquals(dir, g.cpuDir());
    assertEquals(tmp.resolve("cpuacct/krill/default/web"), g.cpuacctDir());
    assertTrue(Files.isDirectory(g.cpuacctDir()));
    assertEquals("100000", Files.readString(dir.resolve("cpu.cfs_period_us")));
    assertEquals("20000", Files.readString(dir.resolve("cpu.cfs_quota_us")));
    assertEquals("512", Files.readString(dir.resolve("cpu.shares")));
    assertEquals("/krill/default/web", g.path());
  }

  @Test
  void updateWritesOnlyWhatIsSetAndZeroQuotaMeansUnlimited() throws IOException {
    CpuCgroup g = split().create("/c", CpuLimits.NONE);
    assertFalse(Files.exists(g.cpuDir().resolve("cpu.cfs_quota_us")));
    g.update(new CpuLimits(50000L, null, null));
    assertEquals("50000", Files.readString(g.cpuDir().resolve("cpu.cfs_quota_us")));
    assertFalse(Files.exists(g.cpuDir().resolve("cpu.shares")));
    g.update(new CpuLimits(0L, null, 2L));
    assertEquals("-1", Files.readString(g.cpuDir().resolve("cpu.cfs_quota_us")));
    assertEquals("2", Files.readString(g.cpuDir().resolve("cpu.shares")));
  }

  @Test
  void aThreadJoinsBothHierarchiesAndUsageComesFromCpuacct() throws IOException {
    CpuCgroup g = split().create("/c", CpuLimits.NONE);
    int tid = g.addCurrentThread();
    assertTrue(tid > 0);
    assertEquals(String.valueOf(tid), Files.readString(g.cpuDir().resolve("tasks")));
    assertEquals(String.valueOf(tid), Files.readString(g.cpuacctDir().resolve("tasks")));
    assertTrue(g.usageNanos().isEmpty());
    Files.writeString(g.cpuacctDir().resolve("cpuacct.usage"), "123456789\n");
    assertEquals(123456789L, g.usageNanos().getAsLong());
  }

  @Test
  void oneDirectoryWhenCpuAndCpuacctAreMountedTogether() throws IOException {
    Path both = Files.createDirectories(tmp.resolve("cpu,cpuacct"));
    CpuCgroup g = CpuCgroups.at(both, both, "/", "/").create("/c", CpuLimits.NONE);
    g.addThread(42);
    assertEquals("42", Files.readString(g.cpuDir().resolve("tasks")));
    assertEquals(g.cpuDir(), g.cpuacctDir());
  }

  @Test
  void removeMovesRemainingThreadsToTheDaemonsOwnCgroup() throws IOException {
    Path cpu = Files.createDirectories(tmp.resolve("cpu/daemon"));
    Path acct = Files.createDirectories(tmp.resolve("cpuacct/daemon"));
    CpuCgroup g =
        CpuCgroups.at(tmp.resolve("cpu"), tmp.resolve("cpuacct"), "/daemon", "/daemon")
            .create("/krill/ns/c", CpuLimits.NONE);
    Files.writeString(g.cpuDir().resolve("tasks"), "7\n8\n");
    // A stand-in directory keeps its files, so rmdir fails here (a real cgroup's do not count).
    IOException e = assertThrows(IOException.class, g::remove);
    assertTrue(e.getMessage().contains("cannot remove cgroup"), e.getMessage());
    assertEquals("8", Files.readString(cpu.resolve("tasks")));
    // An empty one is removed.
    CpuCgroup empty =
        CpuCgroups.at(tmp.resolve("cpu"), tmp.resolve("cpuacct"), "/daemon", "/daemon")
            .create("/krill/ns/d", CpuLimits.NONE);
    empty.remove();
    assertFalse(Files.exists(empty.cpuDir()));
    assertFalse(Files.exists(empty.cpuacctDir()));
    assertTrue(Files.exists(acct));
  }

  @Test
  void aProcessCgroupSpansMemoryAndPidsAndTakesTheWholeProcess() throws IOException {
    CpuCgroups c =
        split()
            .withProcessHierarchy("memory", Files.createDirectories(tmp.resolve("memory")), "/")
            .withProcessHierarchy("pids", Files.createDirectories(tmp.resolve("pids")), "/");
    CpuCgroup sandbox = c.createForProcess("/kubepods/pod1/sandbox");
    assertEquals(Optional.of(tmp.resolve("memory/kubepods/pod1/sandbox")), sandbox.memoryDir());
    sandbox.addProcess(4242);
    for (String h : List.of("cpu", "cpuacct", "memory", "pids")) {
      assertEquals(
          "4242", Files.readString(tmp.resolve(h + "/kubepods/pod1/sandbox/cgroup.procs")), h);
    }
    // A container's cgroup is for threads: cpu and cpuacct only.
    CpuCgroup container = c.create("/kubepods/pod1/c1", CpuLimits.NONE);
    assertTrue(container.memoryDir().isEmpty());
    assertFalse(Files.exists(tmp.resolve("memory/kubepods/pod1/c1")));
  }

  @Test
  void removeTakesTheParentsItMadeOnceNoSiblingIsLeft() throws IOException {
    CpuCgroups c =
        split().withProcessHierarchy("memory", Files.createDirectories(tmp.resolve("memory")), "/");
    CpuCgroup sandbox = c.createForProcess("/kubepods/besteffort/pod1/sandbox");
    assertTrue(sandbox.made().contains(tmp.resolve("cpu/kubepods")), sandbox.made().toString());
    CpuCgroup container = c.create("/kubepods/besteffort/pod1/c1", CpuLimits.NONE);
    assertEquals(
        List.of(
            tmp.resolve("cpu/kubepods/besteffort/pod1/c1"),
            tmp.resolve("cpuacct/kubepods/besteffort/pod1/c1")),
        container.made());
    // The pod's first cgroup goes last, as the sandbox does, and takes the parents with it.
    container.remove();
    assertTrue(Files.isDirectory(tmp.resolve("cpu/kubepods/besteffort/pod1")));
    sandbox.remove();
    for (String h : List.of("cpu", "cpuacct", "memory")) {
      assertFalse(Files.exists(tmp.resolve(h + "/kubepods")), h);
    }
  }

  @Test
  void removeLeavesParentsItDidNotMake() throws IOException {
    CpuCgroups c = split();
    Files.createDirectories(tmp.resolve("cpu/kubepods/pod1"));
    Files.createDirectories(tmp.resolve("cpuacct/kubepods/pod1"));
    CpuCgroup g = c.create("/kubepods/pod1/c1", CpuLimits.NONE);
    CpuCgroup sibling = c.create("/kubepods/pod2/c2", CpuLimits.NONE);
    g.remove();
    assertTrue(Files.isDirectory(tmp.resolve("cpu/kubepods/pod1")));
    assertTrue(Files.isDirectory(tmp.resolve("cpuacct/kubepods/pod1")));
    assertFalse(Files.exists(tmp.resolve("cpu/kubepods/pod1/c1")));
    sibling.remove();
    assertFalse(Files.exists(tmp.resolve("cpu/kubepods/pod2")), "pod2 was made for it");
    assertTrue(Files.isDirectory(tmp.resolve("cpu/kubepods")));
  }

  @Test
  void detectFindsMemoryAndPidsForProcessCgroups() throws IOException {
    List<String> mountinfo =
        List.of(
            "31 25 0:27 / " + tmp.resolve("cpu") + " rw - cgroup cgroup rw,cpu",
            "32 25 0:28 / " + tmp.resolve("cpuacct") + " rw - cgroup cgroup rw,cpuacct",
            "33 25 0:29 / " + tmp.resolve("memory") + " rw - cgroup cgroup rw,memory",
            "34 25 0:30 / " + tmp.resolve("pids") + " rw - cgroup cgroup rw,pids");
    CpuCgroups c =
        CpuCgroups.detect(
            mountinfo, List.of("4:memory:/m", "3:pids:/", "2:cpuacct:/", "1:cpu:/", "0::/"));
    CpuCgroup g = c.createForProcess("/k/pod/s");
    assertTrue(Files.isDirectory(tmp.resolve("memory/k/pod/s")));
    assertTrue(Files.isDirectory(tmp.resolve("pids/k/pod/s")));
    assertEquals(Optional.of(tmp.resolve("memory/k/pod/s")), g.memoryDir());
  }

  @Test
  void removeEmptyChildrenTakesWhatADeadDaemonLeftUnderAPod() throws IOException {
    CpuCgroup pod = split().create("/krill/cri/pod1", CpuLimits.NONE);
    Files.createDirectories(tmp.resolve("cpu/krill/cri/pod1/c1"));
    Files.createDirectories(tmp.resolve("cpuacct/krill/cri/pod1/c1"));
    Path busy = Files.createDirectories(tmp.resolve("cpu/krill/cri/pod1/c2"));
    // A stand-in's file keeps it, as a thread keeps a real cgroup.
    Files.writeString(busy.resolve("tasks"), "7\n");
    assertEquals(List.of(busy), pod.removeEmptyChildren());
    assertFalse(Files.exists(tmp.resolve("cpu/krill/cri/pod1/c1")));
    assertFalse(Files.exists(tmp.resolve("cpuacct/krill/cri/pod1/c1")));
  }

  @Test
  void detectReadsV1MountsAndTheDaemonsOwnCgroups() {
    List<String> mountinfo =
        List.of(
            "30 25 0:26 / /sys/fs/cgroup/unified rw,nosuid shared:5 - cgroup2 cgroup2 rw",
            "31 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:6 - cgroup cgroup rw,cpu,cpuacct",
            "32 25 0:28 / /sys/fs/cgroup/memory rw,nosuid shared:7 - cgroup cgroup rw,memory");
    CpuCgroups c =
        CpuCgroups.detect(
            mountinfo, List.of("4:memory:/m", "3:cpu,cpuacct:/system.slice/x", "0::/"));
    assertTrue(c.enforced());
    assertEquals(Optional.empty(), c.unavailableReason());
  }

  @Test
  void detectOnAV2OnlyHostSaysLimitsAreNotEnforced() {
    CpuCgroups c =
        CpuCgroups.detect(
            List.of("30 25 0:26 / /sys/fs/cgroup rw,nosuid shared:5 - cgroup2 cgroup2 rw"),
            List.of("0::/system.slice/krill.service"));
    assertFalse(c.enforced());
    assertTrue(c.unavailableReason().orElseThrow().contains("cgroup v2"));
    IOException e = assertThrows(IOException.class, () -> c.create("/krill/ns/c", CpuLimits.NONE));
    assertTrue(e.getMessage().contains("not enforced"), e.getMessage());
  }

  @Test
  void cgroupsPathFormsFromContainerdAndKubelet() {
    assertEquals(Optional.of("/krill/default/c1"), CpuCgroups.pathFor(null, "krill/default", "c1"));
    assertEquals(Optional.of("/krill/default/c1"), CpuCgroups.pathFor("", "/krill/default/", "c1"));
    assertEquals(
        Optional.of("/kubepods/burstable/pod12/abc"),
        CpuCgroups.pathFor("/kubepods/burstable/pod12/abc", "krill/k8s.io", "abc"));
    assertEquals(
        Optional.of(
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod12.slice/cri-containerd-abc.scope"),
        CpuCgroups.pathFor(
            "kubepods-burstable-pod12.slice:cri-containerd:abc", "krill/k8s.io", "abc"));
    assertEquals(
        Optional.of("/system.slice/abc.scope"), CpuCgroups.pathFor(":" + ":abc", "krill", "abc"));
    assertEquals(Optional.empty(), CpuCgroups.pathFor("relative/path", "krill", "abc"));
    assertEquals(Optional.empty(), CpuCgroups.pathFor("/a/../../etc", "krill", "abc"));
  }

  @Test
  void currentTidIsAThreadOfThisProcess() throws IOException {
    int tid = Threads.currentTid();
    assertTrue(Files.isDirectory(Path.of("/proc/self/task/" + tid)));
  }

  @Test
  void rootsAreEachHierarchyOnceAndNoneWhereLimitsAreNotEnforced() throws IOException {
    Path both = tmp.resolve("cpu,cpuacct");
    Path memory = tmp.resolve("memory");
    assertEquals(
        List.of(both, memory),
        CpuCgroups.at(both, both, "/", "/").withProcessHierarchy("memory", memory, "/").roots());
    assertEquals(List.of(), CpuCgroups.none("cgroup v2 only").roots());
  }
}
