package io.krill.it.shim;

import static io.krill.it.harness.KrillCli.*;
import static io.krill.it.harness.KrillTasks.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.krill.it.harness.Containerd;
import io.krill.it.harness.ContainerdPerClass;
import io.krill.it.harness.ContainerdVersion;
import io.krill.it.harness.LocalRegistry;
import io.krill.it.harness.Result;
import io.krill.it.harness.TestPrograms;
import io.krill.it.harness.WasmLayerImages;
import io.krill.oci.image.Digest;
import io.krill.oci.image.MediaTypes;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@code krill image build → krill image push --plain-http → ctr images pull --plain-http → ctr
 * run} through a local distribution registry, per wasm shape and containerd version; skopeo
 * interop; hostile inputs. What containerd itself refuses is asserted with its exact message (and
 * written down in docs/images.md).
 */
class ImageE2ETest {
  @RegisterExtension
  static final ContainerdPerClass<Containerd> containerds = ContainerdPerClass.withKrill();

  private static final String NS = "krill-image";
  @TempDir static Path shared;
  static LocalRegistry registry;

  @BeforeAll
  static void startRegistry() throws IOException {
    registry = new LocalRegistry(Files.createDirectories(shared.resolve("registry")));
  }

  @AfterAll
  static void stopRegistry() {
    registry.close();
  }

  /** Builds and pushes hello.wasm in the given shape; returns the reference. */
  private static String buildAndPush(Path dir, String name, boolean artifact) {
    String ref = registry.host() + "/" + name;
    Path tar = dir.resolve(name.replaceAll("[/:]", "_") + ".tar");
    List<String> build =
        new ArrayList<>(List.of("image", "build", "-t", ref, "-o", tar.toString()));
    if (artifact) {
      build.add("--artifact");
    }
    build.add(TestPrograms.path("hello.wasm").toString());
    krillOk(build.toArray(String[]::new));
    krillOk("image", "push", tar.toString(), ref, "--plain-http");
    return ref;
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void tarLayerImage_buildPushPullRun_printsHello(ContainerdVersion v, @TempDir Path tmp) {
    String ref = buildAndPush(tmp, "wasm/hello-" + v.label() + ":v1", false);
    Containerd c = containerds.get(v);
    c.ok("-n", NS, "images", "pull", "--plain-http", ref);
    assertEquals(HELLO, runOk(c, NS, ref, id("img")).stdout());
    // The image says wasip1/wasm; asking for that platform explicitly works as well.
    assertEquals(HELLO, runOk(c, NS, "--platform", "wasip1/wasm", ref, id("img")).stdout());
    c.assertNoLeaks();
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void cncfArtifact_containerdRefusesOrCtrRefuses_exactErrors(
      ContainerdVersion v, @TempDir Path tmp) {
    String ref = buildAndPush(tmp, "wasm/art-" + v.label() + ":v1", true);
    Containerd c = containerds.get(v);
    Result pull = c.ctr("-n", NS, "images", "pull", "--plain-http", ref);
    if (v == ContainerdVersion.V1_6) {
      // containerd before 1.6.25 cannot unpack an image whose layers are not tars (containerd PR
      // 9142).
      assertFalse(pull.ok(), pull.toString());
      assertTrue(
          pull.stderr().contains("ctr: mismatched image rootfs and manifest layers"),
          pull.toString());
    } else {
      assertTrue(pull.ok(), pull.toString());
      Result run = run(c, NS, ref, id("art"));
      assertFalse(run.ok(), run.toString());
      assertTrue(
          run.stderr()
              .contains("ctr: unknown image config media type application/vnd.wasm.config.v0+json"),
          run.toString());
    }
    c.assertNoLeaks();
  }

  /** Pushes an OCI layout directory; returns the reference. */
  private static String push(Path layout, String ref) {
    krillOk("image", "push", layout.toString(), ref, "--plain-http");
    return ref;
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(
      value = ContainerdVersion.class,
      names = {"V1_7", "V2_1"})
  void wasmLayerImages_moduleReadFromContentStore_cachedByDigest(
      ContainerdVersion v, @TempDir Path tmp) throws IOException {
    String repo = registry.host() + "/wasm-layers-" + v.label() + "/";
    byte[] args = WasmLayerImages.unique(Files.readAllBytes(TestPrograms.path("args.wasm")));
    byte[] hello = Files.readAllBytes(TestPrograms.path("hello.wasm"));
    String runwasi =
        push(
            WasmLayerImages.runwasi(
                tmp.resolve("rw"),
                repo + "runwasi:v1",
                MediaTypes.WASM_COMPONENT_LAYER_V0,
                args,
                "args.wasm"),
            repo + "runwasi:v1");
    String contentLayer =
        push(
            WasmLayerImages.runwasi(
                tmp.resolve("cl"),
                repo + "content-layer:v1",
                MediaTypes.WASM_CONTENT_LAYER_V1,
                hello,
                "hello.wasm"),
            repo + "content-layer:v1");
    String wasmToOci =
        push(
            WasmLayerImages.wasmToOci(tmp.resolve("w2o"), repo + "w2o:v1", hello), repo + "w2o:v1");
    byte[] script = "#!/bin/sh\necho hi\n".getBytes(StandardCharsets.UTF_8);
    String notWasm =
        push(
            WasmLayerImages.runwasi(
                tmp.resolve("sh"),
                repo + "not-wasm:v1",
                MediaTypes.WASM_COMPONENT_LAYER_V0,
                script,
                "app.wasm"),
            repo + "not-wasm:v1");
    byte[] component = {0, 'a', 's', 'm', 0x0d, 0, 1, 0};
    String componentImage =
        push(
            WasmLayerImages.runwasi(
                tmp.resolve("cmp"),
                repo + "component:v1",
                MediaTypes.WASM_COMPONENT_LAYER_V0,
                component,
                "app.wasm"),
            repo + "component:v1");
    Containerd c = containerds.get(v);
    for (String ref : List.of(runwasi, contentLayer, wasmToOci, notWasm, componentImage)) {
      c.ok("-n", NS, "images", "pull", "--plain-http", ref);
    }
    // runwasi's convention: process.args is the guest's argv. ctr's own arguments replace all of it
    // (the image's entrypoint included), so the first is argv[0].
    assertEquals(
        "arg[0]=prog\narg[1]=one\narg[2]=two words\n",
        argLines(runOk(c, NS, runwasi, id("rw"), "prog", "one", "two words").stdout()));
    assertEquals("arg[0]=args.wasm\n", argLines(runOk(c, NS, runwasi, id("rw")).stdout()));
    String digest = Digest.sha256(args).toString();
    String log = daemonLogs(c);
    assertEquals(
        1, count(log, "read " + digest + " (" + args.length + " bytes) from containerd"), log);
    assertTrue(log.contains("layer cache hit for " + digest), log);

    assertEquals(HELLO, runOk(c, NS, contentLayer, id("cl")).stdout());

    // wasm-to-oci's own config type stops ctr before any container exists, like the CNCF
    // artifact's.
    Result w2o = run(c, NS, wasmToOci, id("w2o"));
    assertFalse(w2o.ok(), w2o.toString());
    assertTrue(
        w2o.stderr()
            .contains("ctr: unknown image config media type application/vnd.wasm.config.v1+json"),
        w2o.toString());

    String bad = id("sh");
    Result sh = run(c, NS, notWasm, bad);
    assertFalse(sh.ok(), sh.toString());
    assertTrue(
        sh.stderr()
            .contains(
                "container "
                    + bad
                    + ": the wasm layer "
                    + Digest.sha256(script)
                    + " of image "
                    + notWasm
                    + " is not a WebAssembly module"),
        sh.toString());

    String cmp = id("cmp");
    Result comp = run(c, NS, componentImage, cmp);
    assertFalse(comp.ok(), comp.toString());
    assertTrue(comp.stderr().contains("container " + cmp + ": the wasm layer"), comp.toString());
    assertTrue(comp.stderr().contains("components are not supported"), comp.toString());

    // ctr run --config makes a container without an image, so there is no layer to read.
    String cfg = id("cfg");
    Path spec = tmp.resolve("spec.json");
    Files.writeString(
        spec,
        "{\"ociVersion\":\"1.0.2\",\"process\":{\"args\":[\"hello.wasm\"],\"cwd\":\"/\","
            + "\"env\":[\"PATH=/bin\"]},\"root\":{\"path\":\"rootfs\"},\"linux\":{}}");
    Result config = run(c, NS, "--config", spec.toString(), cfg);
    assertFalse(config.ok(), config.toString());
    assertTrue(
        config
            .stderr()
            .contains(
                "container "
                    + cfg
                    + ": module /hello.wasm not found in the container's"
                    + " root filesystem"),
        config.toString());
    c.assertNoLeaks();
  }

  private static String argLines(String stdout) {
    return stdout
        .lines()
        .filter(l -> l.startsWith("arg["))
        .map(l -> l + "\n")
        .reduce("", String::concat);
  }

  private static int count(String text, String what) {
    int n = 0;
    for (int i = text.indexOf(what); i >= 0; i = text.indexOf(what, i + 1)) {
      n++;
    }
    return n;
  }

  /** Every krill daemon log of this containerd (daemons come and go with the idle timeout). */
  private static String daemonLogs(Containerd c) throws IOException {
    StringBuilder b = new StringBuilder();
    try (var files = Files.walk(c.runDir())) {
      for (Path p :
          files
              .filter(f -> f.getFileName().toString().startsWith("daemon.log"))
              .sorted()
              .toList()) {
        b.append(Files.readString(p));
      }
    }
    return b.toString();
  }

  @Test
  void skopeo_copiesKrillImagesBothWays(@TempDir Path tmp) throws IOException {
    // skopeo → registry → krill pull
    Path built = tmp.resolve("art.tar");
    krillOk(
        "image",
        "build",
        "--artifact",
        "-t",
        "krill.test/art:1",
        "-o",
        built.toString(),
        TestPrograms.path("hello.wasm").toString());
    String viaSkopeo = registry.push(built, "skopeo/art:1");
    Path pulled = tmp.resolve("pulled.tar");
    krillOk("image", "pull", viaSkopeo, "-o", pulled.toString());
    Result inspect = krillOk("image", "inspect", pulled.toString());
    assertTrue(inspect.stdout().contains("wasm shape: CNCF_ARTIFACT"), inspect.stdout());
    // krill push → registry → skopeo copy into an OCI layout, then skopeo inspect of the registry
    // copy
    String ref = buildAndPush(tmp, "krill/img:1", false);
    Path layout = tmp.resolve("skopeo-layout");
    skopeo("copy", "--src-tls-verify=false", "docker://" + ref, "oci:" + layout + ":img");
    assertTrue(Files.isRegularFile(layout.resolve("index.json")));
    Result again = krillOk("image", "inspect", layout.toString());
    assertTrue(again.stdout().contains("wasm shape: TAR_LAYERS"), again.stdout());
    String raw = skopeo("inspect", "--raw", "--tls-verify=false", "docker://" + ref);
    assertTrue(raw.contains("application/vnd.oci.image.layer.v1.tar+gzip"), raw);
  }

  private static String skopeo(String... args) {
    List<String> cmd = new ArrayList<>(List.of("skopeo", "--insecure-policy"));
    cmd.addAll(List.of(args));
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
        fail(String.join(" ", cmd) + " failed:\n" + out);
      }
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  @Test
  void hostileInputs_preciseErrors(@TempDir Path tmp) throws IOException {
    Path tar = tmp.resolve("img.tar");
    krillOk(
        "image",
        "build",
        "-t",
        "krill.test/x:1",
        "-o",
        tmp.resolve("dir").toString(),
        TestPrograms.path("hello.wasm").toString());
    // Corrupt one blob of the layout: push must refuse before anything that depends on it is sent.
    Path blobs = tmp.resolve("dir/blobs/sha256");
    Path victim;
    try (var s = Files.list(blobs)) {
      victim =
          s.filter(
                  p -> {
                    try {
                      return Files.size(p) > 1000;
                    } catch (IOException e) {
                      throw new UncheckedIOException(e);
                    }
                  })
              .findFirst()
              .orElseThrow();
    }
    byte[] bytes = Files.readAllBytes(victim);
    bytes[bytes.length / 2] ^= 1;
    Files.write(victim, bytes);
    Result push =
        krill("image", "push", tmp.resolve("dir").toString(), registry.host() + "/hostile/x:1");
    assertEquals(1, push.exitCode(), push.toString());
    assertTrue(
        push.stderr().contains("blob digest mismatch: expected sha256:" + victim.getFileName()),
        push.toString());
    // Truncated blob.
    Files.write(victim, Arrays.copyOf(bytes, 100));
    push = krill("image", "push", tmp.resolve("dir").toString(), registry.host() + "/hostile/x:1");
    assertTrue(
        push.stderr().contains("is truncated: 100 of " + bytes.length + " bytes"), push.toString());
    // Not found in the registry.
    Result pull = krill("image", "pull", registry.host() + "/hostile/none:1", "-o", tar.toString());
    assertEquals(1, pull.exitCode());
    assertTrue(
        pull.stderr().contains("registry answered 404 (not found): MANIFEST_UNKNOWN"),
        pull.toString());
    assertFalse(Files.exists(tar));
  }
}
