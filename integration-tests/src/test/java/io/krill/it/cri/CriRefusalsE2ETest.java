package io.krill.it.cri;

import static io.krill.it.harness.CriCalls.expectError;
import static io.krill.it.harness.CriCalls.hostPod;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.krill.cri.api.v1.ContainerConfig;
import io.krill.cri.api.v1.ContainerMetadata;
import io.krill.cri.api.v1.CreateContainerRequest;
import io.krill.cri.api.v1.ImageSpec;
import io.krill.cri.api.v1.Int64Value;
import io.krill.cri.api.v1.LinuxContainerConfig;
import io.krill.cri.api.v1.LinuxContainerSecurityContext;
import io.krill.cri.api.v1.ListContainersRequest;
import io.krill.cri.api.v1.ListPodSandboxRequest;
import io.krill.cri.api.v1.PodSandbox;
import io.krill.cri.api.v1.PodSandboxConfig;
import io.krill.cri.api.v1.PodSandboxFilter;
import io.krill.cri.api.v1.PullImageRequest;
import io.krill.cri.api.v1.RemoveContainerRequest;
import io.krill.cri.api.v1.RemovePodSandboxRequest;
import io.krill.cri.api.v1.RunPodSandboxRequest;
import io.krill.cri.api.v1.StatusRequest;
import io.krill.cri.api.v1.StopPodSandboxRequest;
import io.krill.cri.api.v1.VersionRequest;
import io.krill.it.harness.CriClient;
import io.krill.it.harness.KrillCriFixture;
import io.krill.it.harness.OciImage;
import io.krill.it.harness.TestPrograms;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code krill cri} refuses what containerd's CRI plugin refuses, with containerd's codes: a second
 * pod or container under a name already reserved (also when the requests race, as a kubelet
 * retrying a timed-out call makes them, and after a restart), an unknown runtime handler, a group
 * without a user, a seccomp profile that is not {@code localhost/}; a pull from a registry that
 * cannot be reached says which and why; and the daemon's log stays free of netty's channel option
 * warnings.
 */
class CriRefusalsE2ETest {
  @TempDir static Path tmp;
  static KrillCriFixture krill;
  static String imageRef;

  @BeforeAll
  static void setUp() throws IOException {
    krill = KrillCriFixture.in(tmp).start();
    Path tar =
        OciImage.named("cri/hello:v1")
            .layer(Map.of("/hello.wasm", TestPrograms.bytes("hello.wasm")))
            .entrypoint("/hello.wasm")
            .writeTarball(tmp.resolve("hello.tar"));
    imageRef = krill.registry().push(tar, "cri/hello:v1");
    krill.pull(imageRef);
  }

  @AfterAll
  static void tearDown() {
    if (krill != null) {
      krill.close();
    }
  }

  @Test
  void runPodSandbox_sameMetadataTwice_evenRacing_oneReadyPod() throws Exception {
    String first = krill.runHostPod("twice", tmp.resolve("logs")).id();
    StatusRuntimeException e =
        expectError(() -> run(krill.cri(), hostPod("twice", tmp.resolve("logs")), ""));
    assertEquals(Status.Code.FAILED_PRECONDITION, e.getStatus().getCode());
    assertTrue(
        e.getStatus()
            .getDescription()
            .contains("name \"twice_default_uid-twice_0\" is reserved for \"" + first + "\""),
        e.getStatus().getDescription());

    // Eight clients at once, as retries of one call: one pod, seven refusals.
    PodSandboxConfig racing = hostPod("racing", tmp.resolve("logs"));
    ExecutorService pool = Executors.newFixedThreadPool(8);
    List<Future<String>> calls = new ArrayList<>();
    try {
      for (int i = 0; i < 8; i++) {
        calls.add(
            pool.submit(
                () -> {
                  try (CriClient c = new CriClient(krill.socket())) {
                    return run(c, racing, "");
                  } catch (StatusRuntimeException refused) {
                    assertEquals(Status.Code.FAILED_PRECONDITION, refused.getStatus().getCode());
                    return null;
                  }
                }));
      }
      List<String> ids = new ArrayList<>();
      for (Future<String> f : calls) {
        String id = f.get(120, TimeUnit.SECONDS);
        if (id != null) {
          ids.add(id);
        }
      }
      assertEquals(1, ids.size(), ids.toString());
      assertEquals(List.of(ids.get(0)), podsNamed("racing"));
      krill
          .cri()
          .runtime()
          .stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(ids.get(0)).build());
      krill
          .cri()
          .runtime()
          .removePodSandbox(
              RemovePodSandboxRequest.newBuilder().setPodSandboxId(ids.get(0)).build());
    } finally {
      pool.shutdownNow();
    }
    assertEquals(List.of(first), podsNamed("twice"));
  }

  @Test
  void createContainer_sameNameTwice_refused_alsoAfterRestart_untilRemoved() throws Exception {
    PodSandboxConfig config = hostPod("names", tmp.resolve("logs"));
    String pod = krill.runHostPod("names", tmp.resolve("logs")).id();
    String first = create(krill.cri(), pod, config, "app", null);
    StatusRuntimeException e = expectError(() -> create(krill.cri(), pod, config, "app", null));
    assertEquals(Status.Code.FAILED_PRECONDITION, e.getStatus().getCode());
    assertTrue(
        e.getStatus()
            .getDescription()
            .contains("name \"app_names_default_uid-names_0\" is reserved for \"" + first + "\""),
        e.getStatus().getDescription());

    krill.restartDaemon();
    try (CriClient c = new CriClient(krill.socket())) {
      StatusRuntimeException again = expectError(() -> create(c, pod, config, "app", null));
      assertEquals(Status.Code.FAILED_PRECONDITION, again.getStatus().getCode());
      assertEquals(List.of(first), containersOf(c, pod));
      c.runtime()
          .removeContainer(RemoveContainerRequest.newBuilder().setContainerId(first).build());
      String second = create(c, pod, config, "app", null);
      assertEquals(List.of(second), containersOf(c, pod));
    }
  }

  @Test
  void unknownHandler_groupWithoutUser_seccompWithoutLocalhost_unknownLikeContainerd() {
    CriClient c = krill.cri();
    StatusRuntimeException handler =
        expectError(() -> run(c, hostPod("handler", tmp.resolve("logs")), "runc"));
    assertEquals(Status.Code.UNKNOWN, handler.getStatus().getCode());
    assertTrue(
        handler.getStatus().getDescription().contains("no runtime for \"runc\" is configured"),
        handler.getStatus().getDescription());
    assertEquals(List.of(), podsNamed("handler"));
    assertEquals(
        List.of("", "krill"),
        c.runtime().status(StatusRequest.getDefaultInstance()).getRuntimeHandlersList().stream()
            .map(h -> h.getName())
            .toList());

    PodSandboxConfig config = hostPod("secure", tmp.resolve("logs"));
    String pod = krill.runHostPod("secure", tmp.resolve("logs")).id();
    StatusRuntimeException group =
        expectError(
            () ->
                create(
                    c,
                    pod,
                    config,
                    "grouped",
                    LinuxContainerSecurityContext.newBuilder()
                        .setRunAsGroup(Int64Value.newBuilder().setValue(1000))
                        .build()));
    assertEquals(Status.Code.UNKNOWN, group.getStatus().getCode());
    assertTrue(
        group.getStatus().getDescription().contains("user group \"1000\" is specified without user")
            && group.getStatus().getDescription().contains("grouped"),
        group.getStatus().getDescription());

    StatusRuntimeException seccomp =
        expectError(
            () ->
                create(
                    c,
                    pod,
                    config,
                    "filtered",
                    LinuxContainerSecurityContext.newBuilder()
                        .setSeccompProfilePath("/var/lib/kubelet/seccomp/audit.json")
                        .build()));
    assertEquals(Status.Code.UNKNOWN, seccomp.getStatus().getCode());
    assertTrue(
        seccomp
            .getStatus()
            .getDescription()
            .contains("invalid profile \"/var/lib/kubelet/seccomp/audit.json\""),
        seccomp.getStatus().getDescription());
    assertEquals(List.of(), containersOf(c, pod));

    create(
        c,
        pod,
        config,
        "allowed",
        LinuxContainerSecurityContext.newBuilder()
            .setRunAsUser(Int64Value.newBuilder().setValue(1000))
            .setRunAsGroup(Int64Value.newBuilder().setValue(1000))
            .setSeccompProfilePath("localhost/audit.json")
            .build());
    assertEquals(1, containersOf(c, pod).size());
  }

  @Test
  void pullImage_unreachableRegistry_namesItAndTheCause() throws IOException {
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    String ref = "127.0.0.1:" + port + "/cri/hello:v1";
    StatusRuntimeException e =
        expectError(
            () ->
                krill
                    .cri()
                    .images()
                    .pullImage(
                        PullImageRequest.newBuilder()
                            .setImage(ImageSpec.newBuilder().setImage(ref))
                            .build()));
    assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
    String m = e.getStatus().getDescription();
    assertFalse(m.contains("null"), m);
    assertTrue(m.contains("http://127.0.0.1:" + port), m);
    assertTrue(m.contains("connection refused"), m);
    assertTrue(m.contains("check that the registry runs"), m);
  }

  @Test
  void manyConnections_daemonLogHasNoChannelOptionWarning() throws IOException {
    for (int i = 0; i < 10; i++) {
      try (CriClient c = new CriClient(krill.socket())) {
        assertEquals(
            "krill", c.runtime().version(VersionRequest.getDefaultInstance()).getRuntimeName());
      }
    }
    String log = Files.readString(krill.log());
    assertTrue(log.contains("krill"), "the daemon log is empty: " + krill.log());
    assertFalse(log.contains("SO_KEEPALIVE"), log);
    assertFalse(log.contains("Unknown channel option"), log);
  }

  private static String run(CriClient c, PodSandboxConfig config, String handler) {
    return c.runtime()
        .runPodSandbox(
            RunPodSandboxRequest.newBuilder().setConfig(config).setRuntimeHandler(handler).build())
        .getPodSandboxId();
  }

  private static String create(
      CriClient c,
      String pod,
      PodSandboxConfig config,
      String name,
      LinuxContainerSecurityContext security) {
    ContainerConfig.Builder cc =
        ContainerConfig.newBuilder()
            .setMetadata(ContainerMetadata.newBuilder().setName(name))
            .setImage(ImageSpec.newBuilder().setImage(imageRef))
            .setLogPath(name + ".log");
    if (security != null) {
      cc.setLinux(LinuxContainerConfig.newBuilder().setSecurityContext(security));
    }
    return c.runtime()
        .createContainer(
            CreateContainerRequest.newBuilder()
                .setPodSandboxId(pod)
                .setConfig(cc)
                .setSandboxConfig(config)
                .build())
        .getContainerId();
  }

  private static List<String> podsNamed(String name) {
    return krill
        .cri()
        .runtime()
        .listPodSandbox(
            ListPodSandboxRequest.newBuilder()
                .setFilter(PodSandboxFilter.newBuilder().putLabelSelector("app", name))
                .build())
        .getItemsList()
        .stream()
        .map(PodSandbox::getId)
        .toList();
  }

  private static List<String> containersOf(CriClient c, String pod) {
    return c
        .runtime()
        .listContainers(ListContainersRequest.getDefaultInstance())
        .getContainersList()
        .stream()
        .filter(x -> x.getPodSandboxId().equals(pod))
        .map(x -> x.getId())
        .toList();
  }
}
