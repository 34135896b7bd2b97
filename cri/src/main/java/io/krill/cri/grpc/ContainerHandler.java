package io.krill.cri.grpc;

import com.google.protobuf.ByteString;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.krill.cri.api.v1.AttachRequest;
import io.krill.cri.api.v1.AttachResponse;
import io.krill.cri.api.v1.Container;
import io.krill.cri.api.v1.ContainerConfig;
import io.krill.cri.api.v1.ContainerEventResponse;
import io.krill.cri.api.v1.ContainerEventType;
import io.krill.cri.api.v1.ContainerFilter;
import io.krill.cri.api.v1.ContainerMetadata;
import io.krill.cri.api.v1.ContainerState;
import io.krill.cri.api.v1.ContainerStatus;
import io.krill.cri.api.v1.ContainerStatusRequest;
import io.krill.cri.api.v1.ContainerStatusResponse;
import io.krill.cri.api.v1.CreateContainerRequest;
import io.krill.cri.api.v1.CreateContainerResponse;
import io.krill.cri.api.v1.ExecRequest;
import io.krill.cri.api.v1.ExecResponse;
import io.krill.cri.api.v1.ExecSyncRequest;
import io.krill.cri.api.v1.ExecSyncResponse;
import io.krill.cri.api.v1.GetEventsRequest;
import io.krill.cri.api.v1.HugepageLimit;
import io.krill.cri.api.v1.ImageSpec;
import io.krill.cri.api.v1.LinuxContainerResources;
import io.krill.cri.api.v1.LinuxContainerSecurityContext;
import io.krill.cri.api.v1.ListContainersRequest;
import io.krill.cri.api.v1.ListContainersResponse;
import io.krill.cri.api.v1.Mount;
import io.krill.cri.api.v1.MountPropagation;
import io.krill.cri.api.v1.RemoveContainerRequest;
import io.krill.cri.api.v1.RemoveContainerResponse;
import io.krill.cri.api.v1.ReopenContainerLogRequest;
import io.krill.cri.api.v1.ReopenContainerLogResponse;
import io.krill.cri.api.v1.StartContainerRequest;
import io.krill.cri.api.v1.StartContainerResponse;
import io.krill.cri.api.v1.StopContainerRequest;
import io.krill.cri.api.v1.StopContainerResponse;
import io.krill.cri.api.v1.UpdateContainerResourcesRequest;
import io.krill.cri.api.v1.UpdateContainerResourcesResponse;
import io.krill.cri.container.ContainerResources;
import io.krill.cri.container.ContainerSecurity;
import io.krill.cri.container.ContainerView;
import io.krill.cri.container.CriContainer;
import io.krill.cri.container.ExecSession;
import io.krill.cri.container.NewContainer;
import io.krill.cri.core.CriRuntime;
import io.krill.cri.pod.Pod;
import io.krill.cri.streaming.StreamingServer;
import io.krill.oci.RuntimeSpec;

/**
 * Container calls of runtime.v1.RuntimeService, with exec, attach and the event stream: protobuf
 * in, {@link CriRuntime} calls, protobuf out. Exec and Attach answer with a URL on the streaming
 * server.
 */
final class ContainerHandler {
  private final CriRuntime runtime;
  private final StreamingServer streaming;

  ContainerHandler(CriRuntime runtime, StreamingServer streaming) {
    this.runtime = runtime;
    this.streaming = streaming;
  }

  void create(CreateContainerRequest req, StreamObserver<CreateContainerResponse> out) {
    GrpcErrors.unary(
        "CreateContainer",
        out,
        () -> {
          ContainerConfig c = req.getConfig();
          String id =
              runtime.createContainer(
                  new NewContainer(
                      req.getPodSandboxId(),
                      c.getMetadata().getName(),
                      c.getMetadata().getAttempt(),
                      c.getImage().getImage(),
                      c.getCommandList(),
                      c.getArgsList(),
                      c.getWorkingDir(),
                      c.getEnvsList().stream()
                          .map(kv -> kv.getKey() + "=" + kv.getValue())
                          .toList(),
                      c.getMountsList().stream()
                          .map(
                              m ->
                                  new CriContainer.MountSpec(
                                      m.getContainerPath(),
                                      m.getHostPath(),
                                      m.getReadonly(),
                                      propagation(c.getMetadata().getName(), m)))
                          .toList(),
                      c.getLabelsMap(),
                      c.getAnnotationsMap(),
                      req.getSandboxConfig().getLogDirectory(),
                      c.getLogPath(),
                      c.getLinux().getResources().getMemoryLimitInBytes(),
                      c.getStdin(),
                      c.getStdinOnce(),
                      c.getTty(),
                      security(c.getLinux().getSecurityContext()),
                      resources(c.getLinux().getResources()),
                      ProtoJson.of(c)));
          return CreateContainerResponse.newBuilder().setContainerId(id).build();
        });
  }

  private static CriContainer.Propagation propagation(String container, Mount m) {
    return switch (m.getPropagation()) {
      case PROPAGATION_PRIVATE -> CriContainer.Propagation.PRIVATE;
      case PROPAGATION_HOST_TO_CONTAINER -> CriContainer.Propagation.HOST_TO_CONTAINER;
      case PROPAGATION_BIDIRECTIONAL -> CriContainer.Propagation.BIDIRECTIONAL;
      case UNRECOGNIZED ->
          throw new IllegalArgumentException(
              "container \""
                  + container
                  + "\": mount "
                  + m.getContainerPath()
                  + ": unknown propagation "
                  + m.getPropagationValue()
                  + "; use PROPAGATION_PRIVATE, PROPAGATION_HOST_TO_CONTAINER or"
                  + " PROPAGATION_BIDIRECTIONAL");
    };
  }

  private static RuntimeSpec.Cpu cpu(LinuxContainerResources r) {
    return NewContainer.cpu(r.getCpuPeriod(), r.getCpuQuota(), r.getCpuShares());
  }

  static ContainerResources resources(LinuxContainerResources r) {
    return new ContainerResources(
        r.getCpuPeriod(),
        r.getCpuQuota(),
        r.getCpuShares(),
        r.getMemoryLimitInBytes(),
        r.getOomScoreAdj(),
        r.getCpusetCpus(),
        r.getCpusetMems(),
        r.getHugepageLimitsList().stream()
            .map(h -> new ContainerResources.Hugepage(h.getPageSize(), h.getLimit()))
            .toList(),
        r.getUnifiedMap(),
        r.getMemorySwapLimitInBytes());
  }

  static LinuxContainerResources resources(ContainerResources r) {
    return LinuxContainerResources.newBuilder()
        .setCpuPeriod(r.cpuPeriod())
        .setCpuQuota(r.cpuQuota())
        .setCpuShares(r.cpuShares())
        .setMemoryLimitInBytes(r.memoryLimitInBytes())
        .setOomScoreAdj(r.oomScoreAdj())
        .setCpusetCpus(r.cpusetCpus())
        .setCpusetMems(r.cpusetMems())
        .addAllHugepageLimits(
            r.hugepageLimits().stream()
                .map(
                    h ->
                        HugepageLimit.newBuilder()
                            .setPageSize(h.pageSize())
                            .setLimit(h.limit())
                            .build())
                .toList())
        .putAllUnified(r.unified())
        .setMemorySwapLimitInBytes(r.memorySwapLimitInBytes())
        .build();
  }

  private static ContainerSecurity security(LinuxContainerSecurityContext s) {
    return new ContainerSecurity(
        s.hasRunAsUser() ? s.getRunAsUser().getValue() : null,
        s.getRunAsUsername(),
        s.hasRunAsGroup() ? s.getRunAsGroup().getValue() : null,
        s.getSeccompProfilePath(),
        s.hasSeccomp()
            ? new ContainerSecurity.Seccomp(
                switch (s.getSeccomp().getProfileType()) {
                  case RuntimeDefault -> ContainerSecurity.Seccomp.Type.RUNTIME_DEFAULT;
                  case Unconfined -> ContainerSecurity.Seccomp.Type.UNCONFINED;
                  case Localhost -> ContainerSecurity.Seccomp.Type.LOCALHOST;
                  case UNRECOGNIZED ->
                      throw new IllegalArgumentException(
                          "seccomp unknown ProfileType "
                              + s.getSeccomp().getProfileTypeValue()
                              + "; use RuntimeDefault, Unconfined or Localhost");
                },
                s.getSeccomp().getLocalhostRef())
            : null);
  }

  void start(StartContainerRequest req, StreamObserver<StartContainerResponse> out) {
    GrpcErrors.unary(
        "StartContainer",
        out,
        () -> {
          runtime.startContainer(req.getContainerId());
          return StartContainerResponse.getDefaultInstance();
        });
  }

  void stop(StopContainerRequest req, StreamObserver<StopContainerResponse> out) {
    GrpcErrors.unary(
        "StopContainer",
        out,
        () -> {
          runtime.stopContainer(req.getContainerId(), req.getTimeout());
          return StopContainerResponse.getDefaultInstance();
        });
  }

  void remove(RemoveContainerRequest req, StreamObserver<RemoveContainerResponse> out) {
    GrpcErrors.unary(
        "RemoveContainer",
        out,
        () -> {
          runtime.removeContainer(req.getContainerId());
          return RemoveContainerResponse.getDefaultInstance();
        });
  }

  void reopenLog(ReopenContainerLogRequest req, StreamObserver<ReopenContainerLogResponse> out) {
    GrpcErrors.unary(
        "ReopenContainerLog",
        out,
        () -> {
          runtime.reopenLog(req.getContainerId());
          return ReopenContainerLogResponse.getDefaultInstance();
        });
  }

  void updateResources(
      UpdateContainerResourcesRequest req, StreamObserver<UpdateContainerResourcesResponse> out) {
    GrpcErrors.unary(
        "UpdateContainerResources",
        out,
        () -> {
          runtime.updateCpu(req.getContainerId(), cpu(req.getLinux()));
          runtime.updateResources(req.getContainerId(), resources(req.getLinux()));
          return UpdateContainerResourcesResponse.getDefaultInstance();
        });
  }

  void list(ListContainersRequest req, StreamObserver<ListContainersResponse> out) {
    GrpcErrors.unary(
        "ListContainers",
        out,
        () -> {
          ContainerFilter f = req.getFilter();
          ListContainersResponse.Builder b = ListContainersResponse.newBuilder();
          for (ContainerView v : runtime.containers()) {
            CriContainer c = v.container();
            ContainerState state = state(v);
            if ((!f.getId().isEmpty() && !c.id().startsWith(f.getId()))
                || (!f.getPodSandboxId().isEmpty() && !c.podId().startsWith(f.getPodSandboxId()))
                || (f.hasState() && f.getState().getState() != state)
                || !Pod.matches(c.labels(), f.getLabelSelectorMap())) {
              continue;
            }
            b.addContainers(
                Container.newBuilder()
                    .setId(c.id())
                    .setPodSandboxId(c.podId())
                    .setMetadata(metadata(c))
                    .setImage(ImageSpec.newBuilder().setImage(c.image()))
                    // As containerd lists it: the image id (ContainerStatus gives the repo digest).
                    .setImageRef(c.imageId())
                    .setImageId(c.imageId())
                    .setState(state)
                    .setCreatedAt(c.createdAtNanos())
                    .putAllLabels(c.labels())
                    .putAllAnnotations(c.annotations()));
          }
          return b.build();
        });
  }

  void status(ContainerStatusRequest req, StreamObserver<ContainerStatusResponse> out) {
    GrpcErrors.unary(
        "ContainerStatus",
        out,
        () -> {
          ContainerView v = runtime.container(req.getContainerId());
          ContainerStatusResponse.Builder b =
              ContainerStatusResponse.newBuilder().setStatus(status(runtime, v));
          if (req.getVerbose()) {
            b.putInfo("info", runtime.verboseInfo(v.container()));
          }
          return b.build();
        });
  }

  /**
   * Lifecycle events for kubelet's evented PLEG, each with the pod's status and its containers'
   * statuses as they are when the event is sent. Runs until the client cancels; never holds a
   * thread.
   */
  void events(GetEventsRequest req, StreamObserver<ContainerEventResponse> out) {
    ServerCallStreamObserver<ContainerEventResponse> call =
        (ServerCallStreamObserver<ContainerEventResponse>) out;
    Object lock = new Object();
    Runnable unsubscribe =
        runtime.subscribe(
            e -> {
              ContainerEventResponse.Builder b =
                  ContainerEventResponse.newBuilder()
                      .setContainerId(e.containerId())
                      .setContainerEventType(
                          switch (e.kind()) {
                            case CREATED -> ContainerEventType.CONTAINER_CREATED_EVENT;
                            case STARTED -> ContainerEventType.CONTAINER_STARTED_EVENT;
                            case STOPPED -> ContainerEventType.CONTAINER_STOPPED_EVENT;
                            case DELETED -> ContainerEventType.CONTAINER_DELETED_EVENT;
                          })
                      .setCreatedAt(e.atNanos());
              runtime
                  .findPod(e.podId())
                  .ifPresent(p -> b.setPodSandboxStatus(PodHandler.status(p)));
              runtime
                  .containersOf(e.podId())
                  .forEach(v -> b.addContainersStatuses(status(runtime, v)));
              synchronized (lock) {
                if (!call.isCancelled()) {
                  call.onNext(b.build());
                }
              }
            });
    call.setOnCancelHandler(unsubscribe);
  }

  void execSync(ExecSyncRequest req, StreamObserver<ExecSyncResponse> out) {
    GrpcErrors.unary(
        "ExecSync",
        out,
        () -> {
          ExecSession.Result r =
              runtime.execSync(req.getContainerId(), req.getCmdList(), req.getTimeout());
          return ExecSyncResponse.newBuilder()
              .setStdout(ByteString.copyFrom(r.stdout()))
              .setStderr(ByteString.copyFrom(r.stderr()))
              .setExitCode(r.exitCode())
              .build();
        });
  }

  void exec(ExecRequest req, StreamObserver<ExecResponse> out) {
    GrpcErrors.unary(
        "Exec",
        out,
        () ->
            ExecResponse.newBuilder()
                .setUrl(
                    streaming.register(
                        runtime.exec(
                            req.getContainerId(),
                            req.getCmdList(),
                            req.getStdin(),
                            req.getStdout(),
                            req.getStderr(),
                            req.getTty())))
                .build());
  }

  void attach(AttachRequest req, StreamObserver<AttachResponse> out) {
    GrpcErrors.unary(
        "Attach",
        out,
        () ->
            AttachResponse.newBuilder()
                .setUrl(
                    streaming.register(
                        runtime.attach(
                            req.getContainerId(),
                            req.getStdin(),
                            req.getStdout(),
                            req.getStderr(),
                            req.getTty())))
                .build());
  }

  static ContainerStatus status(CriRuntime runtime, ContainerView v) {
    CriContainer c = v.container();
    ContainerState state = state(v);
    ContainerStatus.Builder s =
        ContainerStatus.newBuilder()
            .setId(c.id())
            .setMetadata(metadata(c))
            .setState(state)
            .setCreatedAt(c.createdAtNanos())
            .setStartedAt(c.startedAtNanos())
            .setImage(ImageSpec.newBuilder().setImage(runtime.imageName(c)))
            .setImageRef(runtime.imageRef(c))
            .setImageId(c.imageId())
            .putAllLabels(c.labels())
            .putAllAnnotations(c.annotations())
            .setLogPath(c.logPath())
            .setResources(
                io.krill.cri.api.v1.ContainerResources.newBuilder()
                    .setLinux(resources(c.resources())));
    c.mounts()
        .forEach(
            m ->
                s.addMounts(
                    Mount.newBuilder()
                        .setContainerPath(m.containerPath())
                        .setHostPath(m.hostPath())
                        .setReadonly(m.readOnly())
                        .setPropagation(
                            switch (m.propagation()) {
                              case PRIVATE -> MountPropagation.PROPAGATION_PRIVATE;
                              case HOST_TO_CONTAINER ->
                                  MountPropagation.PROPAGATION_HOST_TO_CONTAINER;
                              case BIDIRECTIONAL -> MountPropagation.PROPAGATION_BIDIRECTIONAL;
                            })));
    if (state == ContainerState.CONTAINER_EXITED) {
      s.setFinishedAt(c.finishedAtNanos())
          .setExitCode(c.exitCode())
          .setReason(c.reason())
          .setMessage(c.message());
    }
    return s.build();
  }

  static ContainerState state(ContainerView v) {
    return switch (v.state()) {
      case CREATED -> ContainerState.CONTAINER_CREATED;
      case RUNNING -> ContainerState.CONTAINER_RUNNING;
      case EXITED -> ContainerState.CONTAINER_EXITED;
    };
  }

  static ContainerMetadata metadata(CriContainer c) {
    return ContainerMetadata.newBuilder().setName(c.name()).setAttempt(c.attempt()).build();
  }
}
