package io.krill.it.kubernetes;

import static io.krill.it.harness.Kubelet.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.grpc.StatusRuntimeException;
import io.krill.cri.api.v1.ContainerStats;
import io.krill.cri.api.v1.ContainerStatsRequest;
import io.krill.cri.api.v1.LinuxPodSandboxConfig;
import io.krill.cri.api.v1.ListPodSandboxStatsRequest;
import io.krill.cri.api.v1.PodSandboxConfig;
import io.krill.cri.api.v1.PodSandboxStats;
import io.krill.cri.api.v1.PodSandboxStatsFilter;
import io.krill.cri.api.v1.PodSandboxStatsRequest;
import io.krill.it.harness.ContainerdPerClass;
import io.krill.it.harness.ContainerdVersion;
import io.krill.it.harness.CriConfig;
import io.krill.it.harness.CriContainerd;
import io.krill.it.harness.Host;
import io.krill.it.harness.Pod;
import io.krill.it.harness.PodCgroup;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Pod statistics through containerd's CRI (PodSandboxStats, ListPodSandboxStats: what kubelet's
 * summary API and {@code kubectl top pod} read). containerd reads them from the pod's cgroup, its
 * {@code linux.cgroup_parent}, in the cgroup v1 hierarchies; krill puts the sandbox's process and
 * the containers' guest threads in cgroups under it, and removes those it made with the pod.
 */
class PodStatsE2ETest {
  @RegisterExtension
  static final ContainerdPerClass<CriContainerd> cris = ContainerdPerClass.withCri();

  /** A pod with kubelet's cgroupfs-driver cgroup parent, which kubelet made before. */
  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void podCgroupMadeByKubelet_spinningGuestsCpuShowsInPodStats(ContainerdVersion v) {
    assumeTrue(PodCgroup.v1Hierarchies(), "needs cgroup v1 cpu, cpuacct, memory, pids");
    CriContainerd c = cris.get(v);
    PodSandboxConfig cfg = podConfig(c, "stats");
    try (PodCgroup cg = PodCgroup.of(cfg.getMetadata().getUid()).create()) {
      spinAndRead(c, cfg, cg);
      assertEquals(List.of(), cg.children(), "cgroups left under the pod's");
      for (String ctl : PodCgroup.CONTROLLERS) {
        assertTrue(Files.isDirectory(cg.dir(ctl)), "kubelet's pod cgroup is kubelet's to remove");
      }
    }
    c.assertNoLeaks();
  }

  /** The same parent, which nobody made: krill makes it, and removes what it made. */
  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void podCgroupNobodyMade_krillMakesAndRemovesIt(ContainerdVersion v) {
    assumeTrue(PodCgroup.v1Hierarchies(), "needs cgroup v1 cpu, cpuacct, memory, pids");
    CriContainerd c = cris.get(v);
    PodSandboxConfig cfg = podConfig(c, "stats-nokubelet");
    try (PodCgroup cg = PodCgroup.of(cfg.getMetadata().getUid())) {
      spinAndRead(c, cfg, cg);
      assertEquals(List.of(), cg.existing(), "cgroups krill made are left behind");
    }
    c.assertNoLeaks();
  }

  private static void spinAndRead(CriContainerd c, PodSandboxConfig cfg, PodCgroup cg) {
    Pod pod =
        runPod(
            c,
            cfg.toBuilder()
                .setLinux(LinuxPodSandboxConfig.newBuilder().setCgroupParent(cg.path()))
                .build(),
            CriConfig.HANDLER);
    // The sandbox's process is in the sandbox's cgroup, in every hierarchy.
    long sandboxPid = taskPid(c, pod.id());
    for (String ctl : PodCgroup.CONTROLLERS) {
      Path procs = cg.child(ctl, pod.id()).resolve("cgroup.procs");
      assertTrue(
          read(procs).lines().anyMatch(l -> l.equals(String.valueOf(sandboxPid))),
          "the sandbox's process " + sandboxPid + " in " + procs + ": " + read(procs));
    }
    PodSandboxStats idle = podStats(c, pod);
    assertTrue(idle.getLinux().hasCpu(), "pod stats with no container: " + idle);

    String ref = pull(c, c.push(CriContainerd.Image.PROGS));
    String id = createAndStart(c, pod, containerConfig("spin", ref, "/spin.wasm"));
    awaitRunning(c, id);
    awaitThreadIn(cg.child("cpu", id));

    PodSandboxStats first = podStats(c, pod);
    Host.sleep(1500);
    PodSandboxStats second = podStats(c, pod);
    long cpu0 = first.getLinux().getCpu().getUsageCoreNanoSeconds().getValue();
    long cpu1 = second.getLinux().getCpu().getUsageCoreNanoSeconds().getValue();
    System.out.printf(
        "%s: pod cpu %d -> %d ns over 1.5 s; working set %d bytes%n",
        c.version(), cpu0, cpu1, second.getLinux().getMemory().getWorkingSetBytes().getValue());
    assertTrue(
        cpu1 - cpu0 > 100_000_000L,
        "a spinning guest used " + (cpu1 - cpu0) + " ns of CPU in 1.5 s: " + second);
    assertTrue(
        cpu1 <= cg.cpuacctUsage(), "the pod's CPU is what its cgroup was charged: " + second);
    assertTrue(
        second.getLinux().hasMemory() && second.getLinux().getMemory().hasWorkingSetBytes(),
        "memory: " + second);
    assertEquals(pod.id(), second.getAttributes().getId());
    assertTrue(
        second.getLinux().getContainersList().stream()
            .anyMatch(s -> s.getAttributes().getId().equals(id) && s.hasCpu()),
        "the pod's containers: " + second);

    List<PodSandboxStats> listed =
        call(
            c,
            "ListPodSandboxStats",
            () ->
                c.cri()
                    .runtime()
                    .listPodSandboxStats(
                        ListPodSandboxStatsRequest.newBuilder()
                            .setFilter(PodSandboxStatsFilter.newBuilder().setId(pod.id()))
                            .build())
                    .getStatsList());
    assertEquals(1, listed.size(), "listed: " + listed);
    assertTrue(listed.get(0).getLinux().getCpu().getUsageCoreNanoSeconds().getValue() >= cpu1);

    teardown(c, pod, id);
  }

  /**
   * Without a cgroup parent (kubelet always sets one) containerd has no pod cgroup to read and
   * refuses PodSandboxStats before it asks any runtime; container stats still come from krill, and
   * the cgroups krill made under its own parent go with the pod.
   */
  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void noCgroupParent_containerStatsWorkAndNothingIsLeft(ContainerdVersion v) {
    CriContainerd c = cris.get(v);
    Pod pod = runPod(c, "stats-noparent");
    String ref = pull(c, c.push(CriContainerd.Image.PROGS));
    String id = createAndStart(c, pod, containerConfig("spin", ref, "/spin.wasm"));
    awaitRunning(c, id);

    StatusRuntimeException e =
        assertThrows(
            StatusRuntimeException.class,
            () ->
                c.cri()
                    .runtime()
                    .podSandboxStats(
                        PodSandboxStatsRequest.newBuilder().setPodSandboxId(pod.id()).build()));
    assertTrue(
        String.valueOf(e.getStatus().getDescription()).contains("cgroupPath is empty"),
        "containerd's refusal: " + e.getStatus());
    // One such pod fails the whole list: containerd adds up every pod's error.
    StatusRuntimeException listed =
        assertThrows(
            StatusRuntimeException.class,
            () ->
                c.cri()
                    .runtime()
                    .listPodSandboxStats(ListPodSandboxStatsRequest.getDefaultInstance()));
    assertTrue(
        String.valueOf(listed.getStatus().getDescription()).contains("cgroupPath is empty"),
        "containerd's list: " + listed.getStatus());

    Host.sleep(500);
    ContainerStats s =
        call(
            c,
            "ContainerStats",
            () ->
                c.cri()
                    .runtime()
                    .containerStats(ContainerStatsRequest.newBuilder().setContainerId(id).build())
                    .getStats());
    assertTrue(s.getCpu().getUsageCoreNanoSeconds().getValue() > 0, "container stats: " + s);

    List<Path> ours =
        PodCgroup.v1Hierarchies()
            ? PodCgroup.CONTROLLERS.stream()
                .flatMap(
                    ctl ->
                        Stream.of(pod.id(), id)
                            .map(x -> PodCgroup.hierarchy(ctl).resolve("k8s.io").resolve(x)))
                .toList()
            : List.of();
    assertTrue(ours.stream().anyMatch(Files::isDirectory), "krill's own cgroups: " + ours);
    teardown(c, pod, id);
    assertEquals(List.of(), ours.stream().filter(Files::exists).toList(), "cgroups left");
    c.assertNoLeaks();
  }

  private static PodSandboxStats podStats(CriContainerd c, Pod pod) {
    return call(
        c,
        "PodSandboxStats",
        () ->
            c.cri()
                .runtime()
                .podSandboxStats(
                    PodSandboxStatsRequest.newBuilder().setPodSandboxId(pod.id()).build())
                .getStats());
  }

  /** A task's pid, as {@code ctr tasks ls} shows it. */
  private static long taskPid(CriContainerd c, String id) {
    for (String line :
        c.containerd().ok("-n", CriContainerd.NAMESPACE, "tasks", "ls").stdoutLines()) {
      String[] f = line.trim().split("\\s+");
      if (f.length >= 2 && f[0].equals(id)) {
        return Long.parseLong(f[1]);
      }
    }
    throw new AssertionError("no task " + id);
  }

  /** A guest joins its cgroup as its thread starts, just after the task reports running. */
  private static void awaitThreadIn(Path dir) {
    for (int i = 0; i < 100; i++) {
      if (!read(dir.resolve("tasks")).isBlank()) {
        return;
      }
      Host.sleep(100);
    }
    throw new AssertionError("no guest thread ever joined " + dir);
  }

  private static String read(Path p) {
    try {
      return Files.readString(p).trim();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
