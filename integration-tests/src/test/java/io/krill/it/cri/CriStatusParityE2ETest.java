package io.krill.it.cri;

import static io.krill.it.harness.CriCalls.awaitExit;
import static io.krill.it.harness.KrillCli.krillOk;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.krill.cri.api.v1.*;
import io.krill.it.harness.ContainerdVersion;
import io.krill.it.harness.CriClient;
import io.krill.it.harness.CriContainerd;
import io.krill.it.harness.Host;
import io.krill.it.harness.KrillCriFixture;
import io.krill.it.harness.Kubelet;
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
    assertEquals(
        resources.toBuilder().setMemorySwapLimitInBytes(64L << 20).build(),
        s.getResources().getLinux(),
        "resources echo what was asked, with containerd's no-swap default");
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
        s.getImageId(),
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
        resources.toBuilder().setCpuShares(512).setMemorySwapLimitInBytes(64L << 20).build(),
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

  /**
   * The same pull and CreateContainer against containerd 1.7's CRI (RuntimeClass handler krill) and
   * against krill cri: every field containerd's CRI server computes itself, without the runtime,
   * must come out the same.
   */
  @Test
  void runtimeIndependentFields_sameAsContainerd17() throws Exception {
    Path volume = Files.createDirectories(tmp.resolve("shared-volume"));
    Files.writeString(volume.resolve("in.txt"), "same file\n");
    ContainerConfig.Builder cfg =
        ContainerConfig.newBuilder()
            .setMetadata(ContainerMetadata.newBuilder().setName("same"))
            .addAllArgs(List.of("read", "/data/in.txt"))
            .addMounts(mount("/data", volume, MountPropagation.PROPAGATION_PRIVATE))
            .putLabels("io.kubernetes.container.name", "same")
            .setLinux(
                LinuxContainerConfig.newBuilder()
                    .setResources(
                        LinuxContainerResources.newBuilder()
                            .setMemoryLimitInBytes(64L << 20)
                            .setCpuPeriod(100_000)
                            .setCpuQuota(50_000)
                            .setCpuShares(256)
                            .setOomScoreAdj(500)))
            .setLogPath("same.log");

    Observed k;
    {
      Pod pod = krill.runHostPod("same", tmp.resolve("same-logs"));
      k = observe(krill.cri(), pod, ref, cfg);
      krill
          .cri()
          .runtime()
          .removeContainer(
              RemoveContainerRequest.newBuilder().setContainerId(k.status.getId()).build());
    }
    Observed d;
    try (CriContainerd c = CriContainerd.start(ContainerdVersion.V1_7)) {
      String dref = c.registryHost() + "/cri/files:v1";
      krillOk("image", "push", tmp.resolve("files.tar").toString(), dref, "--plain-http");
      Kubelet.pull(c, dref);
      Pod pod = Kubelet.runPod(c, "same");
      d = observe(c.cri(), pod, dref, cfg);
      Kubelet.teardown(c, pod, d.status.getId());
      c.assertNoLeaks();
    }

    String form = ".+/cri/files@sha256:[0-9a-f]{64}";
    assertTrue(d.status.getImageRef().matches(form), d.status.getImageRef());
    assertTrue(k.status.getImageRef().matches(form), k.status.getImageRef());
    assertEquals(d.repoDigest, d.status.getImageRef());
    assertEquals(k.repoDigest, k.status.getImageRef());
    assertEquals(
        d.status.getImageRef().replaceFirst("^[^/]+/", ""),
        k.status.getImageRef().replaceFirst("^[^/]+/", ""),
        "same image, same manifest digest");
    // image_id is newer than containerd 1.7, which leaves it empty; krill fills it (the config
    // digest), as later containerd does.
    assertEquals("", d.status.getImageId());
    assertTrue(k.status.getImageId().startsWith("sha256:"), k.status.getImageId());
    assertEquals(
        d.status.getImage().getImage().replaceFirst("^[^/]+/", ""),
        k.status.getImage().getImage().replaceFirst("^[^/]+/", ""),
        "status image: the image's tag");
    assertTrue(d.listed.getImageRef().startsWith("sha256:"), d.listed.toString());
    assertEquals(d.listed.getImageRef(), k.listed.getImageRef(), "listed by image id");
    assertEquals(d.status.getResources(), k.status.getResources());
    assertEquals(d.status.getMountsList(), k.status.getMountsList());
    assertEquals(d.status.getExitCode(), k.status.getExitCode());
    assertEquals(d.status.getReason(), k.status.getReason());
    assertEquals(d.status.getMessage(), k.status.getMessage());
    assertEquals(d.status.getLogPath().isEmpty(), k.status.getLogPath().isEmpty());

    assertEquals(names(d.info), names(k.info), "container info keys");
    assertEquals(
        withoutRegistry(d.info.get("config")),
        withoutRegistry(k.info.get("config")),
        "the config as containerd shows it");
    assertEquals(d.info.get("removing"), k.info.get("removing"));
    assertEquals(
        volumeOptions(d.info.get("runtimeSpec"), volume),
        volumeOptions(k.info.get("runtimeSpec"), volume));

    assertEquals(names(d.imageInfo), names(k.imageInfo), "image info keys");
    assertEquals(d.imageInfo.get("chainID"), k.imageInfo.get("chainID"));
    assertEquals(d.imageInfo.get("imageSpec"), k.imageInfo.get("imageSpec"));

    List<String> sandboxKeys = names(k.sandboxInfo);
    assertTrue(
        names(d.sandboxInfo).containsAll(sandboxKeys),
        "krill's sandbox info keys " + sandboxKeys + " are containerd's " + names(d.sandboxInfo));
  }

  private record Observed(
      ContainerStatus status,
      Container listed,
      String repoDigest,
      JsonNode info,
      JsonNode imageInfo,
      JsonNode sandboxInfo) {}

  private static Observed observe(CriClient c, Pod pod, String image, ContainerConfig.Builder cfg)
      throws IOException {
    ContainerConfig config = cfg.clone().setImage(ImageSpec.newBuilder().setImage(image)).build();
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
    awaitExit(c, id);
    ContainerStatusResponse r =
        c.runtime()
            .containerStatus(
                ContainerStatusRequest.newBuilder().setContainerId(id).setVerbose(true).build());
    ImageStatusResponse img =
        c.images()
            .imageStatus(
                ImageStatusRequest.newBuilder()
                    .setImage(ImageSpec.newBuilder().setImage(image))
                    .setVerbose(true)
                    .build());
    PodSandboxStatusResponse sb =
        c.runtime()
            .podSandboxStatus(
                PodSandboxStatusRequest.newBuilder()
                    .setPodSandboxId(pod.id())
                    .setVerbose(true)
                    .build());
    Container listed =
        c.runtime()
            .listContainers(
                ListContainersRequest.newBuilder()
                    .setFilter(ContainerFilter.newBuilder().setId(id))
                    .build())
            .getContainers(0);
    return new Observed(
        r.getStatus(),
        listed,
        img.getImage().getRepoDigests(0),
        JSON.readTree(r.getInfoOrThrow("info")),
        JSON.readTree(img.getInfoOrThrow("info")),
        JSON.readTree(sb.getInfoOrThrow("info")));
  }

  /** The JSON text with each local registry's host:port taken out (each side has its own). */
  private static String withoutRegistry(JsonNode n) {
    return n.toString().replaceAll("127\\.0\\.0\\.1:[0-9]+/", "");
  }

  private static List<String> names(JsonNode n) {
    List<String> out = new ArrayList<>();
    n.fieldNames().forEachRemaining(out::add);
    return out.stream().sorted().toList();
  }

  /** The runtime spec's options of the mount whose source is {@code volume}. */
  private static JsonNode volumeOptions(JsonNode spec, Path volume) {
    for (JsonNode m : spec.get("mounts")) {
      if (m.path("destination").asText().equals("/data")) {
        return m.get("options");
      }
    }
    return null;
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
