package io.krill.cri.grpc;

import io.grpc.stub.StreamObserver;
import io.krill.cri.api.v1.DNSConfig;
import io.krill.cri.api.v1.LinuxPodSandboxStatus;
import io.krill.cri.api.v1.ListPodSandboxRequest;
import io.krill.cri.api.v1.ListPodSandboxResponse;
import io.krill.cri.api.v1.Namespace;
import io.krill.cri.api.v1.NamespaceMode;
import io.krill.cri.api.v1.NamespaceOption;
import io.krill.cri.api.v1.PodSandbox;
import io.krill.cri.api.v1.PodSandboxConfig;
import io.krill.cri.api.v1.PodSandboxFilter;
import io.krill.cri.api.v1.PodSandboxMetadata;
import io.krill.cri.api.v1.PodSandboxNetworkStatus;
import io.krill.cri.api.v1.PodSandboxState;
import io.krill.cri.api.v1.PodSandboxStatus;
import io.krill.cri.api.v1.PodSandboxStatusRequest;
import io.krill.cri.api.v1.PodSandboxStatusResponse;
import io.krill.cri.api.v1.PortForwardRequest;
import io.krill.cri.api.v1.PortForwardResponse;
import io.krill.cri.api.v1.RemovePodSandboxRequest;
import io.krill.cri.api.v1.RemovePodSandboxResponse;
import io.krill.cri.api.v1.RunPodSandboxRequest;
import io.krill.cri.api.v1.RunPodSandboxResponse;
import io.krill.cri.api.v1.StopPodSandboxRequest;
import io.krill.cri.api.v1.StopPodSandboxResponse;
import io.krill.cri.core.CriRuntime;
import io.krill.cri.pod.Pod;
import io.krill.cri.pod.PodFiles;
import io.krill.cri.pod.PodRequest;
import io.krill.cri.streaming.StreamingServer;

/**
 * Pod sandbox calls of runtime.v1.RuntimeService: protobuf in, {@link CriRuntime} calls, protobuf
 * out.
 */
final class PodHandler {
  private final CriRuntime runtime;
  private final StreamingServer streaming;

  PodHandler(CriRuntime runtime, StreamingServer streaming) {
    this.runtime = runtime;
    this.streaming = streaming;
  }

  void run(RunPodSandboxRequest req, StreamObserver<RunPodSandboxResponse> out) {
    GrpcErrors.unary(
        "RunPodSandbox",
        out,
        () -> {
          PodSandboxConfig c = req.getConfig();
          PodSandboxMetadata m = c.getMetadata();
          DNSConfig dns = c.getDnsConfig();
          Pod pod =
              runtime.runPod(
                  new PodRequest(
                      m.getName(),
                      m.getUid(),
                      m.getNamespace(),
                      m.getAttempt(),
                      c.getLabelsMap(),
                      c.getAnnotationsMap(),
                      c.getLinux().getSecurityContext().getNamespaceOptions().getNetwork()
                          == NamespaceMode.NODE,
                      c.getLogDirectory(),
                      req.getRuntimeHandler(),
                      c.getHostname(),
                      c.getPortMappingsList().stream()
                          .map(
                              p ->
                                  new Pod.PortMapping(
                                      p.getProtocol().name(),
                                      p.getContainerPort(),
                                      p.getHostPort(),
                                      p.getHostIp()))
                          .toList(),
                      new PodFiles.Dns(
                          dns.getServersList(), dns.getSearchesList(), dns.getOptionsList()),
                      ProtoJson.of(c),
                      c.getLinux().getCgroupParent()));
          return RunPodSandboxResponse.newBuilder().setPodSandboxId(pod.id()).build();
        });
  }

  void stop(StopPodSandboxRequest req, StreamObserver<StopPodSandboxResponse> out) {
    GrpcErrors.unary(
        "StopPodSandbox",
        out,
        () -> {
          runtime.stopPod(req.getPodSandboxId());
          return StopPodSandboxResponse.getDefaultInstance();
        });
  }

  void remove(RemovePodSandboxRequest req, StreamObserver<RemovePodSandboxResponse> out) {
    GrpcErrors.unary(
        "RemovePodSandbox",
        out,
        () -> {
          runtime.removePod(req.getPodSandboxId());
          return RemovePodSandboxResponse.getDefaultInstance();
        });
  }

  void status(PodSandboxStatusRequest req, StreamObserver<PodSandboxStatusResponse> out) {
    GrpcErrors.unary(
        "PodSandboxStatus",
        out,
        () -> {
          Pod p = runtime.pod(req.getPodSandboxId());
          PodSandboxStatusResponse.Builder b =
              PodSandboxStatusResponse.newBuilder()
                  .setStatus(status(p))
                  .setTimestamp(System.currentTimeMillis() * 1_000_000L);
          if (req.getVerbose()) {
            b.putInfo("info", runtime.verbosePodInfo(p));
          }
          return b.build();
        });
  }

  void list(ListPodSandboxRequest req, StreamObserver<ListPodSandboxResponse> out) {
    GrpcErrors.unary(
        "ListPodSandbox",
        out,
        () -> {
          PodSandboxFilter f = req.getFilter();
          ListPodSandboxResponse.Builder b = ListPodSandboxResponse.newBuilder();
          for (Pod p : runtime.pods()) {
            if (!f.getId().isEmpty() && !p.id().startsWith(f.getId())) {
              continue;
            }
            if (f.hasState() && f.getState().getState() != state(p)) {
              continue;
            }
            if (!Pod.matches(p.labels(), f.getLabelSelectorMap())) {
              continue;
            }
            b.addItems(
                PodSandbox.newBuilder()
                    .setId(p.id())
                    .setMetadata(metadata(p))
                    .setState(state(p))
                    .setCreatedAt(p.createdAtNanos())
                    .putAllLabels(p.labels())
                    .putAllAnnotations(p.annotations())
                    .setRuntimeHandler(p.runtimeHandler()));
          }
          return b.build();
        });
  }

  void portForward(PortForwardRequest req, StreamObserver<PortForwardResponse> out) {
    GrpcErrors.unary(
        "PortForward",
        out,
        () -> {
          return PortForwardResponse.newBuilder()
              .setUrl(
                  streaming.register(runtime.portForward(req.getPodSandboxId(), req.getPortList())))
              .build();
        });
  }

  static PodSandboxStatus status(Pod p) {
    NamespaceMode mode = p.hostNetwork() ? NamespaceMode.NODE : NamespaceMode.POD;
    return PodSandboxStatus.newBuilder()
        .setId(p.id())
        .setMetadata(metadata(p))
        .setState(state(p))
        .setCreatedAt(p.createdAtNanos())
        .putAllLabels(p.labels())
        .putAllAnnotations(p.annotations())
        .setRuntimeHandler(p.runtimeHandler())
        .setNetwork(PodSandboxNetworkStatus.newBuilder().setIp(p.ip()))
        .setLinux(
            LinuxPodSandboxStatus.newBuilder()
                .setNamespaces(
                    Namespace.newBuilder()
                        .setOptions(
                            NamespaceOption.newBuilder()
                                .setNetwork(mode)
                                .setPid(NamespaceMode.POD)
                                .setIpc(NamespaceMode.POD))))
        .build();
  }

  private static PodSandboxState state(Pod p) {
    return p.ready() ? PodSandboxState.SANDBOX_READY : PodSandboxState.SANDBOX_NOTREADY;
  }

  static PodSandboxMetadata metadata(Pod p) {
    return PodSandboxMetadata.newBuilder()
        .setName(p.name())
        .setUid(p.uid())
        .setNamespace(p.namespace())
        .setAttempt(p.attempt())
        .build();
  }
}
