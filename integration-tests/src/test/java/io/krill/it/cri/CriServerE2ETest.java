package io.krill.it.cri;

import static io.krill.it.harness.CriCalls.awaitExit;
import static io.krill.it.harness.CriCalls.expectError;
import static io.krill.it.harness.CriCalls.hostPod;
import static io.krill.it.harness.CriCalls.status;
import static io.krill.it.harness.KrillCli.krillOk;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.krill.cri.api.v1.*;
import io.krill.it.harness.CriClient;
import io.krill.it.harness.Host;
import io.krill.it.harness.KrillCriFixture;
import io.krill.it.harness.LocalRegistry;
import io.krill.it.harness.OciImage;
import io.krill.it.harness.TestPrograms;
import io.krill.it.harness.WasmLayerImages;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code krill cri} end to end, with no containerd: the built distribution's daemon on a private
 * socket, driven through the kubelet-side CRI client, images from a local registry, a host-network
 * pod.
 */
class CriServerE2ETest {
  @TempDir static Path tmp;
  static KrillCriFixture krill;
  static LocalRegistry registry;
  static String progsRef;

  @BeforeAll
  static void setUp() throws IOException {
    krill = KrillCriFixture.in(tmp).start();
    registry = krill.registry();
    Map<String, byte[]> progs = new LinkedHashMap<>();
    for (String m : List.of("hello.wasm", "sleep.wasm", "healthz.wasm")) {
      progs.put("/" + m, TestPrograms.bytes(m));
    }
    Path tar =
        OciImage.named("cri/progs:v1")
            .layer(progs)
            .entrypoint("/hello.wasm")
            .env("GREETING=hi")
            .writeTarball(tmp.resolve("progs.tar"));
    progsRef = registry.push(tar, "cri/progs:v1");
  }

  @AfterAll
  static void tearDown() {
    if (krill != null) {
      krill.close();
    }
  }

  static Path socket() {
    return krill.socket();
  }

  @Test
  void versionStatusAndUnimplemented_answerAsKubeletExpects() throws IOException {
    try (CriClient c = new CriClient(socket())) {
      VersionResponse v = c.runtime().version(VersionRequest.getDefaultInstance());
      assertEquals("0.1.0", v.getVersion());
      assertEquals("krill", v.getRuntimeName());
      assertEquals("0.1.0", v.getRuntimeVersion());
      assertEquals("v1", v.getRuntimeApiVersion());
      Map<String, RuntimeCondition> conditions = new LinkedHashMap<>();
      c.runtime()
          .status(StatusRequest.getDefaultInstance())
          .getStatus()
          .getConditionsList()
          .forEach(x -> conditions.put(x.getType(), x));
      assertTrue(conditions.get("RuntimeReady").getStatus());
      assertFalse(conditions.get("NetworkReady").getStatus());
      assertFalse(conditions.get("NetworkReady").getMessage().isEmpty());
      StatusRuntimeException e =
          expectError(() -> c.runtime().runtimeConfig(RuntimeConfigRequest.getDefaultInstance()));
      assertEquals(Status.Code.UNIMPLEMENTED, e.getStatus().getCode());
      // kubelet's pod CIDR is accepted (addresses come from the CNI config's IPAM).
      c.runtime()
          .updateRuntimeConfig(
              UpdateRuntimeConfigRequest.newBuilder()
                  .setRuntimeConfig(
                      RuntimeConfig.newBuilder()
                          .setNetworkConfig(NetworkConfig.newBuilder().setPodCidr("10.244.1.0/24")))
                  .build());
    }
    assertEquals(
        "rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(socket())));
  }

  @Test
  void images_pullStatusListFsInfoRemove() {
    try (CriClient c = new CriClient(socket())) {
      String name = registry.host() + "/cri/other:v1";
      Path tar =
          OciImage.named("cri/other:v1")
              .layer(Map.of("/hello.wasm", TestPrograms.bytes("hello.wasm")))
              .entrypoint("/hello.wasm")
              .writeTarball(tmp.resolve("other.tar"));
      registry.push(tar, "cri/other:v1");
      ImageSpec spec = ImageSpec.newBuilder().setImage(name).build();
      assertFalse(
          c.images()
              .imageStatus(ImageStatusRequest.newBuilder().setImage(spec).build())
              .hasImage());
      String id =
          c.images().pullImage(PullImageRequest.newBuilder().setImage(spec).build()).getImageRef();
      assertTrue(id.startsWith("sha256:"), id);
      Image img =
          c.images().imageStatus(ImageStatusRequest.newBuilder().setImage(spec).build()).getImage();
      assertEquals(id, img.getId());
      assertEquals(List.of(name), img.getRepoTagsList());
      assertTrue(img.getSize() > 0);
      assertTrue(
          c.images().listImages(ListImagesRequest.getDefaultInstance()).getImagesList().stream()
              .anyMatch(i -> i.getId().equals(id)));
      FilesystemUsage fs =
          c.images().imageFsInfo(ImageFsInfoRequest.getDefaultInstance()).getImageFilesystems(0);
      assertTrue(fs.getUsedBytes().getValue() >= img.getSize(), fs.toString());
      c.images().removeImage(RemoveImageRequest.newBuilder().setImage(spec).build());
      assertFalse(
          c.images()
              .imageStatus(ImageStatusRequest.newBuilder().setImage(spec).build())
              .hasImage());
    }
  }

  static String create(
      CriClient c, String pod, PodSandboxConfig config, String name, String... command) {
    ContainerConfig.Builder cc =
        ContainerConfig.newBuilder()
            .setMetadata(ContainerMetadata.newBuilder().setName(name))
            .setImage(ImageSpec.newBuilder().setImage(progsRef))
            .setLogPath(name + "/0.log")
            .putLabels("container", name);
    cc.addAllCommand(List.of(command));
    return c.runtime()
        .createContainer(
            CreateContainerRequest.newBuilder()
                .setPodSandboxId(pod)
                .setConfig(cc)
                .setSandboxConfig(config)
                .build())
        .getContainerId();
  }

  @Test
  void hostNetworkPod_containersRunLogExecStopAndSurviveRestart() throws Exception {
    Path logs = tmp.resolve("pod-logs");
    PodSandboxConfig config = hostPod("web", logs);
    String pod;
    try (CriClient c = new CriClient(socket())) {
      c.images()
          .pullImage(
              PullImageRequest.newBuilder()
                  .setImage(ImageSpec.newBuilder().setImage(progsRef))
                  .build());
      pod =
          c.runtime()
              .runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(config).build())
              .getPodSandboxId();
      PodSandboxStatus ps =
          c.runtime()
              .podSandboxStatus(PodSandboxStatusRequest.newBuilder().setPodSandboxId(pod).build())
              .getStatus();
      assertEquals(PodSandboxState.SANDBOX_READY, ps.getState());
      assertEquals(config.getLabelsMap(), ps.getLabelsMap());
      assertEquals(config.getAnnotationsMap(), ps.getAnnotationsMap());
      assertEquals(NamespaceMode.NODE, ps.getLinux().getNamespaces().getOptions().getNetwork());
      assertEquals(
          1,
          c.runtime()
              .listPodSandbox(
                  ListPodSandboxRequest.newBuilder()
                      .setFilter(PodSandboxFilter.newBuilder().putLabelSelector("app", "web"))
                      .build())
              .getItemsCount());
      assertEquals(
          0,
          c.runtime()
              .listPodSandbox(
                  ListPodSandboxRequest.newBuilder()
                      .setFilter(PodSandboxFilter.newBuilder().putLabelSelector("app", "other"))
                      .build())
              .getItemsCount());

      String hello = create(c, pod, config, "hello");
      assertEquals(ContainerState.CONTAINER_CREATED, status(c, hello).getState());
      c.runtime().startContainer(StartContainerRequest.newBuilder().setContainerId(hello).build());
      ContainerStatus done = awaitExit(c, hello);
      assertEquals(0, done.getExitCode());
      assertEquals("Completed", done.getReason());
      assertTrue(done.getStartedAt() > 0 && done.getFinishedAt() >= done.getStartedAt());
      Path log = logs.resolve("hello/0.log");
      assertEquals(log.toString(), done.getLogPath());
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (!(Files.exists(log) && Files.readString(log).contains("stdout F hello from krill"))) {
        if (System.nanoTime() > deadline) {
          fail(
              "no CRI log line in "
                  + log
                  + ": "
                  + (Files.exists(log) ? Files.readString(log) : "(none)"));
        }
        Host.sleep(50);
      }
      assertTrue(
          Files.readString(log)
              .matches("(?s)\\d{4}-\\d\\d-\\d\\dT[^ ]+Z stdout F hello from krill\n.*"),
          Files.readString(log));

      String sleeper = create(c, pod, config, "sleeper", "/sleep.wasm", "600");
      c.runtime()
          .startContainer(StartContainerRequest.newBuilder().setContainerId(sleeper).build());
      assertEquals(ContainerState.CONTAINER_RUNNING, status(c, sleeper).getState());
      ExecSyncResponse exec =
          c.runtime()
              .execSync(
                  ExecSyncRequest.newBuilder()
                      .setContainerId(sleeper)
                      .addCmd("/healthz.wasm#healthz")
                      .setTimeout(10)
                      .build());
      assertEquals(0, exec.getExitCode());
      assertEquals("ok\n", exec.getStdout().toStringUtf8());
      ContainerStats stats =
          c.runtime()
              .containerStats(ContainerStatsRequest.newBuilder().setContainerId(sleeper).build())
              .getStats();
      assertTrue(stats.getMemory().getWorkingSetBytes().getValue() > 0, stats.toString());
      assertEquals(
          1,
          c.runtime()
              .listContainerStats(ListContainerStatsRequest.getDefaultInstance())
              .getStatsCount());
      PodSandboxStats podStats =
          c.runtime()
              .podSandboxStats(PodSandboxStatsRequest.newBuilder().setPodSandboxId(pod).build())
              .getStats();
      assertEquals(1, podStats.getLinux().getContainersCount());
      assertEquals(1, podStats.getLinux().getProcess().getProcessCount().getValue());
      assertEquals(
          stats.getMemory().getWorkingSetBytes().getValue(),
          podStats.getLinux().getMemory().getWorkingSetBytes().getValue());
      assertEquals(config.getAnnotationsMap(), podStats.getAttributes().getAnnotationsMap());
      assertEquals(
          1,
          c.runtime()
              .listPodSandboxStats(
                  ListPodSandboxStatsRequest.newBuilder()
                      .setFilter(PodSandboxStatsFilter.newBuilder().putLabelSelector("app", "web"))
                      .build())
              .getStatsCount());
      assertEquals(
          1,
          c.runtime()
              .listContainers(
                  ListContainersRequest.newBuilder()
                      .setFilter(
                          ContainerFilter.newBuilder()
                              .setState(
                                  ContainerStateValue.newBuilder()
                                      .setState(ContainerState.CONTAINER_RUNNING)))
                      .build())
              .getContainersCount());
      StatusRuntimeException inUse =
          expectError(
              () ->
                  c.images()
                      .removeImage(
                          RemoveImageRequest.newBuilder()
                              .setImage(ImageSpec.newBuilder().setImage(progsRef))
                              .build()));
      assertEquals(Status.Code.FAILED_PRECONDITION, inUse.getStatus().getCode());

      c.runtime()
          .stopContainer(
              StopContainerRequest.newBuilder().setContainerId(sleeper).setTimeout(2).build());
      ContainerStatus stopped = status(c, sleeper);
      assertEquals(ContainerState.CONTAINER_EXITED, stopped.getState());
      assertEquals(143, stopped.getExitCode());
      assertEquals("Error", stopped.getReason());

      String longRunner = create(c, pod, config, "left-running", "/sleep.wasm", "600");
      c.runtime()
          .startContainer(StartContainerRequest.newBuilder().setContainerId(longRunner).build());
      c.runtime()
          .removeContainer(RemoveContainerRequest.newBuilder().setContainerId(hello).build());
      assertEquals(
          2,
          c.runtime()
              .listContainers(
                  ListContainersRequest.newBuilder()
                      .setFilter(ContainerFilter.newBuilder().setPodSandboxId(pod))
                      .build())
              .getContainersCount());
    }

    krill.restartDaemon();
    try (CriClient c = new CriClient(socket())) {
      PodSandboxStatus ps =
          c.runtime()
              .podSandboxStatus(PodSandboxStatusRequest.newBuilder().setPodSandboxId(pod).build())
              .getStatus();
      assertEquals(config.getAnnotationsMap(), ps.getAnnotationsMap());
      List<Container> left =
          c.runtime()
              .listContainers(ListContainersRequest.getDefaultInstance())
              .getContainersList();
      assertEquals(2, left.size());
      for (Container k : left) {
        ContainerStatus s = status(c, k.getId());
        assertEquals(ContainerState.CONTAINER_EXITED, s.getState());
        if (k.getMetadata().getName().equals("left-running")) {
          assertEquals("KrillRestarted", s.getReason());
        }
      }
      assertTrue(
          c.images()
              .imageStatus(
                  ImageStatusRequest.newBuilder()
                      .setImage(ImageSpec.newBuilder().setImage(progsRef))
                      .build())
              .hasImage());
      c.runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
      assertEquals(
          PodSandboxState.SANDBOX_NOTREADY,
          c.runtime()
              .podSandboxStatus(PodSandboxStatusRequest.newBuilder().setPodSandboxId(pod).build())
              .getStatus()
              .getState());
      c.runtime()
          .removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
      assertEquals(
          0,
          c.runtime().listPodSandbox(ListPodSandboxRequest.getDefaultInstance()).getItemsCount());
      assertEquals(
          0,
          c.runtime()
              .listContainers(ListContainersRequest.getDefaultInstance())
              .getContainersCount());
      c.images()
          .removeImage(
              RemoveImageRequest.newBuilder()
                  .setImage(ImageSpec.newBuilder().setImage(progsRef))
                  .build());
    }
  }

  /**
   * As containerd, and as critest (docs/conformance.md) checks: ImageStatus reports the config's
   * user, an exec runs with the container's environment, and StopContainer of a container that does
   * not exist succeeds.
   */
  @Test
  void imageUser_execEnvironment_andStopOfAnUnknownContainer_asContainerd() {
    String ref =
        registry.push(
            OciImage.named("cri/env:v1")
                .layer(
                    Map.of(
                        "/sleep.wasm", TestPrograms.bytes("sleep.wasm"),
                        "/args.wasm", TestPrograms.bytes("args.wasm")))
                .entrypoint("/sleep.wasm")
                .env("GREETING=hi")
                .user("1002:users")
                .writeTarball(tmp.resolve("env.tar")),
            "cri/env:v1");
    PodSandboxConfig config =
        hostPod("env", tmp.resolve("env-logs")).toBuilder().setHostname("env-host").build();
    try (CriClient c = new CriClient(socket())) {
      ImageSpec spec = ImageSpec.newBuilder().setImage(ref).build();
      c.images().pullImage(PullImageRequest.newBuilder().setImage(spec).build());
      Image img =
          c.images().imageStatus(ImageStatusRequest.newBuilder().setImage(spec).build()).getImage();
      assertEquals(1002, img.getUid().getValue(), img.toString());
      assertEquals("", img.getUsername());

      String pod =
          c.runtime()
              .runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(config).build())
              .getPodSandboxId();
      String id =
          c.runtime()
              .createContainer(
                  CreateContainerRequest.newBuilder()
                      .setPodSandboxId(pod)
                      .setConfig(
                          ContainerConfig.newBuilder()
                              .setMetadata(ContainerMetadata.newBuilder().setName("env"))
                              .setImage(spec)
                              .addCommand("/sleep.wasm")
                              .addArgs("60")
                              .addEnvs(KeyValue.newBuilder().setKey("FROM_POD_SPEC").setValue("1"))
                              .setLogPath("env.log"))
                      .setSandboxConfig(config)
                      .build())
              .getContainerId();
      c.runtime().startContainer(StartContainerRequest.newBuilder().setContainerId(id).build());
      ExecSyncResponse exec =
          c.runtime()
              .execSync(
                  ExecSyncRequest.newBuilder()
                      .setContainerId(id)
                      .addCmd("/args.wasm")
                      .setTimeout(10)
                      .build());
      assertEquals(0, exec.getExitCode(), exec.getStderr().toStringUtf8());
      List<String> out = List.of(exec.getStdout().toStringUtf8().split("\n"));
      assertTrue(out.contains("env:HOSTNAME=env-host"), out.toString());
      assertTrue(out.contains("env:GREETING=hi"), "the image's variable: " + out);
      assertTrue(out.contains("env:FROM_POD_SPEC=1"), "the container's variable: " + out);

      c.runtime()
          .stopContainer(
              StopContainerRequest.newBuilder()
                  .setContainerId(UUID.randomUUID().toString())
                  .build());

      c.runtime()
          .removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
      c.images().removeImage(RemoveImageRequest.newBuilder().setImage(spec).build());
    }
  }

  @Test
  void wasmLayerImage_runsItsModuleFromTheLayer() throws IOException {
    String ref = registry.host() + "/cri/w2o:v1";
    krillOk(
        "image",
        "push",
        WasmLayerImages.wasmToOci(tmp.resolve("w2o"), ref, TestPrograms.bytes("hello.wasm"))
            .toString(),
        ref,
        "--plain-http");
    Path logs = tmp.resolve("w2o-logs");
    PodSandboxConfig config = hostPod("w2o", logs);
    try (CriClient c = new CriClient(socket())) {
      c.images()
          .pullImage(
              PullImageRequest.newBuilder().setImage(ImageSpec.newBuilder().setImage(ref)).build());
      String pod =
          c.runtime()
              .runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(config).build())
              .getPodSandboxId();
      String id =
          c.runtime()
              .createContainer(
                  CreateContainerRequest.newBuilder()
                      .setPodSandboxId(pod)
                      .setConfig(
                          ContainerConfig.newBuilder()
                              .setMetadata(ContainerMetadata.newBuilder().setName("w"))
                              .setImage(ImageSpec.newBuilder().setImage(ref))
                              .setLogPath("w.log"))
                      .setSandboxConfig(config)
                      .build())
              .getContainerId();
      c.runtime().startContainer(StartContainerRequest.newBuilder().setContainerId(id).build());
      ContainerStatus done = awaitExit(c, id);
      assertEquals(0, done.getExitCode(), done.toString());
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (!Files.readString(logs.resolve("w.log")).contains("stdout F hello from krill")) {
        if (System.nanoTime() > deadline) {
          fail("no log line: " + Files.readString(logs.resolve("w.log")));
        }
        Host.sleep(50);
      }
      c.runtime()
          .removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
      c.images()
          .removeImage(
              RemoveImageRequest.newBuilder()
                  .setImage(ImageSpec.newBuilder().setImage(ref))
                  .build());
    }
  }

  @Test
  void wasmLayerImage_execNamesTheModuleAsTheContainerDoes() throws IOException {
    String ref = registry.host() + "/cri/w2o-sleep:v1";
    krillOk(
        "image",
        "push",
        WasmLayerImages.wasmToOci(tmp.resolve("w2o-sleep"), ref, TestPrograms.bytes("sleep.wasm"))
            .toString(),
        ref,
        "--plain-http");
    PodSandboxConfig config = hostPod("w2o-exec", tmp.resolve("w2o-exec-logs"));
    try (CriClient c = new CriClient(socket())) {
      c.images()
          .pullImage(
              PullImageRequest.newBuilder().setImage(ImageSpec.newBuilder().setImage(ref)).build());
      String pod =
          c.runtime()
              .runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(config).build())
              .getPodSandboxId();
      String id =
          c.runtime()
              .createContainer(
                  CreateContainerRequest.newBuilder()
                      .setPodSandboxId(pod)
                      .setConfig(
                          ContainerConfig.newBuilder()
                              .setMetadata(ContainerMetadata.newBuilder().setName("w"))
                              .setImage(ImageSpec.newBuilder().setImage(ref))
                              .setLogPath("w.log")
                              .addCommand("/app.wasm")
                              .addArgs("600"))
                      .setSandboxConfig(config)
                      .build())
              .getContainerId();
      c.runtime().startContainer(StartContainerRequest.newBuilder().setContainerId(id).build());
      // The rootfs is empty: the exec reaches the layer by the container's own module name.
      ExecSyncResponse exec =
          c.runtime()
              .execSync(
                  ExecSyncRequest.newBuilder()
                      .setContainerId(id)
                      .addCmd("/app.wasm")
                      .addCmd("0")
                      .setTimeout(10)
                      .build());
      assertEquals(0, exec.getExitCode(), exec.getStderr().toStringUtf8());
      assertEquals("slept\n", exec.getStdout().toStringUtf8());
      StatusRuntimeException typo =
          expectError(
              () ->
                  c.runtime()
                      .execSync(
                          ExecSyncRequest.newBuilder()
                              .setContainerId(id)
                              .addCmd("/other.wasm")
                              .setTimeout(10)
                              .build()));
      assertTrue(
          typo.getStatus().getDescription().contains("/other.wasm not found"),
          typo.getStatus().getDescription());
      assertEquals(ContainerState.CONTAINER_RUNNING, status(c, id).getState());
      c.runtime()
          .removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
      c.images()
          .removeImage(
              RemoveImageRequest.newBuilder()
                  .setImage(ImageSpec.newBuilder().setImage(ref))
                  .build());
    }
  }

  @Test
  void twentyPodsInParallel_eachRunsItsContainer_andExecSyncTimesOut() throws Exception {
    try (CriClient c = new CriClient(socket())) {
      c.images()
          .pullImage(
              PullImageRequest.newBuilder()
                  .setImage(ImageSpec.newBuilder().setImage(progsRef))
                  .build());
      List<CompletableFuture<String>> pods = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        String name = "par-" + i;
        pods.add(
            CompletableFuture.supplyAsync(
                () -> {
                  PodSandboxConfig config = hostPod(name, tmp.resolve("par-logs"));
                  String pod =
                      c.runtime()
                          .runPodSandbox(
                              RunPodSandboxRequest.newBuilder().setConfig(config).build())
                          .getPodSandboxId();
                  String id = create(c, pod, config, name, "/sleep.wasm", "600");
                  c.runtime()
                      .startContainer(
                          StartContainerRequest.newBuilder().setContainerId(id).build());
                  return pod;
                }));
      }
      List<String> ids = pods.stream().map(CompletableFuture::join).toList();
      assertEquals(
          20,
          c.runtime()
              .listContainers(
                  ListContainersRequest.newBuilder()
                      .setFilter(
                          ContainerFilter.newBuilder()
                              .setState(
                                  ContainerStateValue.newBuilder()
                                      .setState(ContainerState.CONTAINER_RUNNING)))
                      .build())
              .getContainersCount());
      String first =
          c.runtime()
              .listContainers(
                  ListContainersRequest.newBuilder()
                      .setFilter(ContainerFilter.newBuilder().setPodSandboxId(ids.get(0)))
                      .build())
              .getContainers(0)
              .getId();
      long t0 = System.nanoTime();
      StatusRuntimeException e =
          expectError(
              () ->
                  c.runtime()
                      .execSync(
                          ExecSyncRequest.newBuilder()
                              .setContainerId(first)
                              .addCmd("/sleep.wasm")
                              .addCmd("600")
                              .setTimeout(1)
                              .build()));
      assertEquals(Status.Code.DEADLINE_EXCEEDED, e.getStatus().getCode(), e.toString());
      assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(10));
      ids.parallelStream()
          .forEach(
              pod -> {
                c.runtime()
                    .stopPodSandbox(
                        StopPodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
                c.runtime()
                    .removePodSandbox(
                        RemovePodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
              });
      assertEquals(
          0,
          c.runtime()
              .listContainers(ListContainersRequest.getDefaultInstance())
              .getContainersCount());
    }
  }

  @Test
  void reopenContainerLog_afterRotation_laterOutputInNewFile_andMemoryCapFixed() throws Exception {
    Path logs = tmp.resolve("rotate-logs");
    PodSandboxConfig config = hostPod("rotate", logs);
    try (CriClient c = new CriClient(socket())) {
      c.images()
          .pullImage(
              PullImageRequest.newBuilder()
                  .setImage(ImageSpec.newBuilder().setImage(progsRef))
                  .build());
      String pod =
          c.runtime()
              .runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(config).build())
              .getPodSandboxId();
      String id = create(c, pod, config, "rot", "/sleep.wasm", "2");
      c.runtime().startContainer(StartContainerRequest.newBuilder().setContainerId(id).build());
      Path log = logs.resolve("rot/0.log");
      Files.move(log, logs.resolve("rot/0.log.1"));
      c.runtime()
          .reopenContainerLog(ReopenContainerLogRequest.newBuilder().setContainerId(id).build());
      assertEquals(0, awaitExit(c, id).getExitCode());
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (!(Files.exists(log) && Files.readString(log).contains("stdout F slept"))) {
        if (System.nanoTime() > deadline) {
          fail("no output in the reopened log " + log);
        }
        Host.sleep(50);
      }
      assertEquals("", Files.readString(logs.resolve("rot/0.log.1")));
      StatusRuntimeException notRunning =
          expectError(
              () ->
                  c.runtime()
                      .reopenContainerLog(
                          ReopenContainerLogRequest.newBuilder().setContainerId(id).build()));
      assertEquals(Status.Code.FAILED_PRECONDITION, notRunning.getStatus().getCode());

      String capped =
          c.runtime()
              .createContainer(
                  CreateContainerRequest.newBuilder()
                      .setPodSandboxId(pod)
                      .setConfig(
                          ContainerConfig.newBuilder()
                              .setMetadata(ContainerMetadata.newBuilder().setName("cap"))
                              .setImage(ImageSpec.newBuilder().setImage(progsRef))
                              .addCommand("/sleep.wasm")
                              .setLinux(
                                  LinuxContainerConfig.newBuilder()
                                      .setResources(
                                          LinuxContainerResources.newBuilder()
                                              .setMemoryLimitInBytes(64 << 20))))
                      .setSandboxConfig(config)
                      .build())
              .getContainerId();
      c.runtime()
          .updateContainerResources(
              UpdateContainerResourcesRequest.newBuilder()
                  .setContainerId(capped)
                  .setLinux(LinuxContainerResources.newBuilder().setMemoryLimitInBytes(64 << 20))
                  .build());
      StatusRuntimeException resize =
          expectError(
              () ->
                  c.runtime()
                      .updateContainerResources(
                          UpdateContainerResourcesRequest.newBuilder()
                              .setContainerId(capped)
                              .setLinux(
                                  LinuxContainerResources.newBuilder()
                                      .setMemoryLimitInBytes(128 << 20))
                              .build()));
      assertEquals(Status.Code.FAILED_PRECONDITION, resize.getStatus().getCode());
      c.runtime()
          .removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
    }
  }

  @Test
  void hostileImage_pathTraversalLayer_refusedAndNothingWritten() throws IOException {
    Path tar =
        OciImage.named("cri/evil:v1")
            .layer(Map.of("/../../escape.txt", "x".getBytes()))
            .entrypoint("/hello.wasm")
            .writeTarball(tmp.resolve("evil.tar"));
    String ref = registry.push(tar, "cri/evil:v1");
    try (CriClient c = new CriClient(socket())) {
      ImageSpec spec = ImageSpec.newBuilder().setImage(ref).build();
      StatusRuntimeException e =
          expectError(
              () -> c.images().pullImage(PullImageRequest.newBuilder().setImage(spec).build()));
      assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), e.toString());
      assertFalse(
          c.images()
              .imageStatus(ImageStatusRequest.newBuilder().setImage(spec).build())
              .hasImage());
    }
    Path images = tmp.resolve("root/images");
    assertFalse(
        Files.exists(images.resolve("escape.txt"))
            || Files.exists(tmp.resolve("root/escape.txt"))
            || Files.exists(tmp.resolve("escape.txt")));
    try (var left = Files.list(images.resolve("rootfs"))) {
      assertTrue(
          left.noneMatch(p -> p.getFileName().toString().startsWith(".tmp")),
          "no half-unpacked tree");
    }
  }

  @Test
  void getContainerEvents_streamsCreatedStartedStoppedDeleted_withStatuses() throws Exception {
    PodSandboxConfig config = hostPod("events", tmp.resolve("event-logs"));
    try (CriClient c = new CriClient(socket());
        CriClient events = new CriClient(socket())) {
      c.images()
          .pullImage(
              PullImageRequest.newBuilder()
                  .setImage(ImageSpec.newBuilder().setImage(progsRef))
                  .build());
      String pod =
          c.runtime()
              .runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(config).build())
              .getPodSandboxId();
      Iterator<ContainerEventResponse> stream =
          events
              .runtime(Duration.ofSeconds(60))
              .getContainerEvents(GetEventsRequest.getDefaultInstance());
      // The stream is subscribed once the server has run the call; give it that moment.
      Host.sleep(500);
      String id = create(c, pod, config, "ev");
      c.runtime().startContainer(StartContainerRequest.newBuilder().setContainerId(id).build());
      awaitExit(c, id);
      c.runtime().removeContainer(RemoveContainerRequest.newBuilder().setContainerId(id).build());
      List<ContainerEventType> seen = new ArrayList<>();
      while (seen.size() < 4 && stream.hasNext()) {
        ContainerEventResponse e = stream.next();
        if (!e.getContainerId().equals(id)) {
          continue;
        }
        seen.add(e.getContainerEventType());
        assertEquals(pod, e.getPodSandboxStatus().getId());
        assertTrue(e.getCreatedAt() > 0);
        if (e.getContainerEventType() == ContainerEventType.CONTAINER_STOPPED_EVENT) {
          ContainerStatus s =
              e.getContainersStatusesList().stream()
                  .filter(x -> x.getId().equals(id))
                  .findFirst()
                  .orElseThrow();
          assertEquals(ContainerState.CONTAINER_EXITED, s.getState());
          assertEquals(0, s.getExitCode());
        }
      }
      assertEquals(
          List.of(
              ContainerEventType.CONTAINER_CREATED_EVENT,
              ContainerEventType.CONTAINER_STARTED_EVENT,
              ContainerEventType.CONTAINER_STOPPED_EVENT,
              ContainerEventType.CONTAINER_DELETED_EVENT),
          seen);
      c.runtime()
          .removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
    }
  }
}
