package io.krill.it.cri;

import static io.krill.it.harness.CriCalls.awaitExit;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.krill.cri.api.v1.*;
import io.krill.it.harness.CriClient;
import io.krill.it.harness.Host;
import io.krill.it.harness.KrillCriFixture;
import io.krill.it.harness.OciImage;
import io.krill.it.harness.Pod;
import io.krill.it.harness.TestPrograms;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What ContainerStatus, ImageStatus and PodSandboxStatus report through {@code krill cri}, field by
 * field in containerd's shapes (containerd's CRI server: imageRef is the repo digest, resources
 * echo the request, mounts keep their propagation, verbose {@code info} is one JSON document), and
 * what each mount propagation lets a guest see of a host mount made after its start.
 */
class CriStatusParityE2ETest {
  private static final ObjectMapper JSON = new ObjectMapper();
  @TempDir static Path tmp;
  static KrillCriFixture krill;
  static String ref;

  @BeforeAll
  static void setUp() throws IOException {
    krill = KrillCriFixture.in(tmp).start();
    Path tar =
        OciImage.named("cri/files:v1")
            .layer(Map.of("/files.wasm", TestPrograms.bytes("files.wasm")))
            .entrypoint("/files.wasm")
            .writeTarball(tmp.resolve("files.tar"));
    ref = krill.registry().push(tar, "cri/files:v1");
    krill.pull(ref);
  }

  @AfterAll
  static void tearDown() {
    if (krill != null) {
      krill.close();
    }
  }

  @Test
  void statusFieldsAndPropagation_asContainerdReportsThem() throws Exception {
    Path logs = tmp.resolve("logs");
    Pod pod = krill.runHostPod("parity", logs);
    Path src = Files.createDirectories(tmp.resolve("volume"));
    Path sub = Files.createDirectories(src.resolve("sub"));
    CriClient c = krill.cri();
    LinuxContainerResources resources =
        LinuxContainerResources.newBuilder()
            .setMemoryLimitInBytes(64L << 20)
            .setCpuPeriod(100_000)
            .setCpuQuota(50_000)
            .setCpuShares(256)
            .setOomScoreAdj(500)
            .setCpusetCpus("0")
            .putUnified("memory.high", "60000000")
            .build();
    ContainerConfig config =
        ContainerConfig.newBuilder()
            .setMetadata(ContainerMetadata.newBuilder().setName("probe"))
            .setImage(ImageSpec.newBuilder().setImage(ref))
            .addAllArgs(
                List.of(
                    "await",
                    "/private/go",
                    "/private/sub/probe",
                    "/slave/sub/probe",
                    "/shared/sub/probe"))
            .addMounts(mount("/private", src, MountPropagation.PROPAGATION_PRIVATE))
            .addMounts(mount("/slave", src, MountPropagation.PROPAGATION_HOST_TO_CONTAINER))
            .addMounts(mount("/shared", src, MountPropagation.PROPAGATION_BIDIRECTIONAL))
            .setLinux(LinuxContainerConfig.newBuilder().setResources(resources))
            .setLogPath("probe.log")
            .build();
    String id =
        c.runtime()
            .createContainer(
                CreateContainerRequest.newBuilder()
                    .setPodSandboxId(pod.id())
                    .setConfig(config)
                    .setSandboxConfig(pod.config())
                    .build())
            .getContainerId();
    c.runtime().startContainer(StartContainerRequest.newBuilder().setContainerId(id).build());

    // Running: the verbose info, with the guest's pid and a parseable runtime spec.
    ContainerStatusResponse running =
        c.runtime()
            .containerStatus(
                ContainerStatusRequest.newBuilder().setContainerId(id).setVerbose(true).build());
    ContainerStatus s = running.getStatus();
    assertEquals(ContainerState.CONTAINER_RUNNING, s.getState());
    String repoDigest =
        c.images()
            .imageStatus(
                ImageStatusRequest.newBuilder()
                    .setImage(ImageSpec.newBuilder().setImage(ref))
                    .build())
            .getImage()
            .getRepoDigests(0);
    assertTrue(repoDigest.matches(".+/cri/files@sha256:[0-9a-f]{64}"), repoDigest);
    assertEquals(repoDigest, s.getImageRef(), "imageRef is the repo digest");
    assertTrue(s.getImageId().startsWith("sha256:"), s.getImageId());
    assertEquals(resources, s.getResources().getLinux(), "resources echo what was asked");
    assertEquals(
        List.of(
            MountPropagation.PROPAGATION_PRIVATE,
            MountPropagation.PROPAGATION_HOST_TO_CONTAINER,
            MountPropagation.PROPAGATION_BIDIRECTIONAL),
        s.getMountsList().stream().map(Mount::getPropagation).toList());
    JsonNode info = JSON.readTree(running.getInfoOrThrow("info"));
    for (String key :
        List.of(
            "sandboxID",
            "pid",
            "removing",
            "snapshotKey",
            "snapshotter",
            "runtimeType",
            "runtimeOptions",
            "config",
            "runtimeSpec")) {
      assertTrue(info.has(key), "info lacks " + key + ": " + info);
    }
    assertEquals(pod.id(), info.get("sandboxID").asText());
    assertTrue(info.get("pid").asLong() > 0, "a running container has the daemon's pid: " + info);
    assertEquals("probe", info.at("/config/metadata/name").asText());
    assertEquals(1, info.at("/config/mounts/1/propagation").asInt());
    JsonNode spec = info.get("runtimeSpec");
    assertEquals(64L << 20, spec.at("/linux/resources/memory/limit").asLong());
    List<String> propagation = new ArrayList<>();
    spec.get("mounts").forEach(m -> propagation.add(m.get("options").get(1).asText()));
    assertEquals(List.of("rprivate", "rslave", "rshared"), propagation.subList(0, 3));
    assertEquals(
        repoDigest,
        c
            .runtime()
            .listContainers(ListContainersRequest.getDefaultInstance())
            .getContainersList()
            .stream()
            .filter(x -> x.getId().equals(id))
            .findFirst()
            .orElseThrow()
            .getImageRef());

    // A host mount under the volume after start: seen through HOST_TO_CONTAINER and
    // BIDIRECTIONAL, not through PRIVATE.
    assertEquals(0, Host.run("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", sub.toString()));
    ContainerStatus exited;
    try {
      Files.writeString(sub.resolve("probe"), "mounted later\n");
      Files.writeString(src.resolve("go"), "");
      exited = awaitExit(c, id);
    } finally {
      assertEquals(0, Host.run("umount", sub.toString()));
    }
    assertEquals(0, exited.getExitCode(), exited.toString());
    assertEquals("Completed", exited.getReason());
    assertEquals("", exited.getMessage(), "containerd leaves an exit's message empty");
    assertEquals(
        List.of("absent", "mounted later", "mounted later"), stdout(logs.resolve("probe.log")));

    // An update is merged into what the status echoes.
    c.runtime()
        .updateContainerResources(
            UpdateContainerResourcesRequest.newBuilder()
                .setContainerId(id)
                .setLinux(LinuxContainerResources.newBuilder().setCpuShares(512))
                .build());
    assertEquals(
        resources.toBuilder().setCpuShares(512).build(),
        c.runtime()
            .containerStatus(ContainerStatusRequest.newBuilder().setContainerId(id).build())
            .getStatus()
            .getResources()
            .getLinux());

    // ImageStatus and PodSandboxStatus verbose info.
    JsonNode image =
        JSON.readTree(
            c.images()
                .imageStatus(
                    ImageStatusRequest.newBuilder()
                        .setImage(ImageSpec.newBuilder().setImage(ref))
                        .setVerbose(true)
                        .build())
                .getInfoOrThrow("info"));
    assertEquals("/files.wasm", image.at("/imageSpec/config/Entrypoint/0").asText());
    assertTrue(image.get("chainID").asText().startsWith("sha256:"), image.toString());
    JsonNode sandbox =
        JSON.readTree(
            c.runtime()
                .podSandboxStatus(
                    PodSandboxStatusRequest.newBuilder()
                        .setPodSandboxId(pod.id())
                        .setVerbose(true)
                        .build())
                .getInfoOrThrow("info"));
    for (String key :
        List.of(
            "pid",
            "processStatus",
            "netNamespaceClosed",
            "image",
            "snapshotKey",
            "snapshotter",
            "runtimeHandler",
            "runtimeType",
            "runtimeOptions",
            "config")) {
      assertTrue(sandbox.has(key), "sandbox info lacks " + key + ": " + sandbox);
    }
    assertEquals("running", sandbox.get("processStatus").asText());
    assertEquals("parity", sandbox.at("/config/metadata/name").asText());
    assertFalse(sandbox.get("netNamespaceClosed").asBoolean());

    c.runtime().removeContainer(RemoveContainerRequest.newBuilder().setContainerId(id).build());
    assertEquals(List.of(), Host.mountsUnder(krill.root().resolve("mounts")), "private copies");
    assertEquals(List.of(), Host.mountsUnder(src), "mounts under the volume");
    assertTrue(Files.exists(src.resolve("go")), "removing the container kept the volume's files");
  }

  private static Mount mount(String containerPath, Path host, MountPropagation p) {
    return Mount.newBuilder()
        .setContainerPath(containerPath)
        .setHostPath(host.toString())
        .setPropagation(p)
        .build();
  }

  /** The stdout lines of a CRI log, waiting (bounded) for the guest's last line to land. */
  private static List<String> stdout(Path log) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    List<String> lines = List.of();
    while (System.nanoTime() < deadline) {
      lines =
          Files.readAllLines(log).stream()
              .filter(l -> l.contains(" stdout F "))
              .map(l -> l.substring(l.indexOf(" stdout F ") + " stdout F ".length()))
              .toList();
      if (lines.size() >= 3) {
        return lines;
      }
      Host.sleep(50);
    }
    return lines;
  }
}
