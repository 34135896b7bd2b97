package io.krill.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.krill.engine.Guest;
import io.krill.engine.GuestResult;
import io.krill.engine.GuestSpec;
import io.krill.engine.WasmEngine;
import io.krill.oci.RuntimeSpec;
import io.krill.os.CpuCgroups;
import io.krill.os.Threads;
import io.krill.runtime.TaskFixture.Bundle;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * CPU limits: each wasm container's cgroup, written from its spec, joined by its guests' threads
 * before they run, updated live, read for stats. Temp directories stand in for the hierarchies.
 */
@Timeout(120)
class TaskManagerCpuCgroupTest {
  private static final String LIMITS =
      ",\"linux\":{\"resources\":{\"cpu\":{\"quota\":20000,\"period\":100000,\"shares\":512}},"
          + "\"cgroupsPath\":\"/kubepods/burstable/pod1/c1\"}";

  @TempDir Path tmp;
  TaskFixture f;
  Path cpu;
  Path cpuacct;
  final CountDownLatch release = new CountDownLatch(1);

  /** What each guest saw when it began to run: its thread id and its cgroup's tasks file. */
  final Map<String, String> seen = new ConcurrentHashMap<>();

  @BeforeEach
  void setUp() throws IOException {
    cpu = Files.createDirectories(tmp.resolve("cpu"));
    cpuacct = Files.createDirectories(tmp.resolve("cpuacct"));
    Files.writeString(cpu.resolve("tasks"), "");
    Files.writeString(cpuacct.resolve("tasks"), "");
    f =
        new TaskFixture(
            tmp.resolve("t"),
            new WasmEngine() {
              @Override
              public String name() {
                return "recording";
              }

              @Override
              public Guest prepare(GuestSpec spec) {
                return new RecordingGuest(spec.args().contains("exec") ? "exec" : "main");
              }
            },
            0);
    f.tasks.withCpuCgroups(CpuCgroups.at(cpu, cpuacct, "/", "/"), "/krill/test");
  }

  @AfterEach
  void tearDown() throws Exception {
    release.countDown();
    f.close();
  }

  private final class RecordingGuest implements Guest {
    final String name;

    RecordingGuest(String name) {
      this.name = name;
    }

    @Override
    public GuestResult run() {
      try {
        int tid = Threads.currentTid();
        Path dir = cpu.resolve("kubepods/burstable/pod1/c1");
        Path tasks = dir.resolve("tasks");
        seen.put(
            name, tid + " in " + (Files.exists(tasks) ? Files.readString(tasks).trim() : "none"));
        release.await();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return new GuestResult.Exited(0);
    }

    @Override
    public void interrupt() {
      release.countDown();
    }

    @Override
    public long linearMemoryBytes() {
      return 0;
    }

    @Override
    public void close() {}
  }

  private Bundle bundle(String id, String extra) {
    return f.bundle(id, "/hello.wat", "hello.wat", TaskFixture.resource("wasm/hello.wat"), extra);
  }

  @Test
  void guestAndExecThreadsJoinTheContainersCgroupBeforeTheyRun() throws Exception {
    Bundle b = bundle("c1", LIMITS);
    f.tasks.create(b.spec());
    Path dir = cpu.resolve("kubepods/burstable/pod1/c1");
    assertEquals("100000", Files.readString(dir.resolve("cpu.cfs_period_us")));
    assertEquals("20000", Files.readString(dir.resolve("cpu.cfs_quota_us")));
    assertEquals("512", Files.readString(dir.resolve("cpu.shares")));
    assertTrue(Files.isDirectory(cpuacct.resolve("kubepods/burstable/pod1/c1")));

    f.tasks.start("c1");
    TaskFixture.eventually("guest runs", () -> seen.containsKey("main"));
    String[] main = seen.get("main").split(" in ");
    assertEquals(main[0], main[1], "the guest's thread was in its cgroup before it ran");
    assertEquals(
        main[0],
        Files.readString(cpuacct.resolve("kubepods/burstable/pod1/c1/tasks")).trim(),
        "and in the cpuacct hierarchy too");

    f.tasks.exec(
        new ExecSpec(
            "c1",
            "e1",
            new RuntimeSpec.Process(List.of("/hello.wat", "exec"), List.of(), "/", false),
            null));
    f.tasks.start("c1", "e1");
    TaskFixture.eventually("exec runs", () -> seen.containsKey("exec"));
    String[] exec = seen.get("exec").split(" in ");
    assertTrue(exec[1].equals(exec[0]) || exec[1].endsWith(exec[0]), String.join(" ", exec));
  }

  @Test
  void statsTakeCpuFromCpuacctAndUpdateRewritesTheLimits() throws Exception {
    Bundle b = bundle("c1", LIMITS);
    f.tasks.create(b.spec());
    Path acct = cpuacct.resolve("kubepods/burstable/pod1/c1");
    Files.writeString(acct.resolve("cpuacct.usage"), "7000000000\n");
    assertEquals(7_000_000_000L, f.tasks.stats("c1").cpuNanos());

    f.tasks.updateCpu("c1", new RuntimeSpec.Cpu(null, 50000L, null));
    Path dir = cpu.resolve("kubepods/burstable/pod1/c1");
    assertEquals("50000", Files.readString(dir.resolve("cpu.cfs_quota_us")));
    assertEquals("100000", Files.readString(dir.resolve("cpu.cfs_period_us")));
    f.tasks.updateCpu("c1", new RuntimeSpec.Cpu(null, -1L, null));
    assertEquals("-1", Files.readString(dir.resolve("cpu.cfs_quota_us")));
    KrillException e =
        assertThrows(
            KrillException.class,
            () -> f.tasks.updateCpu("nope", new RuntimeSpec.Cpu(2L, null, null)));
    assertEquals(ErrorCode.NOT_FOUND, e.code());
  }

  @Test
  void withoutCgroupsPathTheCgroupGoesUnderTheDaemonsParent() throws Exception {
    Bundle b =
        bundle("plain", ",\"linux\":{\"resources\":{\"cpu\":{\"quota\":30000,\"period\":100000}}}");
    f.tasks.create(b.spec());
    assertEquals("30000", Files.readString(cpu.resolve("krill/test/plain/cpu.cfs_quota_us")));
    // The stand-in directory still holds its files after delete (a real cgroup's go with it),
    // but no thread is left in it.
    f.tasks.delete("plain");
    assertFalse(
        Files.exists(cpu.resolve("krill/test/plain/tasks"))
            && !Files.readString(cpu.resolve("krill/test/plain/tasks")).isBlank());
  }

  @Test
  void onAHostWithoutCpuCgroupsContainersRunAndUpdatesAreIgnored() throws Exception {
    f.tasks.withCpuCgroups(CpuCgroups.none("cgroup v2 only"), "/krill/test");
    Bundle b = bundle("c1", LIMITS);
    f.tasks.create(b.spec());
    f.tasks.updateCpu("c1", new RuntimeSpec.Cpu(null, 50000L, null));
    assertFalse(Files.exists(cpu.resolve("kubepods")));
    f.tasks.start("c1");
    TaskFixture.eventually("guest runs", () -> seen.containsKey("main"));
    assertTrue(seen.get("main").endsWith(" in none"), seen.get("main"));
  }

  @Test
  void aPodSandboxsProcessJoinsItsCgroupInTheCpuMemoryAndPidsHierarchies() throws Exception {
    Path memory = Files.createDirectories(tmp.resolve("memory"));
    Path pids = Files.createDirectories(tmp.resolve("pids"));
    // Stands in for the launcher's pause command: a process that waits.
    Path helper = tmp.resolve("pause.sh");
    Files.writeString(helper, "#!/bin/sh\nexec sleep 600\n");
    helper.toFile().setExecutable(true);
    try (TaskManager tasks =
        new TaskManager(f.engines.defaultEngine(), f.timer, TaskFixture.PID, 0, helper)) {
      tasks.withCpuCgroups(
          CpuCgroups.at(cpu, cpuacct, "/", "/")
              .withProcessHierarchy("memory", memory, "/")
              .withProcessHierarchy("pids", pids, "/"),
          "/krill/test");
      Bundle b = f.bundle("sb", "/pause", null, null, ",\"linux\":{\"cgroupsPath\":\"/pod9/sb\"}");
      int pid =
          tasks.create(
              new TaskSpec(
                  "sb",
                  b.dir(),
                  List.of(),
                  new Stdio(null, null, null, false),
                  TaskSpec.Kind.POD_SANDBOX,
                  ImageModules.NONE));
      for (Path h : List.of(cpu, cpuacct, memory, pids)) {
        assertEquals(
            String.valueOf(pid), Files.readString(h.resolve("pod9/sb/cgroup.procs")), h.toString());
      }
      assertFalse(Files.exists(cpu.resolve("pod9/sb/tasks")), "no daemon thread joins it");
      tasks.delete("sb");
      assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false));
    }
  }

  @Test
  void aPodCgroupIsParentOfItsContainersAndOnlyWhatKrillMadeIsRemoved() throws Exception {
    // Nobody made it: krill makes it under its own parent, and removes it.
    assertEquals(Optional.of("/krill/test/p1"), f.tasks.createPodCgroup("p1", ""));
    assertEquals(Optional.of("/krill/test/p1"), f.tasks.podCgroupPath("p1"));
    Files.writeString(cpuacct.resolve("krill/test/p1/cpuacct.usage"), "5000\n");
    assertEquals(5000L, f.tasks.podCpuNanos("p1").getAsLong());
    Files.delete(cpuacct.resolve("krill/test/p1/cpuacct.usage"));
    f.tasks.removePodCgroup("p1");
    assertFalse(Files.exists(cpu.resolve("krill/test/p1")));
    assertTrue(f.tasks.podCgroupPath("p1").isEmpty());

    // Under krill's own parent it is krill's, even if an earlier daemon made it.
    Files.createDirectories(cpu.resolve("krill/test/p4"));
    f.tasks.createPodCgroup("p4", "");
    f.tasks.removePodCgroup("p4");
    assertFalse(Files.exists(cpu.resolve("krill/test/p4")));

    // kubelet made it: krill adopts it and leaves it to kubelet.
    Files.createDirectories(cpu.resolve("kubepods/besteffort/pod2"));
    Files.createDirectories(cpuacct.resolve("kubepods/besteffort/pod2"));
    assertEquals(
        Optional.of("/kubepods/besteffort/pod2"),
        f.tasks.createPodCgroup("p2", "/kubepods/besteffort/pod2"));
    f.tasks.removePodCgroup("p2");
    assertTrue(Files.isDirectory(cpu.resolve("kubepods/besteffort/pod2")));

    // The systemd driver's parent is a slice.
    assertEquals(
        Optional.of("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod3.slice"),
        f.tasks.createPodCgroup("p3", "kubepods-besteffort-pod3.slice"));
    f.tasks.removePodCgroup("p3");
    assertFalse(Files.exists(cpu.resolve("kubepods.slice")));
  }

  @Test
  void withoutCpuCgroupsAPodHasNone() {
    f.tasks.withCpuCgroups(CpuCgroups.none("cgroup v2 only"), "/krill/test");
    assertTrue(f.tasks.createPodCgroup("p1", "/kubepods/pod1").isEmpty());
    assertTrue(f.tasks.podCpuNanos("p1").isEmpty());
    f.tasks.removePodCgroup("p1");
  }
}
