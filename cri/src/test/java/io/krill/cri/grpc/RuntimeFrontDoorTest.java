package io.krill.cri.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.krill.cri.api.v1.ContainerConfig;
import io.krill.cri.api.v1.ContainerMetadata;
import io.krill.cri.api.v1.ContainerState;
import io.krill.cri.api.v1.ContainerStatsRequest;
import io.krill.cri.api.v1.ContainerStatus;
import io.krill.cri.api.v1.ContainerStatusRequest;
import io.krill.cri.api.v1.ContainerStatusResponse;
import io.krill.cri.api.v1.CreateContainerRequest;
import io.krill.cri.api.v1.ExecRequest;
import io.krill.cri.api.v1.ExecSyncRequest;
import io.krill.cri.api.v1.ExecSyncResponse;
import io.krill.cri.api.v1.HugepageLimit;
import io.krill.cri.api.v1.ImageSpec;
import io.krill.cri.api.v1.Int64Value;
import io.krill.cri.api.v1.LinuxContainerConfig;
import io.krill.cri.api.v1.LinuxContainerResources;
import io.krill.cri.api.v1.LinuxContainerSecurityContext;
import io.krill.cri.api.v1.LinuxPodSandboxConfig;
import io.krill.cri.api.v1.LinuxSandboxSecurityContext;
import io.krill.cri.api.v1.ListContainersRequest;
import io.krill.cri.api.v1.ListPodSandboxRequest;
import io.krill.cri.api.v1.ListPodSandboxStatsRequest;
import io.krill.cri.api.v1.Mount;
import io.krill.cri.api.v1.MountPropagation;
import io.krill.cri.api.v1.NamespaceMode;
import io.krill.cri.api.v1.NamespaceOption;
import io.krill.cri.api.v1.PodSandboxConfig;
import io.krill.cri.api.v1.PodSandboxMetadata;
import io.krill.cri.api.v1.PodSandboxState;
import io.krill.cri.api.v1.PodSandboxStatusRequest;
import io.krill.cri.api.v1.PodSandboxStatusResponse;
import io.krill.cri.api.v1.PortForwardRequest;
import io.krill.cri.api.v1.RemoveContainerRequest;
import io.krill.cri.api.v1.RemovePodSandboxRequest;
import io.krill.cri.api.v1.RunPodSandboxRequest;
import io.krill.cri.api.v1.RuntimeHandler;
import io.krill.cri.api.v1.RuntimeServiceGrpc;
import io.krill.cri.api.v1.SecurityProfile;
import io.krill.cri.api.v1.StartContainerRequest;
import io.krill.cri.api.v1.StatusRequest;
import io.krill.cri.api.v1.StopContainerRequest;
import io.krill.cri.api.v1.StopPodSandboxRequest;
import io.krill.cri.api.v1.UpdateContainerResourcesRequest;
import io.krill.cri.api.v1.VersionRequest;
import io.krill.cri.core.CriFixture;
import io.krill.cri.streaming.StreamingServer;
import io.krill.runtime.MemoryBudget;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/**
 * runtime.v1.RuntimeService over in-process gRPC, on {@link CriFixture}'s runtime and fake engine.
 */
@Timeout(60)
class RuntimeFrontDoorTest {
  @TempDir Path tmp;
  CriFixture f;
  StreamingServer streaming;
  Server server;
  ManagedChannel channel;
  RuntimeServiceGrpc.RuntimeServiceBlockingStub cri;

  @BeforeEach
  void setUp() throws Exception {
    f = new CriFixture(tmp);
    setUpServer();
  }

  private void setUpServer() throws Exception {
    streaming = StreamingServer.start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    String name = InProcessServerBuilder.generateName();
    server =
        InProcessServerBuilder.forName(name)
            .directExecutor()
            .addService(new RuntimeFrontDoor(f.runtime, streaming))
            .build()
            .start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    cri = RuntimeServiceGrpc.newBlockingStub(channel);
  }

  @AfterEach
  void tearDown() throws Exception {
    channel.shutdownNow();
    server.shutdownNow();
    streaming.close();
    f.close();
  }

  @Test
  void podAndContainerLifecycle_overGrpc() {
    assertEquals("krill", cri.version(VersionRequest.getDefaultInstance()).getRuntimeName());
    String pod = runPod("web");
    assertEquals(
        PodSandboxState.SANDBOX_READY,
        cri.podSandboxStatus(PodSandboxStatusRequest.newBuilder().setPodSandboxId(pod).build())
            .getStatus()
            .getState());

    String id = cri.createContainer(create(pod, "app", false)).getContainerId();
    assertEquals(ContainerState.CONTAINER_CREATED, status(id).getState());
    cri.startContainer(StartContainerRequest.newBuilder().setContainerId(id).build());
    ContainerStatus running = status(id);
    assertEquals(ContainerState.CONTAINER_RUNNING, running.getState());
    assertEquals("app", running.getMetadata().getName());
    assertEquals(tmp.resolve("logs/app.log").toString(), running.getLogPath());
    assertTrue(
        cri.containerStats(ContainerStatsRequest.newBuilder().setContainerId(id).build())
            .getStats()
            .hasCpu());
    assertEquals(
        1,
        cri.listPodSandboxStats(ListPodSandboxStatsRequest.getDefaultInstance())
            .getStats(0)
            .getLinux()
            .getProcess()
            .getProcessCount()
            .getValue());

    ExecSyncResponse exec =
        cri.execSync(
            ExecSyncRequest.newBuilder()
                .setContainerId(id)
                .addCmd("/app.wat")
                .addCmd("fail")
                .addCmd("no such key")
                .addCmd("2")
                .setTimeout(10)
                .build());
    assertEquals(2, exec.getExitCode());
    assertEquals("no such key", exec.getStderr().toStringUtf8());

    cri.stopContainer(StopContainerRequest.newBuilder().setContainerId(id).setTimeout(10).build());
    ContainerStatus exited = status(id);
    assertEquals(ContainerState.CONTAINER_EXITED, exited.getState());
    assertEquals(143, exited.getExitCode());
    assertEquals("Error", exited.getReason());
    assertTrue(exited.getFinishedAt() > 0);

    cri.removeContainer(RemoveContainerRequest.newBuilder().setContainerId(id).build());
    assertEquals(
        0, cri.listContainers(ListContainersRequest.getDefaultInstance()).getContainersCount());
    cri.stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
    assertEquals(
        PodSandboxState.SANDBOX_NOTREADY,
        cri.listPodSandbox(ListPodSandboxRequest.getDefaultInstance()).getItems(0).getState());
    cri.removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
    assertEquals(0, cri.listPodSandbox(ListPodSandboxRequest.getDefaultInstance()).getItemsCount());
  }

  @Test
  void createContainer_beyondTheMemoryBudget_resourceExhaustedNamingContainerAndBudget()
      throws Exception {
    tearDown();
    // The image's module is text, so it runs uncapped and reserves 4 GiB: one fits in 6 GiB.
    f = new CriFixture(tmp.resolve("budget"), MemoryBudget.of(6L << 30));
    setUpServer();
    String pod = runPod("web");
    cri.createContainer(create(pod, "first", false));

    StatusRuntimeException e =
        assertThrows(
            StatusRuntimeException.class, () -> cri.createContainer(create(pod, "second", false)));

    assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode());
    String m = e.getStatus().getDescription();
    assertTrue(m.startsWith("container \"second\" of pod " + pod), m);
    assertTrue(m.contains("memory budget for guests is 6 GiB, of which 4 GiB is held by 1"), m);
    assertEquals(
        1, cri.listContainers(ListContainersRequest.getDefaultInstance()).getContainersCount());
  }

  @Test
  void exec_runningContainer_urlOnTheStreamingServer() {
    String id = started("app");
    String url =
        cri.exec(
                ExecRequest.newBuilder()
                    .setContainerId(id)
                    .addCmd("/app.wat")
                    .setStdout(true)
                    .build())
            .getUrl();
    assertTrue(url.startsWith(streaming.baseUrl()) && url.contains("/exec/"), url);
  }

  @Test
  void status_networkNotReadyWithoutCniConfig() {
    var conditions = cri.status(StatusRequest.getDefaultInstance()).getStatus().getConditionsList();
    assertTrue(
        conditions.stream().anyMatch(c -> c.getType().equals("RuntimeReady") && c.getStatus()));
    assertTrue(
        conditions.stream()
            .anyMatch(
                c ->
                    c.getType().equals("NetworkReady")
                        && !c.getStatus()
                        && c.getReason().equals("NetworkPluginNotReady")));
  }

  @Test
  void unknownContainer_notFound() {
    StatusRuntimeException e = fails(() -> status("nope"));
    assertEquals(Status.Code.NOT_FOUND, e.getStatus().getCode());
    assertTrue(e.getStatus().getDescription().contains("nope"), e.getStatus().getDescription());
    assertEquals(
        Status.Code.NOT_FOUND,
        fails(
                () ->
                    cri.startContainer(
                        StartContainerRequest.newBuilder().setContainerId("nope").build()))
            .getStatus()
            .getCode());
  }

  @Test
  void createContainer_tty_invalidArgumentNamingTheContainer() {
    String pod = runPod("web");
    StatusRuntimeException e = fails(() -> cri.createContainer(create(pod, "shell", true)));
    assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
    assertTrue(
        e.getStatus().getDescription().contains("container shell"), e.getStatus().getDescription());
  }

  @Test
  void execSync_timeout_deadlineExceeded_execWithoutCommand_invalidArgument() {
    String id = started("app");
    assertEquals(
        Status.Code.DEADLINE_EXCEEDED,
        fails(
                () ->
                    cri.execSync(
                        ExecSyncRequest.newBuilder()
                            .setContainerId(id)
                            .addCmd("/app.wat")
                            .addCmd("serve")
                            .setTimeout(1)
                            .build()))
            .getStatus()
            .getCode());
    assertEquals(
        Status.Code.INVALID_ARGUMENT,
        fails(() -> cri.exec(ExecRequest.newBuilder().setContainerId(id).setStdout(true).build()))
            .getStatus()
            .getCode());
    assertEquals(
        Status.Code.INVALID_ARGUMENT,
        fails(
                () ->
                    cri.exec(
                        ExecRequest.newBuilder().setContainerId(id).addCmd("/app.wat").build()))
            .getStatus()
            .getCode(),
        "no stream requested");
  }

  @Test
  void runPodSandbox_podNetworkWithoutCni_failedPrecondition() {
    StatusRuntimeException e =
        fails(
            () ->
                cri.runPodSandbox(
                    RunPodSandboxRequest.newBuilder()
                        .setConfig(
                            PodSandboxConfig.newBuilder()
                                .setMetadata(
                                    PodSandboxMetadata.newBuilder()
                                        .setName("net")
                                        .setNamespace("default")
                                        .setUid("u")))
                        .build()));
    assertEquals(Status.Code.FAILED_PRECONDITION, e.getStatus().getCode());
    assertFalse(cri.listPodSandbox(ListPodSandboxRequest.getDefaultInstance()).getItemsCount() > 0);
  }

  @Test
  void portForward_answersAUrlOnTheStreamingServer_orNotFound() {
    String pod = runPod("web");
    String url =
        cri.portForward(PortForwardRequest.newBuilder().setPodSandboxId(pod).addPort(80).build())
            .getUrl();
    assertTrue(url.startsWith(streaming.baseUrl() + "/portforward/"), url);
    assertEquals(
        Status.Code.NOT_FOUND,
        fails(
                () ->
                    cri.portForward(
                        PortForwardRequest.newBuilder().setPodSandboxId("0000nosuch").build()))
            .getStatus()
            .getCode());
  }

  private String started(String name) {
    String id = cri.createContainer(create(runPod("web-" + name), name, false)).getContainerId();
    cri.startContainer(StartContainerRequest.newBuilder().setContainerId(id).build());
    return id;
  }

  private String runPod(String name) {
    return cri.runPodSandbox(
            RunPodSandboxRequest.newBuilder()
                .setConfig(
                    PodSandboxConfig.newBuilder()
                        .setMetadata(
                            PodSandboxMetadata.newBuilder()
                                .setName(name)
                                .setNamespace("default")
                                .setUid("uid-" + name))
                        .setHostname(name)
                        .setLogDirectory(tmp.resolve("logs").toString())
                        .setLinux(
                            LinuxPodSandboxConfig.newBuilder()
                                .setSecurityContext(
                                    LinuxSandboxSecurityContext.newBuilder()
                                        .setNamespaceOptions(
                                            NamespaceOption.newBuilder()
                                                .setNetwork(NamespaceMode.NODE)))))
                .build())
        .getPodSandboxId();
  }

  private static CreateContainerRequest create(String pod, String name, boolean tty) {
    return CreateContainerRequest.newBuilder()
        .setPodSandboxId(pod)
        .setConfig(
            ContainerConfig.newBuilder()
                .setMetadata(ContainerMetadata.newBuilder().setName(name))
                .setImage(ImageSpec.newBuilder().setImage(CriFixture.IMAGE))
                .setLogPath(name + ".log")
                .setTty(tty))
        .build();
  }

  @Test
  void refusals_answerWithContainerdsCodes() {
    String pod = runPod("web");
    StatusRuntimeException twice = fails(() -> runPod("web"));
    assertEquals(Status.Code.FAILED_PRECONDITION, twice.getStatus().getCode());
    assertTrue(
        twice.getStatus().getDescription().contains("is reserved for \"" + pod + "\""),
        twice.getStatus().getDescription());
    assertEquals(1, cri.listPodSandbox(ListPodSandboxRequest.getDefaultInstance()).getItemsCount());

    StatusRuntimeException handler =
        fails(
            () ->
                cri.runPodSandbox(
                    RunPodSandboxRequest.newBuilder()
                        .setConfig(
                            PodSandboxConfig.newBuilder()
                                .setMetadata(
                                    PodSandboxMetadata.newBuilder()
                                        .setName("other")
                                        .setNamespace("default")
                                        .setUid("u")))
                        .setRuntimeHandler("runc")
                        .build()));
    assertEquals(Status.Code.UNKNOWN, handler.getStatus().getCode());
    assertTrue(
        handler.getStatus().getDescription().contains("no runtime for \"runc\" is configured"),
        handler.getStatus().getDescription());
    assertEquals(
        List.of("", "krill"),
        cri.status(StatusRequest.getDefaultInstance()).getRuntimeHandlersList().stream()
            .map(RuntimeHandler::getName)
            .toList());

    String first = cri.createContainer(create(pod, "app", false)).getContainerId();
    StatusRuntimeException dup = fails(() -> cri.createContainer(create(pod, "app", false)));
    assertEquals(Status.Code.FAILED_PRECONDITION, dup.getStatus().getCode());
    assertTrue(
        dup.getStatus().getDescription().contains("is reserved for \"" + first + "\""),
        dup.getStatus().getDescription());

    StatusRuntimeException group =
        fails(
            () ->
                cri.createContainer(
                    withSecurity(
                        create(pod, "grouped", false),
                        LinuxContainerSecurityContext.newBuilder()
                            .setRunAsGroup(Int64Value.newBuilder().setValue(1000)))));
    assertEquals(Status.Code.UNKNOWN, group.getStatus().getCode());
    assertTrue(
        group.getStatus().getDescription().contains("is specified without user"),
        group.getStatus().getDescription());

    StatusRuntimeException seccomp =
        fails(
            () ->
                cri.createContainer(
                    withSecurity(
                        create(pod, "filtered", false),
                        LinuxContainerSecurityContext.newBuilder()
                            .setSeccompProfilePath("/etc/seccomp/p.json"))));
    assertEquals(Status.Code.UNKNOWN, seccomp.getStatus().getCode());
    StatusRuntimeException ref =
        fails(
            () ->
                cri.createContainer(
                    withSecurity(
                        create(pod, "filtered", false),
                        LinuxContainerSecurityContext.newBuilder()
                            .setSeccomp(
                                SecurityProfile.newBuilder()
                                    .setProfileType(SecurityProfile.ProfileType.RuntimeDefault)
                                    .setLocalhostRef("/etc/seccomp/p.json")))));
    assertEquals(Status.Code.UNKNOWN, ref.getStatus().getCode());
    assertEquals(
        1, cri.listContainers(ListContainersRequest.getDefaultInstance()).getContainersCount());

    cri.createContainer(
        withSecurity(
            create(pod, "user", false),
            LinuxContainerSecurityContext.newBuilder()
                .setRunAsUser(Int64Value.newBuilder().setValue(1000))
                .setRunAsGroup(Int64Value.newBuilder().setValue(1000))
                .setSeccomp(
                    SecurityProfile.newBuilder()
                        .setProfileType(SecurityProfile.ProfileType.Localhost)
                        .setLocalhostRef("/etc/seccomp/p.json"))));
  }

  private static CreateContainerRequest withSecurity(
      CreateContainerRequest r, LinuxContainerSecurityContext.Builder security) {
    return r.toBuilder()
        .setConfig(
            r.getConfig().toBuilder()
                .setLinux(LinuxContainerConfig.newBuilder().setSecurityContext(security)))
        .build();
  }

  @Test
  void containerStatus_reportsWhatContainerdReports() throws Exception {
    String pod = runPod("web");
    Path shared = Files.createDirectories(tmp.resolve("shared"));
    CreateContainerRequest req =
        create(pod, "app", false).toBuilder()
            .setConfig(
                create(pod, "app", false).getConfig().toBuilder()
                    .addMounts(mount("/private", shared, MountPropagation.PROPAGATION_PRIVATE))
                    .addMounts(
                        mount("/slave", shared, MountPropagation.PROPAGATION_HOST_TO_CONTAINER))
                    .addMounts(mount("/shared", shared, MountPropagation.PROPAGATION_BIDIRECTIONAL))
                    .setLinux(
                        LinuxContainerConfig.newBuilder()
                            .setResources(
                                // No memory limit: the fixture's module is text, which cannot be
                                // capped (the end-to-end test sets one).
                                LinuxContainerResources.newBuilder()
                                    .setCpuPeriod(100000)
                                    .setCpuQuota(50000)
                                    .setCpuShares(512)
                                    .setOomScoreAdj(-997)
                                    .setCpusetCpus("0")
                                    .addHugepageLimits(
                                        HugepageLimit.newBuilder()
                                            .setPageSize("2MB")
                                            .setLimit(1L << 21))
                                    .putUnified("memory.high", "1000000"))))
            .build();
    String id = cri.createContainer(req).getContainerId();
    cri.startContainer(StartContainerRequest.newBuilder().setContainerId(id).build());

    ContainerStatusResponse r =
        cri.containerStatus(
            ContainerStatusRequest.newBuilder().setContainerId(id).setVerbose(true).build());
    ContainerStatus s = r.getStatus();
    assertEquals(CriFixture.REPO_DIGEST, s.getImageRef());
    assertEquals("sha256:" + "ab".repeat(32), s.getImageId());
    assertEquals(
        req.getConfig().getLinux().getResources(), s.getResources().getLinux(), "echoed resources");
    assertEquals(
        List.of(
            MountPropagation.PROPAGATION_PRIVATE,
            MountPropagation.PROPAGATION_HOST_TO_CONTAINER,
            MountPropagation.PROPAGATION_BIDIRECTIONAL),
        s.getMountsList().stream().map(Mount::getPropagation).toList());
    assertEquals(CriFixture.IMAGE, s.getImage().getImage());
    assertEquals(
        "sha256:" + "ab".repeat(32),
        cri.listContainers(ListContainersRequest.getDefaultInstance())
            .getContainers(0)
            .getImageRef(),
        "containerd lists the image id");

    JsonNode info = new ObjectMapper().readTree(r.getInfoOrThrow("info"));
    assertEquals(pod, info.get("sandboxID").asText());
    assertEquals(4242, info.get("pid").asInt());
    assertFalse(info.get("removing").asBoolean());
    assertEquals("krill", info.get("runtimeType").asText());
    assertTrue(info.has("snapshotKey") && info.has("snapshotter") && info.has("runtimeOptions"));
    assertEquals("app", info.at("/config/metadata/name").asText());
    assertEquals(50000, info.at("/config/linux/resources/cpu_quota").asLong());
    assertEquals(2, info.at("/config/mounts/2/propagation").asInt());
    JsonNode spec = info.get("runtimeSpec");
    assertEquals("/app.wat", spec.at("/process/args/0").asText());
    List<String> options = new ArrayList<>();
    spec.get("mounts").forEach(m -> options.add(m.get("options").toString()));
    assertEquals(
        List.of(
            "[\"rbind\",\"rprivate\",\"rw\"]",
            "[\"rbind\",\"rslave\",\"rw\"]",
            "[\"rbind\",\"rshared\",\"rw\"]"),
        options.subList(0, 3));

    // Updates merge into what the status echoes, as containerd merges them into the spec.
    cri.updateContainerResources(
        UpdateContainerResourcesRequest.newBuilder()
            .setContainerId(id)
            .setLinux(LinuxContainerResources.newBuilder().setCpuQuota(20000))
            .build());
    LinuxContainerResources updated = status(id).getResources().getLinux();
    assertEquals(20000, updated.getCpuQuota());
    assertEquals(100000, updated.getCpuPeriod());
    assertEquals("0", updated.getCpusetCpus());

    // Without verbose there is no info; an exit is a reason with no message.
    assertEquals(
        0,
        cri.containerStatus(ContainerStatusRequest.newBuilder().setContainerId(id).build())
            .getInfoCount());
    cri.stopContainer(StopContainerRequest.newBuilder().setContainerId(id).setTimeout(10).build());
    ContainerStatus exited = status(id);
    assertEquals("Error", exited.getReason());
    assertEquals("", exited.getMessage());
    assertEquals(
        0,
        new ObjectMapper()
            .readTree(
                cri.containerStatus(
                        ContainerStatusRequest.newBuilder()
                            .setContainerId(id)
                            .setVerbose(true)
                            .build())
                    .getInfoOrThrow("info"))
            .get("pid")
            .asInt());
    cri.removeContainer(RemoveContainerRequest.newBuilder().setContainerId(id).build());
  }

  @Test
  void createContainer_unknownPropagation_invalidArgumentNamingContainerAndMount() {
    String pod = runPod("web");
    CreateContainerRequest req = create(pod, "app", false);
    StatusRuntimeException e =
        fails(
            () ->
                cri.createContainer(
                    req.toBuilder()
                        .setConfig(
                            req.getConfig().toBuilder()
                                .addMounts(
                                    Mount.newBuilder()
                                        .setContainerPath("/data")
                                        .setHostPath(tmp.toString())
                                        .setPropagationValue(7)))
                        .build()));
    assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
    assertEquals(
        "container \"app\": mount /data: unknown propagation 7; use PROPAGATION_PRIVATE,"
            + " PROPAGATION_HOST_TO_CONTAINER or PROPAGATION_BIDIRECTIONAL",
        e.getStatus().getDescription());
  }

  @Test
  void podSandboxStatus_verboseInfoInContainerdsShape() throws Exception {
    String pod = runPod("web");
    PodSandboxStatusResponse r =
        cri.podSandboxStatus(
            PodSandboxStatusRequest.newBuilder().setPodSandboxId(pod).setVerbose(true).build());
    JsonNode info = new ObjectMapper().readTree(r.getInfoOrThrow("info"));
    assertEquals(0, info.get("pid").asInt());
    assertEquals("running", info.get("processStatus").asText());
    assertFalse(info.get("netNamespaceClosed").asBoolean());
    assertEquals("krill", info.get("runtimeType").asText());
    assertEquals("web", info.at("/config/metadata/name").asText());
    assertEquals("web", info.at("/config/hostname").asText());
    assertEquals(2, info.at("/config/linux/security_context/namespace_options/network").asInt());
    for (String key : List.of("image", "snapshotKey", "snapshotter", "runtimeHandler")) {
      assertTrue(info.has(key), key);
    }
    assertEquals(
        0,
        cri.podSandboxStatus(PodSandboxStatusRequest.newBuilder().setPodSandboxId(pod).build())
            .getInfoCount());
    cri.stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
    assertEquals(
        "stopped",
        new ObjectMapper()
            .readTree(
                cri.podSandboxStatus(
                        PodSandboxStatusRequest.newBuilder()
                            .setPodSandboxId(pod)
                            .setVerbose(true)
                            .build())
                    .getInfoOrThrow("info"))
            .get("processStatus")
            .asText());
  }

  private static Mount mount(String containerPath, Path host, MountPropagation p) {
    return Mount.newBuilder()
        .setContainerPath(containerPath)
        .setHostPath(host.toString())
        .setPropagation(p)
        .build();
  }

  private ContainerStatus status(String id) {
    return cri.containerStatus(ContainerStatusRequest.newBuilder().setContainerId(id).build())
        .getStatus();
  }

  private static StatusRuntimeException fails(Executable call) {
    return assertThrows(StatusRuntimeException.class, call);
  }
}
