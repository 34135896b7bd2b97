package io.krill.it.cri;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.krill.cri.api.v1.ContainerConfig;
import io.krill.cri.api.v1.ContainerMetadata;
import io.krill.cri.api.v1.ContainerStats;
import io.krill.cri.api.v1.ContainerStatsRequest;
import io.krill.cri.api.v1.CreateContainerRequest;
import io.krill.cri.api.v1.ImageSpec;
import io.krill.cri.api.v1.LinuxPodSandboxConfig;
import io.krill.cri.api.v1.ListPodSandboxStatsRequest;
import io.krill.cri.api.v1.PodSandboxConfig;
import io.krill.cri.api.v1.PodSandboxStats;
import io.krill.cri.api.v1.PodSandboxStatsFilter;
import io.krill.cri.api.v1.PodSandboxStatsRequest;
import io.krill.cri.api.v1.RemoveContainerRequest;
import io.krill.cri.api.v1.RemovePodSandboxRequest;
import io.krill.cri.api.v1.RunPodSandboxRequest;
import io.krill.cri.api.v1.StartContainerRequest;
import io.krill.cri.api.v1.StopPodSandboxRequest;
import io.krill.it.harness.CriCalls;
import io.krill.it.harness.CriClient;
import io.krill.it.harness.Host;
import io.krill.it.harness.KrillCriFixture;
import io.krill.it.harness.OciImage;
import io.krill.it.harness.Pod;
import io.krill.it.harness.PodCgroup;
import io.krill.it.harness.TestPrograms;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code krill cri}'s pod and container statistics come from the cgroups its guests' threads run
 * in: the pod's cgroup (its {@code linux.cgroup_parent}, else krill's own) with one cgroup per
 * container under it; the cgroups krill made go with the pod, kubelet's stay.
 */
class CriPodStatsE2ETest {
  @TempDir static Path tmp;
  static KrillCriFixture krill;
  static CriClient cri;
  static String ref;

  @BeforeAll
  static void setUp() throws IOException {
    krill = KrillCriFixture.in(tmp).start();
    Path tar =
        OciImage.named("cri/spin:v1")
            .layer(Map.of("/spin.wasm", TestPrograms.bytes("spin.wasm")))
            .entrypoint("/spin.wasm")
            .writeTarball(tmp.resolve("spin.tar"));
    ref = krill.registry().push(tar, "cri/spin:v1");
    cri = krill.cri();
    krill.pull(ref);
  }

  @AfterAll
  static void tearDown() {
    if (krill != null) {
      krill.close();
    }
  }

  @Test
  void podCgroupMadeByKubelet_isChargedWithItsContainersAndLeftToKubelet() {
    assumeTrue(PodCgroup.v1Hierarchies(), "needs cgroup v1 cpu, cpuacct, memory, pids");
    try (PodCgroup cg = PodCgroup.of("kubelet-made").create()) {
      Pod pod = runPod("stats-kubelet", cg.path());
      spinAndRead(pod, cg.dir("cpuacct"));
      assertEquals(List.of(), cg.children(), "cgroups left under the pod's");
      assertTrue(Files.isDirectory(cg.dir("cpu")), "kubelet's pod cgroup is kubelet's to remove");
    }
  }

  @Test
  void podCgroupNobodyMade_krillMakesAndRemovesIt() {
    assumeTrue(PodCgroup.v1Hierarchies(), "needs cgroup v1 cpu, cpuacct, memory, pids");
    try (PodCgroup cg = PodCgroup.of("nobody-made")) {
      Pod pod = runPod("stats-nokubelet", cg.path());
      spinAndRead(pod, cg.dir("cpuacct"));
      assertEquals(List.of(), cg.existing(), "cgroups krill made are left behind");
    }
  }

  @Test
  void noCgroupParent_podGetsKrillsOwnCgroup() {
    assumeTrue(PodCgroup.v1Hierarchies(), "needs cgroup v1 cpu, cpuacct, memory, pids");
    Pod pod = runPod("stats-noparent", "");
    Path acct = PodCgroup.hierarchy("cpuacct").resolve("krill/cri").resolve(pod.id());
    spinAndRead(pod, acct);
    assertFalse(Files.exists(acct), acct + " left behind");
    assertFalse(Files.exists(PodCgroup.hierarchy("cpu").resolve("krill/cri").resolve(pod.id())));
  }

  /**
   * A daemon restart loses its guests (they are its threads) but not their cgroups: those go when
   * kubelet removes the containers and the pod, from under kubelet's pod cgroup and from krill's
   * own.
   */
  @Test
  void afterADaemonRestart_removingThePodLeavesNoCgroup() throws IOException {
    assumeTrue(PodCgroup.v1Hierarchies(), "needs cgroup v1 cpu, cpuacct, memory, pids");
    try (PodCgroup cg = PodCgroup.of("restart").create()) {
      Pod kubelets = runPod("stats-restart", cg.path());
      String a = startSpin(kubelets);
      Pod own = runPod("stats-restart-own", "");
      String b = startSpin(own);
      Path ownDir = PodCgroup.hierarchy("cpuacct").resolve("krill/cri").resolve(own.id());
      awaitThreadIn(cg.dir("cpuacct").resolve(a));
      awaitThreadIn(ownDir.resolve(b));
      krill.restartDaemon();
      cri = krill.cri();
      for (String id : List.of(a, b)) {
        cri.runtime()
            .removeContainer(RemoveContainerRequest.newBuilder().setContainerId(id).build());
      }
      for (Pod p : List.of(kubelets, own)) {
        cri.runtime()
            .stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(p.id()).build());
        cri.runtime()
            .removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(p.id()).build());
      }
      assertEquals(List.of(), cg.children(), "cgroups left under kubelet's pod cgroup");
      assertTrue(Files.isDirectory(cg.dir("cpu")), "kubelet's pod cgroup is kubelet's to remove");
      assertFalse(Files.exists(ownDir), ownDir + " left behind");
      assertFalse(Files.exists(PodCgroup.hierarchy("cpu").resolve("krill/cri").resolve(own.id())));
    }
  }

  private static String startSpin(Pod p) {
    String id =
        cri.runtime()
            .createContainer(
                CreateContainerRequest.newBuilder()
                    .setPodSandboxId(p.id())
                    .setConfig(
                        ContainerConfig.newBuilder()
                            .setMetadata(ContainerMetadata.newBuilder().setName("spin"))
                            .setImage(ImageSpec.newBuilder().setImage(ref)))
                    .setSandboxConfig(p.config())
                    .build())
            .getContainerId();
    cri.runtime().startContainer(StartContainerRequest.newBuilder().setContainerId(id).build());
    return id;
  }

  /** Runs a spinning container in the pod, reads its stats, and removes both. */
  private static void spinAndRead(Pod p, Path podCpuacct) {
    String pod = p.id();
    String id = startSpin(p);
    Path container = podCpuacct.resolve(id);
    awaitThreadIn(container);

    PodSandboxStats first = podStats(pod);
    Host.sleep(1500);
    PodSandboxStats second = podStats(pod);
    long cpu0 = first.getLinux().getCpu().getUsageCoreNanoSeconds().getValue();
    long cpu1 = second.getLinux().getCpu().getUsageCoreNanoSeconds().getValue();
    long charged = Long.parseLong(read(podCpuacct.resolve("cpuacct.usage")));
    System.out.printf("krill cri: pod cpu %d -> %d ns over 1.5 s%n", cpu0, cpu1);
    assertTrue(cpu1 - cpu0 > 100_000_000L, "spinning for 1.5 s used " + (cpu1 - cpu0) + " ns");
    assertTrue(cpu1 <= charged, "the pod's CPU is its cgroup's: " + cpu1 + " > " + charged);
    assertTrue(second.getLinux().getMemory().hasWorkingSetBytes(), second.toString());

    ContainerStats c =
        cri.runtime()
            .containerStats(ContainerStatsRequest.newBuilder().setContainerId(id).build())
            .getStats();
    long containerCpu = c.getCpu().getUsageCoreNanoSeconds().getValue();
    long containerCharged = Long.parseLong(read(container.resolve("cpuacct.usage")));
    assertTrue(
        containerCpu >= cpu1 - cpu0 && containerCpu <= containerCharged,
        "the container's CPU is its cgroup's: " + containerCpu + " vs " + containerCharged);
    List<PodSandboxStats> listed =
        cri.runtime()
            .listPodSandboxStats(
                ListPodSandboxStatsRequest.newBuilder()
                    .setFilter(PodSandboxStatsFilter.newBuilder().setId(pod))
                    .build())
            .getStatsList();
    assertEquals(1, listed.size(), listed.toString());
    assertTrue(listed.get(0).getLinux().getCpu().getUsageCoreNanoSeconds().getValue() >= cpu1);

    cri.runtime().removeContainer(RemoveContainerRequest.newBuilder().setContainerId(id).build());
    assertFalse(Files.exists(container), container + " left after RemoveContainer");
    cri.runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
    cri.runtime()
        .removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
  }

  /** A host-network pod with the given cgroup parent ({@code ""}: none). */
  private static Pod runPod(String name, String cgroupParent) {
    PodSandboxConfig base = CriCalls.hostPod(name, tmp.resolve("logs"));
    PodSandboxConfig config =
        base.toBuilder()
            .setLinux(
                LinuxPodSandboxConfig.newBuilder(base.getLinux()).setCgroupParent(cgroupParent))
            .build();
    String id =
        cri.runtime()
            .runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(config).build())
            .getPodSandboxId();
    return new Pod(id, config);
  }

  private static PodSandboxStats podStats(String pod) {
    return cri.runtime()
        .podSandboxStats(PodSandboxStatsRequest.newBuilder().setPodSandboxId(pod).build())
        .getStats();
  }

  private static void awaitThreadIn(Path dir) {
    for (int i = 0; i < 100; i++) {
      if (Files.exists(dir.resolve("tasks")) && !read(dir.resolve("tasks")).isBlank()) {
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
