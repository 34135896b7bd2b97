package io.krill.cri.grpc;

import io.grpc.stub.StreamObserver;
import io.krill.cri.api.v1.ContainerAttributes;
import io.krill.cri.api.v1.ContainerStats;
import io.krill.cri.api.v1.ContainerStatsRequest;
import io.krill.cri.api.v1.ContainerStatsResponse;
import io.krill.cri.api.v1.CpuUsage;
import io.krill.cri.api.v1.LinuxPodSandboxStats;
import io.krill.cri.api.v1.ListContainerStatsRequest;
import io.krill.cri.api.v1.ListContainerStatsResponse;
import io.krill.cri.api.v1.ListPodSandboxStatsRequest;
import io.krill.cri.api.v1.ListPodSandboxStatsResponse;
import io.krill.cri.api.v1.MemoryUsage;
import io.krill.cri.api.v1.PodSandboxAttributes;
import io.krill.cri.api.v1.PodSandboxStats;
import io.krill.cri.api.v1.PodSandboxStatsFilter;
import io.krill.cri.api.v1.PodSandboxStatsRequest;
import io.krill.cri.api.v1.PodSandboxStatsResponse;
import io.krill.cri.api.v1.ProcessUsage;
import io.krill.cri.api.v1.UInt64Value;
import io.krill.cri.container.ContainerView;
import io.krill.cri.container.Containers;
import io.krill.cri.container.CriContainer;
import io.krill.cri.core.CriRuntime;
import io.krill.cri.pod.Pod;
import io.krill.runtime.TaskStats;
import java.util.Optional;

/**
 * Container and pod statistics of runtime.v1.RuntimeService: {@link CriRuntime} usage in, protobuf
 * out.
 */
final class StatsHandler {
  private final CriRuntime runtime;

  StatsHandler(CriRuntime runtime) {
    this.runtime = runtime;
  }

  void container(ContainerStatsRequest req, StreamObserver<ContainerStatsResponse> out) {
    GrpcErrors.unary(
        "ContainerStats",
        out,
        () ->
            ContainerStatsResponse.newBuilder()
                .setStats(stats(runtime.container(req.getContainerId())))
                .build());
  }

  void listContainers(
      ListContainerStatsRequest req, StreamObserver<ListContainerStatsResponse> out) {
    GrpcErrors.unary(
        "ListContainerStats",
        out,
        () -> {
          var f = req.getFilter();
          ListContainerStatsResponse.Builder b = ListContainerStatsResponse.newBuilder();
          for (ContainerView v : runtime.containers()) {
            CriContainer c = v.container();
            if ((f.getId().isEmpty() || c.id().startsWith(f.getId()))
                && (f.getPodSandboxId().isEmpty() || c.podId().startsWith(f.getPodSandboxId()))
                && Pod.matches(c.labels(), f.getLabelSelectorMap())
                && v.state() == ContainerView.State.RUNNING) {
              b.addStats(stats(v));
            }
          }
          return b.build();
        });
  }

  void pod(PodSandboxStatsRequest req, StreamObserver<PodSandboxStatsResponse> out) {
    GrpcErrors.unary(
        "PodSandboxStats",
        out,
        () ->
            PodSandboxStatsResponse.newBuilder()
                .setStats(podStats(runtime.pod(req.getPodSandboxId())))
                .build());
  }

  void listPods(ListPodSandboxStatsRequest req, StreamObserver<ListPodSandboxStatsResponse> out) {
    GrpcErrors.unary(
        "ListPodSandboxStats",
        out,
        () -> {
          PodSandboxStatsFilter f = req.getFilter();
          ListPodSandboxStatsResponse.Builder b = ListPodSandboxStatsResponse.newBuilder();
          for (Pod p : runtime.pods()) {
            if ((f.getId().isEmpty() || p.id().startsWith(f.getId()))
                && Pod.matches(p.labels(), f.getLabelSelectorMap())
                && p.ready()) {
              b.addStats(podStats(p));
            }
          }
          return b.build();
        });
  }

  /**
   * A pod's CPU time is what its cgroup was charged, as containerd reads it from the pod's cgroup
   * (the sum of its running containers' where it has none); its memory is the sum of its running
   * containers' linear memory, as a wasm pod has no process of its own and the guests' pages are
   * charged to the daemon's memory cgroup, not the pod's.
   */
  private PodSandboxStats podStats(Pod p) {
    long now = Containers.now();
    long cpu = 0;
    long memory = 0;
    int running = 0;
    LinuxPodSandboxStats.Builder linux = LinuxPodSandboxStats.newBuilder();
    for (ContainerView v : runtime.containersOf(p.id())) {
      if (v.state() == ContainerView.State.RUNNING) {
        ContainerStats s = stats(v);
        linux.addContainers(s);
        cpu += s.getCpu().getUsageCoreNanoSeconds().getValue();
        memory += s.getMemory().getWorkingSetBytes().getValue();
        running++;
      }
    }
    cpu = runtime.podCpuNanos(p).orElse(cpu);
    linux
        .setCpu(
            CpuUsage.newBuilder()
                .setTimestamp(now)
                .setUsageCoreNanoSeconds(UInt64Value.newBuilder().setValue(cpu)))
        .setMemory(
            MemoryUsage.newBuilder()
                .setTimestamp(now)
                .setWorkingSetBytes(UInt64Value.newBuilder().setValue(memory))
                .setUsageBytes(UInt64Value.newBuilder().setValue(memory)))
        .setProcess(
            ProcessUsage.newBuilder()
                .setTimestamp(now)
                .setProcessCount(UInt64Value.newBuilder().setValue(running)));
    return PodSandboxStats.newBuilder()
        .setAttributes(
            PodSandboxAttributes.newBuilder()
                .setId(p.id())
                .setMetadata(PodHandler.metadata(p))
                .putAllLabels(p.labels())
                .putAllAnnotations(p.annotations()))
        .setLinux(linux)
        .build();
  }

  /** CPU time and linear-memory bytes from the core; a container that is not running has none. */
  private ContainerStats stats(ContainerView v) {
    CriContainer c = v.container();
    ContainerStats.Builder b =
        ContainerStats.newBuilder()
            .setAttributes(
                ContainerAttributes.newBuilder()
                    .setId(c.id())
                    .setMetadata(ContainerHandler.metadata(c))
                    .putAllLabels(c.labels())
                    .putAllAnnotations(c.annotations()));
    Optional<TaskStats> usage = runtime.stats(v);
    if (usage.isPresent()) {
      TaskStats t = usage.get();
      long now = Containers.now();
      b.setCpu(
          CpuUsage.newBuilder()
              .setTimestamp(now)
              .setUsageCoreNanoSeconds(UInt64Value.newBuilder().setValue(t.cpuNanos())));
      MemoryUsage.Builder m =
          MemoryUsage.newBuilder()
              .setTimestamp(now)
              .setWorkingSetBytes(UInt64Value.newBuilder().setValue(t.memoryBytes()))
              .setUsageBytes(UInt64Value.newBuilder().setValue(t.memoryBytes()));
      if (t.memoryLimitBytes() > 0) {
        m.setAvailableBytes(
            UInt64Value.newBuilder().setValue(Math.max(0, t.memoryLimitBytes() - t.memoryBytes())));
      }
      b.setMemory(m);
    }
    return b.build();
  }
}
