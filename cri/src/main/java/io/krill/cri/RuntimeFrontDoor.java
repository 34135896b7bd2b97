package io.krill.cri;

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
import io.krill.cri.api.v1.RemovePodSandboxRequest;
import io.krill.cri.api.v1.RemovePodSandboxResponse;
import io.krill.cri.api.v1.RunPodSandboxRequest;
import io.krill.cri.api.v1.RunPodSandboxResponse;
import io.krill.cri.api.v1.RuntimeCondition;
import io.krill.cri.api.v1.RuntimeHandler;
import io.krill.cri.api.v1.RuntimeServiceGrpc;
import io.krill.cri.api.v1.RuntimeStatus;
import io.krill.cri.api.v1.StatusRequest;
import io.krill.cri.api.v1.StatusResponse;
import io.krill.cri.api.v1.StopPodSandboxRequest;
import io.krill.cri.api.v1.StopPodSandboxResponse;
import io.krill.cri.api.v1.UpdateRuntimeConfigRequest;
import io.krill.cri.api.v1.UpdateRuntimeConfigResponse;
import io.krill.cri.api.v1.VersionRequest;
import io.krill.cri.api.v1.VersionResponse;
import io.krill.runtime.ErrorCode;
import io.krill.runtime.KrillException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * runtime.v1.RuntimeService, identity, health and pods: protobuf in, records to the stores, protobuf out.
 * Container calls are in {@link ContainerFrontDoor}; anything neither implements answers UNIMPLEMENTED (the
 * generated base class's default).
 */
class RuntimeFrontDoor extends RuntimeServiceGrpc.RuntimeServiceImplBase {
  private static final System.Logger LOG = System.getLogger("krill.cri");
  protected final PodStore pods;
  protected final CriRuntime runtime;
  private final CniNetwork network;
  private final PodNetworks podNetworks;
  protected final PodFiles podFiles;

  RuntimeFrontDoor(PodStore pods, CriRuntime runtime, CniNetwork network, PodNetworks podNetworks,
      PodFiles podFiles) {
    this.pods = pods;
    this.runtime = runtime;
    this.network = network;
    this.podNetworks = podNetworks;
    this.podFiles = podFiles;
  }

  @Override
  public void version(VersionRequest req, StreamObserver<VersionResponse> out) {
    GrpcErrors.unary("Version", out, () -> VersionResponse.newBuilder().setVersion(CriVersion.CRI_VERSION)
        .setRuntimeName(CriVersion.RUNTIME_NAME).setRuntimeVersion(CriVersion.krill())
        .setRuntimeApiVersion(CriVersion.API_VERSION).build());
  }

  @Override
  public void status(StatusRequest req, StreamObserver<StatusResponse> out) {
    GrpcErrors.unary("Status", out, () -> {
      RuntimeCondition.Builder net = RuntimeCondition.newBuilder().setType("NetworkReady");
      Optional<String> why = network.notReadyBecause();
      net.setStatus(why.isEmpty());
      why.ifPresent(m -> net.setReason("NetworkPluginNotReady").setMessage(m));
      return StatusResponse.newBuilder().setStatus(RuntimeStatus.newBuilder()
              .addConditions(RuntimeCondition.newBuilder().setType("RuntimeReady").setStatus(true))
              .addConditions(net))
          .addRuntimeHandlers(RuntimeHandler.newBuilder().setName(""))
          .build();
    });
  }

  /**
   * kubelet sends the node's pod CIDR here once it knows it. Pod addresses come from the CNI config's own IPAM
   * section (as with containerd without a CNI template), so krill accepts the call and logs the range.
   */
  @Override
  public void updateRuntimeConfig(UpdateRuntimeConfigRequest req, StreamObserver<UpdateRuntimeConfigResponse> out) {
    GrpcErrors.unary("UpdateRuntimeConfig", out, () -> {
      String cidr = req.getRuntimeConfig().getNetworkConfig().getPodCidr();
      if (!cidr.isEmpty()) {
        LOG.log(System.Logger.Level.INFO, "kubelet set the pod CIDR to {0}; pod addresses come from the IPAM of the"
            + " CNI config in use", cidr);
      }
      return UpdateRuntimeConfigResponse.getDefaultInstance();
    });
  }

  @Override
  public void runPodSandbox(RunPodSandboxRequest req, StreamObserver<RunPodSandboxResponse> out) {
    GrpcErrors.unary("RunPodSandbox", out, () -> {
      PodSandboxConfig c = req.getConfig();
      PodSandboxMetadata m = c.getMetadata();
      if (m.getName().isEmpty() || m.getNamespace().isEmpty()) {
        throw new KrillException(ErrorCode.INVALID_ARGUMENT, "a pod sandbox needs metadata.name and namespace");
      }
      boolean host = c.getLinux().getSecurityContext().getNamespaceOptions().getNetwork() == NamespaceMode.NODE;
      Instant now = Instant.now();
      List<Pod.PortMapping> ports = c.getPortMappingsList().stream().map(p -> new Pod.PortMapping(
          p.getProtocol().name(), p.getContainerPort(), p.getHostPort(), p.getHostIp())).toList();
      Pod pod = new Pod(PodStore.newId(), m.getName(), m.getUid(), m.getNamespace(), m.getAttempt(),
          c.getLabelsMap(), c.getAnnotationsMap(), now.getEpochSecond() * 1_000_000_000L + now.getNano(), true, host,
          c.getLogDirectory(), req.getRuntimeHandler(), "", hostname(c, host), ports);
      // Recorded before the network exists, so a crash during setup leaves something to tear down.
      pods.put(pod);
      try {
        DNSConfig dns = c.getDnsConfig();
        podFiles.write(pod, new PodFiles.Dns(dns.getServersList(), dns.getSearchesList(), dns.getOptionsList()));
        if (!host) {
          pod = pod.withIp(podNetworks.setUp(pod));
          pods.put(pod);
        }
      } catch (IOException e) {
        forget(pod);
        throw new UncheckedIOException(pod.describe() + ": cannot write its hostname, hosts and resolv.conf files"
            + " under " + podFiles.dir(pod.id()) + ": " + e.getMessage(), e);
      } catch (RuntimeException e) {
        forget(pod);
        throw e;
      }
      return RunPodSandboxResponse.newBuilder().setPodSandboxId(pod.id()).build();
    });
  }

  @Override
  public void stopPodSandbox(StopPodSandboxRequest req, StreamObserver<StopPodSandboxResponse> out) {
    GrpcErrors.unary("StopPodSandbox", out, () -> {
      // Stopping what is already gone succeeds: kubelet retries teardown after partial failures.
      pods.find(req.getPodSandboxId()).ifPresent(p -> {
        runtime.stopPod(p.id());
        if (!p.hostNetwork()) {
          podNetworks.tearDown(p);
        }
        pods.put(p.stopped());
      });
      return StopPodSandboxResponse.getDefaultInstance();
    });
  }

  @Override
  public void removePodSandbox(RemovePodSandboxRequest req, StreamObserver<RemovePodSandboxResponse> out) {
    GrpcErrors.unary("RemovePodSandbox", out, () -> {
      pods.find(req.getPodSandboxId()).ifPresent(p -> {
        runtime.removePod(p.id());
        if (!p.hostNetwork()) {
          podNetworks.tearDown(p);
        }
        removeFiles(p);
        pods.remove(p.id());
      });
      return RemovePodSandboxResponse.getDefaultInstance();
    });
  }

  @Override
  public void podSandboxStatus(PodSandboxStatusRequest req, StreamObserver<PodSandboxStatusResponse> out) {
    GrpcErrors.unary("PodSandboxStatus", out, () -> {
      PodSandboxStatus s = podStatus(pods.get(req.getPodSandboxId()));
      return PodSandboxStatusResponse.newBuilder().setStatus(s)
          .setTimestamp(System.currentTimeMillis() * 1_000_000L).build();
    });
  }

  @Override
  public void listPodSandbox(ListPodSandboxRequest req, StreamObserver<ListPodSandboxResponse> out) {
    GrpcErrors.unary("ListPodSandbox", out, () -> {
      PodSandboxFilter f = req.getFilter();
      ListPodSandboxResponse.Builder b = ListPodSandboxResponse.newBuilder();
      for (Pod p : pods.list()) {
        if (!f.getId().isEmpty() && !p.id().startsWith(f.getId())) {
          continue;
        }
        if (f.hasState() && f.getState().getState() != state(p)) {
          continue;
        }
        if (!Pod.matches(p.labels(), f.getLabelSelectorMap())) {
          continue;
        }
        b.addItems(PodSandbox.newBuilder().setId(p.id()).setMetadata(metadata(p)).setState(state(p))
            .setCreatedAt(p.createdAtNanos()).putAllLabels(p.labels()).putAllAnnotations(p.annotations())
            .setRuntimeHandler(p.runtimeHandler()));
      }
      return b.build();
    });
  }

  /** A pod whose RunPodSandbox failed: its network is already undone, its record and files go too. */
  private void forget(Pod p) {
    pods.remove(p.id());
    removeFiles(p);
  }

  private void removeFiles(Pod p) {
    try {
      podFiles.remove(p.id());
    } catch (IOException e) {
      LOG.log(Level.WARNING, "{0}: cannot remove {1}: {2}", p.describe(), podFiles.dir(p.id()), e.getMessage());
    }
  }

  private static String hostname(PodSandboxConfig c, boolean hostNetwork) {
    try {
      return PodFiles.hostname(c.getHostname(), c.getMetadata().getName(), hostNetwork);
    } catch (IOException e) {
      throw new UncheckedIOException("pod " + c.getMetadata().getNamespace() + "/" + c.getMetadata().getName()
          + " asks for the node's hostname (host network, no hostname), which cannot be read: " + e.getMessage()
          + "; set the pod's hostname", e);
    }
  }

  static PodSandboxStatus podStatus(Pod p) {
    NamespaceMode mode = p.hostNetwork() ? NamespaceMode.NODE : NamespaceMode.POD;
    return PodSandboxStatus.newBuilder().setId(p.id()).setMetadata(metadata(p)).setState(state(p))
        .setCreatedAt(p.createdAtNanos()).putAllLabels(p.labels()).putAllAnnotations(p.annotations())
        .setRuntimeHandler(p.runtimeHandler())
        .setNetwork(PodSandboxNetworkStatus.newBuilder().setIp(p.ip()))
        .setLinux(LinuxPodSandboxStatus.newBuilder().setNamespaces(Namespace.newBuilder()
            .setOptions(NamespaceOption.newBuilder().setNetwork(mode).setPid(NamespaceMode.POD)
                .setIpc(NamespaceMode.POD))))
        .build();
  }

  private static PodSandboxState state(Pod p) {
    return p.ready() ? PodSandboxState.SANDBOX_READY : PodSandboxState.SANDBOX_NOTREADY;
  }

  private static PodSandboxMetadata metadata(Pod p) {
    return PodSandboxMetadata.newBuilder().setName(p.name()).setUid(p.uid()).setNamespace(p.namespace())
        .setAttempt(p.attempt()).build();
  }
}
