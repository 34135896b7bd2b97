package io.krill.cri.grpc;

import io.grpc.BindableService;
import io.grpc.ServerServiceDefinition;
import io.grpc.stub.StreamObserver;
import io.krill.cri.api.v1.AttachRequest;
import io.krill.cri.api.v1.AttachResponse;
import io.krill.cri.api.v1.ContainerEventResponse;
import io.krill.cri.api.v1.ContainerStatsRequest;
import io.krill.cri.api.v1.ContainerStatsResponse;
import io.krill.cri.api.v1.ContainerStatusRequest;
import io.krill.cri.api.v1.ContainerStatusResponse;
import io.krill.cri.api.v1.CreateContainerRequest;
import io.krill.cri.api.v1.CreateContainerResponse;
import io.krill.cri.api.v1.ExecRequest;
import io.krill.cri.api.v1.ExecResponse;
import io.krill.cri.api.v1.ExecSyncRequest;
import io.krill.cri.api.v1.ExecSyncResponse;
import io.krill.cri.api.v1.GetEventsRequest;
import io.krill.cri.api.v1.ListContainerStatsRequest;
import io.krill.cri.api.v1.ListContainerStatsResponse;
import io.krill.cri.api.v1.ListContainersRequest;
import io.krill.cri.api.v1.ListContainersResponse;
import io.krill.cri.api.v1.ListPodSandboxRequest;
import io.krill.cri.api.v1.ListPodSandboxResponse;
import io.krill.cri.api.v1.ListPodSandboxStatsRequest;
import io.krill.cri.api.v1.ListPodSandboxStatsResponse;
import io.krill.cri.api.v1.PodSandboxStatsRequest;
import io.krill.cri.api.v1.PodSandboxStatsResponse;
import io.krill.cri.api.v1.PodSandboxStatusRequest;
import io.krill.cri.api.v1.PodSandboxStatusResponse;
import io.krill.cri.api.v1.PortForwardRequest;
import io.krill.cri.api.v1.PortForwardResponse;
import io.krill.cri.api.v1.RemoveContainerRequest;
import io.krill.cri.api.v1.RemoveContainerResponse;
import io.krill.cri.api.v1.RemovePodSandboxRequest;
import io.krill.cri.api.v1.RemovePodSandboxResponse;
import io.krill.cri.api.v1.ReopenContainerLogRequest;
import io.krill.cri.api.v1.ReopenContainerLogResponse;
import io.krill.cri.api.v1.RunPodSandboxRequest;
import io.krill.cri.api.v1.RunPodSandboxResponse;
import io.krill.cri.api.v1.RuntimeCondition;
import io.krill.cri.api.v1.RuntimeHandler;
import io.krill.cri.api.v1.RuntimeServiceGrpc;
import io.krill.cri.api.v1.RuntimeStatus;
import io.krill.cri.api.v1.StartContainerRequest;
import io.krill.cri.api.v1.StartContainerResponse;
import io.krill.cri.api.v1.StatusRequest;
import io.krill.cri.api.v1.StatusResponse;
import io.krill.cri.api.v1.StopContainerRequest;
import io.krill.cri.api.v1.StopContainerResponse;
import io.krill.cri.api.v1.StopPodSandboxRequest;
import io.krill.cri.api.v1.StopPodSandboxResponse;
import io.krill.cri.api.v1.UpdateContainerResourcesRequest;
import io.krill.cri.api.v1.UpdateContainerResourcesResponse;
import io.krill.cri.api.v1.UpdateRuntimeConfigRequest;
import io.krill.cri.api.v1.UpdateRuntimeConfigResponse;
import io.krill.cri.api.v1.VersionRequest;
import io.krill.cri.api.v1.VersionResponse;
import io.krill.cri.core.CriRuntime;
import io.krill.cri.core.CriVersion;
import io.krill.cri.streaming.StreamingServer;
import java.util.Optional;

/**
 * runtime.v1.RuntimeService: identity and health here, each other call handed to the handler of its
 * kind ({@link PodHandler}, {@link ContainerHandler}, {@link StatsHandler}). Handlers convert
 * protobuf to records and back and map errors ({@link GrpcErrors}); the rules are {@link
 * CriRuntime}'s. A call none implements answers UNIMPLEMENTED (the generated interface's default).
 */
public final class RuntimeFrontDoor implements RuntimeServiceGrpc.AsyncService, BindableService {
  private final CriRuntime runtime;
  private final PodHandler pods;
  private final ContainerHandler containers;
  private final StatsHandler stats;

  public RuntimeFrontDoor(CriRuntime runtime, StreamingServer streaming) {
    this.runtime = runtime;
    this.pods = new PodHandler(runtime, streaming);
    this.containers = new ContainerHandler(runtime, streaming);
    this.stats = new StatsHandler(runtime);
  }

  @Override
  public ServerServiceDefinition bindService() {
    return RuntimeServiceGrpc.bindService(this);
  }

  @Override
  public void version(VersionRequest req, StreamObserver<VersionResponse> out) {
    GrpcErrors.unary(
        "Version",
        out,
        () ->
            VersionResponse.newBuilder()
                .setVersion(CriVersion.CRI_VERSION)
                .setRuntimeName(CriVersion.RUNTIME_NAME)
                .setRuntimeVersion(CriVersion.krill())
                .setRuntimeApiVersion(CriVersion.API_VERSION)
                .build());
  }

  @Override
  public void status(StatusRequest req, StreamObserver<StatusResponse> out) {
    GrpcErrors.unary(
        "Status",
        out,
        () -> {
          RuntimeCondition.Builder net = RuntimeCondition.newBuilder().setType("NetworkReady");
          Optional<String> why = runtime.networkNotReadyBecause();
          net.setStatus(why.isEmpty());
          why.ifPresent(m -> net.setReason("NetworkPluginNotReady").setMessage(m));
          return StatusResponse.newBuilder()
              .setStatus(
                  RuntimeStatus.newBuilder()
                      .addConditions(
                          RuntimeCondition.newBuilder().setType("RuntimeReady").setStatus(true))
                      .addConditions(net))
              .addAllRuntimeHandlers(
                  CriRuntime.RUNTIME_HANDLERS.stream()
                      .map(h -> RuntimeHandler.newBuilder().setName(h).build())
                      .toList())
              .build();
        });
  }

  @Override
  public void updateRuntimeConfig(
      UpdateRuntimeConfigRequest req, StreamObserver<UpdateRuntimeConfigResponse> out) {
    GrpcErrors.unary(
        "UpdateRuntimeConfig",
        out,
        () -> {
          runtime.podCidr(req.getRuntimeConfig().getNetworkConfig().getPodCidr());
          return UpdateRuntimeConfigResponse.getDefaultInstance();
        });
  }

  // ---- pods

  @Override
  public void runPodSandbox(RunPodSandboxRequest req, StreamObserver<RunPodSandboxResponse> out) {
    pods.run(req, out);
  }

  @Override
  public void stopPodSandbox(
      StopPodSandboxRequest req, StreamObserver<StopPodSandboxResponse> out) {
    pods.stop(req, out);
  }

  @Override
  public void removePodSandbox(
      RemovePodSandboxRequest req, StreamObserver<RemovePodSandboxResponse> out) {
    pods.remove(req, out);
  }

  @Override
  public void podSandboxStatus(
      PodSandboxStatusRequest req, StreamObserver<PodSandboxStatusResponse> out) {
    pods.status(req, out);
  }

  @Override
  public void listPodSandbox(
      ListPodSandboxRequest req, StreamObserver<ListPodSandboxResponse> out) {
    pods.list(req, out);
  }

  @Override
  public void portForward(PortForwardRequest req, StreamObserver<PortForwardResponse> out) {
    pods.portForward(req, out);
  }

  // ---- containers

  @Override
  public void createContainer(
      CreateContainerRequest req, StreamObserver<CreateContainerResponse> out) {
    containers.create(req, out);
  }

  @Override
  public void startContainer(
      StartContainerRequest req, StreamObserver<StartContainerResponse> out) {
    containers.start(req, out);
  }

  @Override
  public void stopContainer(StopContainerRequest req, StreamObserver<StopContainerResponse> out) {
    containers.stop(req, out);
  }

  @Override
  public void removeContainer(
      RemoveContainerRequest req, StreamObserver<RemoveContainerResponse> out) {
    containers.remove(req, out);
  }

  @Override
  public void reopenContainerLog(
      ReopenContainerLogRequest req, StreamObserver<ReopenContainerLogResponse> out) {
    containers.reopenLog(req, out);
  }

  @Override
  public void updateContainerResources(
      UpdateContainerResourcesRequest req, StreamObserver<UpdateContainerResourcesResponse> out) {
    containers.updateResources(req, out);
  }

  @Override
  public void listContainers(
      ListContainersRequest req, StreamObserver<ListContainersResponse> out) {
    containers.list(req, out);
  }

  @Override
  public void containerStatus(
      ContainerStatusRequest req, StreamObserver<ContainerStatusResponse> out) {
    containers.status(req, out);
  }

  @Override
  public void getContainerEvents(GetEventsRequest req, StreamObserver<ContainerEventResponse> out) {
    containers.events(req, out);
  }

  @Override
  public void execSync(ExecSyncRequest req, StreamObserver<ExecSyncResponse> out) {
    containers.execSync(req, out);
  }

  @Override
  public void exec(ExecRequest req, StreamObserver<ExecResponse> out) {
    containers.exec(req, out);
  }

  @Override
  public void attach(AttachRequest req, StreamObserver<AttachResponse> out) {
    containers.attach(req, out);
  }

  // ---- stats

  @Override
  public void containerStats(
      ContainerStatsRequest req, StreamObserver<ContainerStatsResponse> out) {
    stats.container(req, out);
  }

  @Override
  public void listContainerStats(
      ListContainerStatsRequest req, StreamObserver<ListContainerStatsResponse> out) {
    stats.listContainers(req, out);
  }

  @Override
  public void podSandboxStats(
      PodSandboxStatsRequest req, StreamObserver<PodSandboxStatsResponse> out) {
    stats.pod(req, out);
  }

  @Override
  public void listPodSandboxStats(
      ListPodSandboxStatsRequest req, StreamObserver<ListPodSandboxStatsResponse> out) {
    stats.listPods(req, out);
  }
}
