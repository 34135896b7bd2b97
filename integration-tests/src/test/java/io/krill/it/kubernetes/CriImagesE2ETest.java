package io.krill.it.kubernetes;

import static io.krill.it.harness.KrillCli.krillOk;
import static io.krill.it.harness.KrillTasks.*;
import static io.krill.it.harness.Kubelet.*;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.grpc.StatusRuntimeException;
import io.krill.cri.api.v1.ContainerStatus;
import io.krill.cri.api.v1.CreateContainerRequest;
import io.krill.cri.api.v1.ImageSpec;
import io.krill.cri.api.v1.PullImageRequest;
import io.krill.cri.api.v1.StartContainerRequest;
import io.krill.it.harness.ContainerdVersion;
import io.krill.it.harness.CriContainerd;
import io.krill.it.harness.MultiPlatformImages;
import io.krill.it.harness.Pod;
import io.krill.it.harness.Result;
import io.krill.it.harness.TestPrograms;
import io.krill.it.harness.WasmLayerImages;
import io.krill.oci.image.MediaTypes;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Every wasm image shape through the CRI, as kubelet pulls and runs it: PullImage, then a krill pod
 * whose container has no command of its own. One containerd per version; the outcomes are the table
 * in docs/images.md.
 */
class CriImagesE2ETest {
  private static final String OK = "EXITED 0, hello from krill";

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void pullAndRun_eachShape_asDocumented(ContainerdVersion v, @TempDir Path tmp)
      throws IOException {
    byte[] hello = Files.readAllBytes(TestPrograms.path("hello.wasm"));
    try (CriContainerd c = CriContainerd.start(v)) {
      String repo = c.registryHost() + "/cri-shapes/";
      Map<String, String> refs = new LinkedHashMap<>();
      refs.put("tar", build(tmp, repo + "tar:v1", false));
      refs.put(
          "runwasi",
          push(
              WasmLayerImages.runwasi(
                  tmp.resolve("rw"),
                  repo + "runwasi:v1",
                  MediaTypes.WASM_COMPONENT_LAYER_V0,
                  hello,
                  "hello.wasm"),
              repo + "runwasi:v1"));
      refs.put("artifact", build(tmp, repo + "artifact:v1", true));
      refs.put(
          "index",
          push(MultiPlatformImages.withWasmLayer(tmp.resolve("ix"), hello), repo + "index:v1"));

      Pod pod = runPod(c, "shapes");
      Map<String, String> outcomes = new LinkedHashMap<>();
      refs.forEach((shape, ref) -> outcomes.put(shape, outcome(c, pod, shape, ref)));
      // The artifact's config holds no command for CRI to find; a pod spec's command supplies one.
      outcomes.put(
          "artifact-command",
          outcome(c, pod, "artifact-command", refs.get("artifact"), "hello.wasm"));
      // The CRI pulls only the host's entry of an index; a node can hold the rest if ctr pulls it
      // first.
      Result all =
          c.containerd()
              .ctr(
                  "-n",
                  CriContainerd.NAMESPACE,
                  "images",
                  "pull",
                  "--plain-http",
                  "--all-platforms",
                  refs.get("index"));
      outcomes.put(
          "index-prepulled",
          "ctr pull exit "
              + all.exitCode()
              + "; "
              + started(c, pod, "index-prepulled", refs.get("index")));
      assertEquals(expected(v), outcomes);
      // RemovePodSandbox removes the pod's containers too.
      teardown(c, pod);
      assertEquals(List.of(), krillTasks(c));
    }
  }

  private static Map<String, String> expected(ContainerdVersion v) {
    String unpack =
        "PullImage: failed to pull and unpack image \"REF\": failed to unpack image on snapshotter"
            + " overlayfs: mismatched image rootfs and manifest layers";
    String index =
        "StartContainer: failed to create containerd task: failed to create shim task: container ID:"
            + " image REF has a wasip1/wasm entry, but containerd holds only another platform's content: pull it"
            + " with `ctr images pull --platform wasip1/wasm REF` (or --all-platforms)"
            + (v == ContainerdVersion.V2_1 ? "" : ": invalid argument");
    Map<String, String> m = new LinkedHashMap<>();
    m.put("tar", OK);
    if (v == ContainerdVersion.V1_6) {
      // 1.6.20's unpacker counts wasm layers against diff_ids (containerd PR 9142 came in 1.6.25).
      m.put("runwasi", unpack);
      m.put("artifact", unpack);
      m.put("index", index);
      m.put("artifact-command", unpack);
      m.put("index-prepulled", "ctr pull exit 1; " + OK);
    } else {
      m.put("runwasi", OK);
      m.put(
          "artifact",
          "CreateContainer: failed to generate container \"ID\" spec: failed to generate spec:"
              + " no command specified");
      m.put("index", index);
      m.put("artifact-command", OK);
      m.put("index-prepulled", "ctr pull exit 0; " + OK);
    }
    return m;
  }

  /**
   * What kubelet would see: the PullImage error, the StartContainer error, or the exit and CRI log.
   */
  private static String outcome(
      CriContainerd c, Pod pod, String shape, String ref, String... command) {
    try {
      c.cri()
          .images()
          .pullImage(
              PullImageRequest.newBuilder().setImage(ImageSpec.newBuilder().setImage(ref)).build());
    } catch (StatusRuntimeException e) {
      return "PullImage: " + e.getStatus().getDescription().replace(ref, "REF");
    }
    return started(c, pod, shape, ref, command);
  }

  private static String started(
      CriContainerd c, Pod pod, String shape, String ref, String... command) {
    String id = "ID";
    try {
      id =
          c.cri()
              .runtime()
              .createContainer(
                  CreateContainerRequest.newBuilder()
                      .setPodSandboxId(pod.id())
                      .setConfig(containerConfig(shape, ref, command))
                      .setSandboxConfig(pod.config())
                      .build())
              .getContainerId();
    } catch (StatusRuntimeException e) {
      return "CreateContainer: "
          + e.getStatus().getDescription().replaceAll("\"[0-9a-f]{64}\"", "\"ID\"");
    }
    try {
      c.cri()
          .runtime()
          .startContainer(StartContainerRequest.newBuilder().setContainerId(id).build());
    } catch (StatusRuntimeException e) {
      return "StartContainer: "
          + e.getStatus().getDescription().replace(id, "ID").replace(ref, "REF");
    }
    ContainerStatus s = awaitExited(c, id);
    try {
      String log =
          String.join("\n", Files.readAllLines(logFile(pod, shape), StandardCharsets.UTF_8));
      return "EXITED "
          + s.getExitCode()
          + (log.endsWith("stdout F hello from krill") ? ", hello from krill" : ", log: " + log);
    } catch (IOException e) {
      return "EXITED " + s.getExitCode() + ", no log: " + e;
    }
  }

  private static String build(Path tmp, String ref, boolean artifact) {
    Path tar = tmp.resolve(ref.replaceAll("[/:]", "_") + ".tar");
    List<String> args = new ArrayList<>(List.of("image", "build", "-t", ref, "-o", tar.toString()));
    if (artifact) {
      args.add("--artifact");
    }
    args.add(TestPrograms.path("hello.wasm").toString());
    krillOk(args.toArray(String[]::new));
    return push(tar, ref);
  }

  private static String push(Path layout, String ref) {
    krillOk("image", "push", layout.toString(), ref, "--plain-http");
    return ref;
  }
}
