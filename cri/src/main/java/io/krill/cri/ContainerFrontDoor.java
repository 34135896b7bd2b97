package io.krill.cri;

import com.google.protobuf.ByteString;
import io.grpc.stub.StreamObserver;
import io.krill.cri.api.v1.Container;
import io.krill.cri.api.v1.ContainerAttributes;
import io.krill.cri.api.v1.ContainerConfig;
import io.krill.cri.api.v1.ContainerFilter;
import io.krill.cri.api.v1.ContainerMetadata;
import io.krill.cri.api.v1.ContainerState;
import io.krill.cri.api.v1.ContainerStats;
import io.krill.cri.api.v1.ContainerStatsRequest;
import io.krill.cri.api.v1.ContainerStatsResponse;
import io.krill.cri.api.v1.ContainerStatus;
import io.krill.cri.api.v1.ContainerStatusRequest;
import io.krill.cri.api.v1.ContainerStatusResponse;
import io.krill.cri.api.v1.CpuUsage;
import io.grpc.stub.ServerCallStreamObserver;
import io.krill.cri.api.v1.ContainerEventResponse;
import io.krill.cri.api.v1.ContainerEventType;
import io.krill.cri.api.v1.GetEventsRequest;
import io.krill.cri.api.v1.CreateContainerRequest;
import io.krill.cri.api.v1.CreateContainerResponse;
import io.krill.cri.api.v1.AttachRequest;
import io.krill.cri.api.v1.AttachResponse;
import io.krill.cri.api.v1.ExecRequest;
import io.krill.cri.api.v1.ExecResponse;
import io.krill.cri.api.v1.ExecSyncRequest;
import io.krill.cri.api.v1.PortForwardRequest;
import io.krill.cri.api.v1.PortForwardResponse;
import io.krill.cri.streaming.StreamRequest;
import io.krill.cri.streaming.StreamingServer;
import io.krill.cri.api.v1.ExecSyncResponse;
import io.krill.cri.api.v1.ImageSpec;
import io.krill.cri.api.v1.ListContainerStatsRequest;
import io.krill.cri.api.v1.ListContainerStatsResponse;
import io.krill.cri.api.v1.ListContainersRequest;
import io.krill.cri.api.v1.ListContainersResponse;
import io.krill.cri.api.v1.LinuxPodSandboxStats;
import io.krill.cri.api.v1.ListPodSandboxStatsRequest;
import io.krill.cri.api.v1.ListPodSandboxStatsResponse;
import io.krill.cri.api.v1.MemoryUsage;
import io.krill.cri.api.v1.PodSandboxAttributes;
import io.krill.cri.api.v1.PodSandboxMetadata;
import io.krill.cri.api.v1.PodSandboxStats;
import io.krill.cri.api.v1.PodSandboxStatsFilter;
import io.krill.cri.api.v1.PodSandboxStatsRequest;
import io.krill.cri.api.v1.PodSandboxStatsResponse;
import io.krill.cri.api.v1.ProcessUsage;
import io.krill.cri.api.v1.Mount;
import io.krill.cri.api.v1.RemoveContainerRequest;
import io.krill.cri.api.v1.ReopenContainerLogRequest;
import io.krill.cri.api.v1.ReopenContainerLogResponse;
import io.krill.cri.api.v1.UpdateContainerResourcesRequest;
import io.krill.cri.api.v1.UpdateContainerResourcesResponse;
import io.krill.cri.api.v1.RemoveContainerResponse;
import io.krill.cri.api.v1.StartContainerRequest;
import io.krill.cri.api.v1.StartContainerResponse;
import io.krill.cri.api.v1.StopContainerRequest;
import io.krill.cri.api.v1.StopContainerResponse;
import io.krill.cri.api.v1.UInt64Value;
import io.krill.runtime.ErrorCode;
import io.krill.runtime.KrillException;
import io.krill.runtime.TaskState;
import io.krill.runtime.TaskStats;
import java.nio.file.Path;
import java.util.List;

/** runtime.v1.RuntimeService, container calls: protobuf in, {@link CriRuntime} calls, protobuf out. */
final class ContainerFrontDoor extends RuntimeFrontDoor {
  private final StreamingServer streaming;

  ContainerFrontDoor(PodStore pods, CriRuntime runtime, CniNetwork network, PodNetworks podNetworks,
      PodFiles podFiles, StreamingServer streaming) {
    super(pods, runtime, network, podNetworks, podFiles);
    this.streaming = streaming;
  }

  @Override
  public void createContainer(CreateContainerRequest req, StreamObserver<CreateContainerResponse> out) {
    GrpcErrors.unary("CreateContainer", out, () -> {
      Pod pod = pods.get(req.getPodSandboxId());
      if (!pod.ready()) {
        throw new KrillException(ErrorCode.FAILED_PRECONDITION, pod.describe() + " is not ready, so container "
            + req.getConfig().getMetadata().getName() + " cannot be created in it; run a new pod sandbox");
      }
      ContainerConfig c = req.getConfig();
      String logDir = !req.getSandboxConfig().getLogDirectory().isEmpty()
          ? req.getSandboxConfig().getLogDirectory() : pod.logDirectory();
      String logPath = logDir.isEmpty() || c.getLogPath().isEmpty() ? "" : Path.of(logDir, c.getLogPath()).toString();
      ContainerRequest r = new ContainerRequest(pod.id(), c.getMetadata().getName(), c.getMetadata().getAttempt(),
          c.getImage().getImage(), c.getCommandList(), c.getArgsList(), c.getWorkingDir(),
          c.getEnvsList().stream().map(kv -> kv.getKey() + "=" + kv.getValue()).toList(),
          c.getMountsList().stream().map(m -> new CriContainer.MountSpec(m.getContainerPath(), m.getHostPath(),
              m.getReadonly())).toList(),
          c.getLabelsMap(), c.getAnnotationsMap(), logPath, c.getLinux().getResources().getMemoryLimitInBytes(),
          pod.hostname(), podFiles.dir(pod.id()), c.getStdin(), c.getStdinOnce());
      if (c.getTty()) {
        throw new KrillException(ErrorCode.INVALID_ARGUMENT, "container " + c.getMetadata().getName() + " in pod "
            + pod.id() + ": a tty is not supported by krill (wasm guests have no terminal); remove tty: true");
      }
      return CreateContainerResponse.newBuilder().setContainerId(runtime.create(r)).build();
    });
  }

  @Override
  public void startContainer(StartContainerRequest req, StreamObserver<StartContainerResponse> out) {
    GrpcErrors.unary("StartContainer", out, () -> {
      runtime.start(req.getContainerId());
      return StartContainerResponse.getDefaultInstance();
    });
  }

  @Override
  public void stopContainer(StopContainerRequest req, StreamObserver<StopContainerResponse> out) {
    GrpcErrors.unary("StopContainer", out, () -> {
      runtime.stop(req.getContainerId(), req.getTimeout());
      return StopContainerResponse.getDefaultInstance();
    });
  }

  @Override
  public void removeContainer(RemoveContainerRequest req, StreamObserver<RemoveContainerResponse> out) {
    GrpcErrors.unary("RemoveContainer", out, () -> {
      runtime.remove(req.getContainerId());
      return RemoveContainerResponse.getDefaultInstance();
    });
  }

  @Override
  public void reopenContainerLog(ReopenContainerLogRequest req, StreamObserver<ReopenContainerLogResponse> out) {
    GrpcErrors.unary("ReopenContainerLog", out, () -> {
      runtime.reopenLog(req.getContainerId());
      return ReopenContainerLogResponse.getDefaultInstance();
    });
  }

  @Override
  public void updateContainerResources(UpdateContainerResourcesRequest req,
      StreamObserver<UpdateContainerResourcesResponse> out) {
    GrpcErrors.unary("UpdateContainerResources", out, () -> {
      runtime.updateMemoryLimit(req.getContainerId(), req.getLinux().getMemoryLimitInBytes());
      return UpdateContainerResourcesResponse.getDefaultInstance();
    });
  }

  @Override
  public void listContainers(ListContainersRequest req, StreamObserver<ListContainersResponse> out) {
    GrpcErrors.unary("ListContainers", out, () -> {
      ContainerFilter f = req.getFilter();
      ListContainersResponse.Builder b = ListContainersResponse.newBuilder();
      for (CriContainer c : runtime.list()) {
        ContainerState state = state(c);
        if ((!f.getId().isEmpty() && !c.id().startsWith(f.getId()))
            || (!f.getPodSandboxId().isEmpty() && !c.podId().startsWith(f.getPodSandboxId()))
            || (f.hasState() && f.getState().getState() != state)
            || !Pod.matches(c.labels(), f.getLabelSelectorMap())) {
          continue;
        }
        b.addContainers(Container.newBuilder().setId(c.id()).setPodSandboxId(c.podId()).setMetadata(metadata(c))
            .setImage(ImageSpec.newBuilder().setImage(c.image())).setImageRef(c.imageId()).setImageId(c.imageId())
            .setState(state).setCreatedAt(c.createdAtNanos()).putAllLabels(c.labels())
            .putAllAnnotations(c.annotations()));
      }
      return b.build();
    });
  }

  @Override
  public void containerStatus(ContainerStatusRequest req, StreamObserver<ContainerStatusResponse> out) {
    GrpcErrors.unary("ContainerStatus", out, () -> {
      ContainerStatus s = statusOf(runtime.get(req.getContainerId()));
      return ContainerStatusResponse.newBuilder().setStatus(s).build();
    });
  }

  private ContainerStatus statusOf(CriContainer read) {
    ContainerState state = state(read);
    // Read before the state: a guest that exited in between has its exit filled in now.
    CriContainer c = state == ContainerState.CONTAINER_EXITED && read.finishedAtNanos() == 0 ? runtime.current(read)
        : read;
    ContainerStatus.Builder s = ContainerStatus.newBuilder().setId(c.id()).setMetadata(metadata(c)).setState(state)
        .setCreatedAt(c.createdAtNanos()).setStartedAt(c.startedAtNanos())
        .setImage(ImageSpec.newBuilder().setImage(c.image())).setImageRef(c.imageId()).setImageId(c.imageId())
        .putAllLabels(c.labels()).putAllAnnotations(c.annotations()).setLogPath(c.logPath());
    c.mounts().forEach(m -> s.addMounts(Mount.newBuilder().setContainerPath(m.containerPath())
        .setHostPath(m.hostPath()).setReadonly(m.readOnly())));
    if (state == ContainerState.CONTAINER_EXITED) {
      s.setFinishedAt(c.finishedAtNanos()).setExitCode(c.exitCode()).setReason(c.reason()).setMessage(c.message());
    }
    return s.build();
  }

  /**
   * Lifecycle events for kubelet's evented PLEG, each with the pod's status and its containers' statuses as
   * they are when the event is sent. Runs until the client cancels; never holds a thread.
   */
  @Override
  public void getContainerEvents(GetEventsRequest req, StreamObserver<ContainerEventResponse> out) {
    ServerCallStreamObserver<ContainerEventResponse> call = (ServerCallStreamObserver<ContainerEventResponse>) out;
    Object lock = new Object();
    Runnable unsubscribe = runtime.subscribe(e -> {
      ContainerEventResponse.Builder b = ContainerEventResponse.newBuilder().setContainerId(e.containerId())
          .setContainerEventType(switch (e.kind()) {
            case CREATED -> ContainerEventType.CONTAINER_CREATED_EVENT;
            case STARTED -> ContainerEventType.CONTAINER_STARTED_EVENT;
            case STOPPED -> ContainerEventType.CONTAINER_STOPPED_EVENT;
            case DELETED -> ContainerEventType.CONTAINER_DELETED_EVENT;
          }).setCreatedAt(e.atNanos());
      pods.find(e.podId()).ifPresent(p -> b.setPodSandboxStatus(podStatus(p)));
      runtime.list().stream().filter(c -> c.podId().equals(e.podId())).forEach(c -> b.addContainersStatuses(
          statusOf(c)));
      synchronized (lock) {
        if (!call.isCancelled()) {
          call.onNext(b.build());
        }
      }
    });
    call.setOnCancelHandler(unsubscribe);
  }

  @Override
  public void execSync(ExecSyncRequest req, StreamObserver<ExecSyncResponse> out) {
    GrpcErrors.unary("ExecSync", out, () -> {
      CriContainer c = runtime.get(req.getContainerId());
      if (req.getCmdCount() == 0) {
        throw new KrillException(ErrorCode.INVALID_ARGUMENT, "ExecSync needs a command");
      }
      ExecRunner.Result r = ExecRunner.run(runtime.tasks(), c.id(), runtime.bundle(c), req.getCmdList(),
          req.getTimeout());
      return ExecSyncResponse.newBuilder().setStdout(ByteString.copyFrom(r.stdout()))
          .setStderr(ByteString.copyFrom(r.stderr())).setExitCode(r.exitCode()).build();
    });
  }

  /** A URL on the streaming server where the client's connection runs the exec (see {@link StreamSessions}). */
  @Override
  public void exec(ExecRequest req, StreamObserver<ExecResponse> out) {
    GrpcErrors.unary("Exec", out, () -> {
      CriContainer c = running(req.getContainerId(), "exec in");
      if (req.getCmdCount() == 0) {
        throw new KrillException(ErrorCode.INVALID_ARGUMENT, "container " + c.id() + ": Exec needs a command");
      }
      List<String> cmd = List.copyOf(req.getCmdList());
      String url = streaming.register(new StreamRequest(StreamRequest.Kind.EXEC, c.id(), req.getStdin(),
          req.getStdout(), req.getStderr(), req.getTty(),
          s -> StreamSessions.exec(runtime.tasks(), c.id(), runtime.bundle(c), cmd, s)));
      return ExecResponse.newBuilder().setUrl(url).build();
    });
  }

  @Override
  public void attach(AttachRequest req, StreamObserver<AttachResponse> out) {
    GrpcErrors.unary("Attach", out, () -> {
      CriContainer c = running(req.getContainerId(), "attach to");
      if (req.getTty()) {
        throw new KrillException(ErrorCode.INVALID_ARGUMENT, "container " + c.id() + " has no tty (wasm guests run"
            + " without a terminal); attach without -t");
      }
      ContainerIo io = runtime.io(c);
      if (io == null) {
        throw new KrillException(ErrorCode.FAILED_PRECONDITION, "container " + c.id() + " was started by an"
            + " earlier krill cri process; its output is only in its log");
      }
      if (req.getStdin() && !io.hasStdin()) {
        throw new KrillException(ErrorCode.INVALID_ARGUMENT, "container " + c.id() + " was created without stdin;"
            + " attach without -i, or create it with stdin: true");
      }
      String url = streaming.register(new StreamRequest(StreamRequest.Kind.ATTACH, c.id(), req.getStdin(),
          req.getStdout(), req.getStderr(), false, s -> StreamSessions.attach(runtime.tasks(), c, io, s)));
      return AttachResponse.newBuilder().setUrl(url).build();
    });
  }

  @Override
  public void portForward(PortForwardRequest req, StreamObserver<PortForwardResponse> out) {
    GrpcErrors.unary("PortForward", out, () -> {
      Pod pod = pods.get(req.getPodSandboxId());
      throw new KrillException(ErrorCode.UNIMPLEMENTED, "pod " + pod.id() + ": port-forward is not supported by"
          + " krill: wasm guests (WASI preview 1) open no sockets, so there is no port to forward to");
    });
  }

  private CriContainer running(String id, String what) {
    CriContainer c = runtime.get(id);
    if (state(c) != ContainerState.CONTAINER_RUNNING) {
      throw new KrillException(ErrorCode.FAILED_PRECONDITION, "container " + c.id() + " is not running; cannot "
          + what + " it (read its log with crictl logs instead)");
    }
    return c;
  }

  @Override
  public void containerStats(ContainerStatsRequest req, StreamObserver<ContainerStatsResponse> out) {
    GrpcErrors.unary("ContainerStats", out, () -> ContainerStatsResponse.newBuilder()
        .setStats(stats(runtime.get(req.getContainerId()))).build());
  }

  @Override
  public void listContainerStats(ListContainerStatsRequest req, StreamObserver<ListContainerStatsResponse> out) {
    GrpcErrors.unary("ListContainerStats", out, () -> {
      var f = req.getFilter();
      ListContainerStatsResponse.Builder b = ListContainerStatsResponse.newBuilder();
      for (CriContainer c : runtime.list()) {
        if ((f.getId().isEmpty() || c.id().startsWith(f.getId()))
            && (f.getPodSandboxId().isEmpty() || c.podId().startsWith(f.getPodSandboxId()))
            && Pod.matches(c.labels(), f.getLabelSelectorMap()) && state(c) == ContainerState.CONTAINER_RUNNING) {
          b.addStats(stats(c));
        }
      }
      return b.build();
    });
  }

  @Override
  public void podSandboxStats(PodSandboxStatsRequest req, StreamObserver<PodSandboxStatsResponse> out) {
    GrpcErrors.unary("PodSandboxStats", out, () -> PodSandboxStatsResponse.newBuilder()
        .setStats(podStats(pods.get(req.getPodSandboxId()))).build());
  }

  @Override
  public void listPodSandboxStats(ListPodSandboxStatsRequest req, StreamObserver<ListPodSandboxStatsResponse> out) {
    GrpcErrors.unary("ListPodSandboxStats", out, () -> {
      PodSandboxStatsFilter f = req.getFilter();
      ListPodSandboxStatsResponse.Builder b = ListPodSandboxStatsResponse.newBuilder();
      for (Pod p : pods.list()) {
        if ((f.getId().isEmpty() || p.id().startsWith(f.getId())) && Pod.matches(p.labels(), f.getLabelSelectorMap())
            && p.ready()) {
          b.addStats(podStats(p));
        }
      }
      return b.build();
    });
  }

  /** A pod's usage is the sum of its running containers': a wasm pod has no processes of its own. */
  private PodSandboxStats podStats(Pod p) {
    long now = CriRuntime.now();
    long cpu = 0;
    long memory = 0;
    int running = 0;
    LinuxPodSandboxStats.Builder linux = LinuxPodSandboxStats.newBuilder();
    for (CriContainer c : runtime.list()) {
      if (c.podId().equals(p.id()) && state(c) == ContainerState.CONTAINER_RUNNING) {
        ContainerStats s = stats(c);
        linux.addContainers(s);
        cpu += s.getCpu().getUsageCoreNanoSeconds().getValue();
        memory += s.getMemory().getWorkingSetBytes().getValue();
        running++;
      }
    }
    linux.setCpu(CpuUsage.newBuilder().setTimestamp(now).setUsageCoreNanoSeconds(UInt64Value.newBuilder()
            .setValue(cpu)))
        .setMemory(MemoryUsage.newBuilder().setTimestamp(now)
            .setWorkingSetBytes(UInt64Value.newBuilder().setValue(memory))
            .setUsageBytes(UInt64Value.newBuilder().setValue(memory)))
        .setProcess(ProcessUsage.newBuilder().setTimestamp(now)
            .setProcessCount(UInt64Value.newBuilder().setValue(running)));
    return PodSandboxStats.newBuilder().setAttributes(PodSandboxAttributes.newBuilder().setId(p.id())
            .setMetadata(PodSandboxMetadata.newBuilder().setName(p.name()).setUid(p.uid())
                .setNamespace(p.namespace()).setAttempt(p.attempt()))
            .putAllLabels(p.labels()).putAllAnnotations(p.annotations()))
        .setLinux(linux).build();
  }

  /** CPU time and linear-memory bytes from the core; a container that is not running has none. */
  private ContainerStats stats(CriContainer c) {
    ContainerStats.Builder b = ContainerStats.newBuilder().setAttributes(ContainerAttributes.newBuilder()
        .setId(c.id()).setMetadata(metadata(c)).putAllLabels(c.labels()).putAllAnnotations(c.annotations()));
    if (state(c) == ContainerState.CONTAINER_RUNNING) {
      TaskStats t = runtime.tasks().stats(c.id());
      long now = CriRuntime.now();
      b.setCpu(CpuUsage.newBuilder().setTimestamp(now)
          .setUsageCoreNanoSeconds(UInt64Value.newBuilder().setValue(t.cpuNanos())));
      MemoryUsage.Builder m = MemoryUsage.newBuilder().setTimestamp(now)
          .setWorkingSetBytes(UInt64Value.newBuilder().setValue(t.memoryBytes()))
          .setUsageBytes(UInt64Value.newBuilder().setValue(t.memoryBytes()));
      if (t.memoryLimitBytes() > 0) {
        m.setAvailableBytes(UInt64Value.newBuilder().setValue(Math.max(0, t.memoryLimitBytes() - t.memoryBytes())));
      }
      b.setMemory(m);
    }
    return b.build();
  }

  private ContainerState state(CriContainer c) {
    TaskState s = runtime.state(c);
    return switch (s) {
      case CREATED -> ContainerState.CONTAINER_CREATED;
      case RUNNING -> ContainerState.CONTAINER_RUNNING;
      case STOPPED, DELETED -> ContainerState.CONTAINER_EXITED;
    };
  }

  private static ContainerMetadata metadata(CriContainer c) {
    return ContainerMetadata.newBuilder().setName(c.name()).setAttempt(c.attempt()).build();
  }
}
