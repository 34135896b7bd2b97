package io.krill.it.cri;

import static io.krill.it.harness.CriCalls.awaitExit;
import static io.krill.it.harness.CriCalls.expectError;
import static io.krill.it.harness.CriCalls.status;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.krill.cri.api.v1.*;
import io.krill.it.harness.CriClient;
import io.krill.it.harness.KrillCriFixture;
import io.krill.it.harness.LocalRegistry;
import io.krill.it.harness.OciImage;
import io.krill.it.harness.Pod;
import io.krill.it.harness.Tar;
import io.krill.it.harness.TestPrograms;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile and broken images through {@code krill cri}'s socket: each is pushed to a local registry
 * (or, where the registry cannot serve it, a fake one) and pulled with PullImage. Every refusal
 * must name the image and the offending entry or blob, say what to do, and leave the store exactly
 * as it was; a container started before keeps running and a good image pulled afterwards runs. One
 * daemon for the class, with a small image size limit so the gzip bomb stays cheap.
 */
class CriServerHostileImagesE2ETest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final long SIZE_LIMIT = 32L << 20;
  private static final AtomicInteger GOOD = new AtomicInteger();

  @TempDir static Path tmp;
  static KrillCriFixture krill;
  static LocalRegistry registry;
  static String progsRef;
  static PodSandboxConfig podConfig;
  static String pod;
  static String sleeper;

  @BeforeAll
  static void setUp() throws IOException {
    krill = KrillCriFixture.in(tmp).daemonOptions("--image-size-limit", "32M").start();
    registry = krill.registry();
    Map<String, byte[]> progs = new LinkedHashMap<>();
    for (String m : List.of("hello.wasm", "sleep.wasm", "healthz.wasm")) {
      progs.put("/" + m, TestPrograms.bytes(m));
    }
    progsRef =
        registry.push(
            OciImage.named("cri/progs:v1")
                .layer(progs)
                .entrypoint("/hello.wasm")
                .writeTarball(tmp.resolve("progs.tar")),
            "cri/progs:v1");
    krill.pull(progsRef);
    Pod p = krill.runHostPod("hostile", tmp.resolve("logs"));
    podConfig = p.config();
    pod = p.id();
    sleeper = create(krill.cri(), "sleeper", progsRef, "/sleep.wasm", "600");
    krill
        .cri()
        .runtime()
        .startContainer(StartContainerRequest.newBuilder().setContainerId(sleeper).build());
  }

  @AfterAll
  static void tearDown() {
    if (krill != null) {
      krill.close();
    }
  }

  /**
   * After every test: the store holds exactly what its index names, and everything else still
   * works.
   */
  @AfterEach
  void storeConsistent_sleeperRunning_goodImageRuns() throws IOException {
    assertStoreConsistent();
    try (CriClient c = new CriClient(socket())) {
      assertEquals(
          ContainerState.CONTAINER_RUNNING,
          status(c, sleeper).getState(),
          "the sleeper still runs");
      ExecSyncResponse exec =
          c.runtime()
              .execSync(
                  ExecSyncRequest.newBuilder()
                      .setContainerId(sleeper)
                      .addCmd("/healthz.wasm#healthz")
                      .setTimeout(30)
                      .build());
      assertEquals("ok\n", exec.getStdout().toStringUtf8(), "the sleeper's rootfs is intact");
      int n = GOOD.incrementAndGet();
      String good =
          registry.push(
              OciImage.named("cri/good:" + n)
                  .layer(
                      Map.of(
                          "/hello.wasm",
                          TestPrograms.bytes("hello.wasm"),
                          "/n.txt",
                          Integer.toString(n).getBytes(StandardCharsets.UTF_8)))
                  .entrypoint("/hello.wasm")
                  .writeTarball(tmp.resolve("good-" + n + ".tar")),
              "cri/good:" + n);
      pull(c, good);
      runToCompletion(c, "good-" + n, good);
      remove(c, good);
    }
    assertStoreConsistent();
  }

  static Path socket() {
    return krill.socket();
  }

  static Path root() {
    return krill.root();
  }

  static String pull(CriClient c, String ref) {
    return c.images()
        .pullImage(
            PullImageRequest.newBuilder().setImage(ImageSpec.newBuilder().setImage(ref)).build())
        .getImageRef();
  }

  static void remove(CriClient c, String ref) {
    c.images()
        .removeImage(
            RemoveImageRequest.newBuilder().setImage(ImageSpec.newBuilder().setImage(ref)).build());
  }

  static boolean present(CriClient c, String ref) {
    return c.images()
        .imageStatus(
            ImageStatusRequest.newBuilder().setImage(ImageSpec.newBuilder().setImage(ref)).build())
        .hasImage();
  }

  static String create(CriClient c, String name, String image, String... command) {
    return c.runtime()
        .createContainer(
            CreateContainerRequest.newBuilder()
                .setPodSandboxId(pod)
                .setConfig(
                    ContainerConfig.newBuilder()
                        .setMetadata(ContainerMetadata.newBuilder().setName(name))
                        .setImage(ImageSpec.newBuilder().setImage(image))
                        .setLogPath(name + ".log")
                        .addAllCommand(List.of(command)))
                .setSandboxConfig(podConfig)
                .build())
        .getContainerId();
  }

  static void runToCompletion(CriClient c, String name, String image) {
    String id = create(c, name, image);
    c.runtime().startContainer(StartContainerRequest.newBuilder().setContainerId(id).build());
    ContainerStatus done = awaitExit(c, id);
    assertEquals(0, done.getExitCode(), done.toString());
    c.runtime().removeContainer(RemoveContainerRequest.newBuilder().setContainerId(id).build());
  }

  /**
   * Pulls {@code ref}, expecting {@code code}; checks that the message names the image and holds
   * each of {@code parts}, and that the image is absent afterwards.
   */
  static String refused(String ref, Status.Code code, String... parts) {
    try (CriClient c = new CriClient(socket())) {
      StatusRuntimeException e = expectError(() -> pull(c, ref));
      String message = e.getStatus().getDescription();
      assertEquals(code, e.getStatus().getCode(), e.toString());
      assertTrue(message.contains(ref), "names the image: " + message);
      for (String p : parts) {
        assertTrue(message.contains(p), "\"" + p + "\" in: " + message);
      }
      assertFalse(present(c, ref), "ImageStatus reports it absent");
      assertTrue(
          c.images().listImages(ListImagesRequest.getDefaultInstance()).getImagesList().stream()
              .noneMatch(i -> i.getRepoTagsList().contains(ref)));
      return message;
    }
  }

  static String push(String name, OciImage image) {
    return registry.push(
        image.writeTarball(tmp.resolve(name.replace('/', '_').replace(':', '_') + ".tar")), name);
  }

  static byte[] tar(TarBody body) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (Tar t = new Tar(bytes)) {
      body.write(t);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }

  @FunctionalInterface
  interface TarBody {
    void write(Tar t) throws IOException;
  }

  /** A layer whose first entries are harmless, so a refusal comes after something was unpacked. */
  static OciImage hostile(String name, TarBody evil) {
    return OciImage.named(name)
        .layer(Map.of("/hello.wasm", TestPrograms.bytes("hello.wasm")))
        .rawLayer(
            tar(
                t -> {
                  t.file("ok.txt", 0644, "harmless".getBytes(StandardCharsets.UTF_8));
                  evil.write(t);
                }))
        .entrypoint("/hello.wasm");
  }

  static String layerDigest(String ref, int index) throws IOException {
    String tag = ref.substring(ref.lastIndexOf(':') + 1);
    String repo = ref.substring(ref.indexOf('/') + 1, ref.lastIndexOf(':'));
    Path v2 = tmp.resolve("registry/storage/docker/registry/v2");
    String manifestDigest =
        Files.readString(
                v2.resolve("repositories/" + repo + "/_manifests/tags/" + tag + "/current/link"))
            .strip();
    JsonNode m = JSON.readTree(registryBlob(manifestDigest).toFile());
    return m.get("layers").get(index).get("digest").asText();
  }

  static Path registryBlob(String digest) {
    String hex = digest.substring("sha256:".length());
    return tmp.resolve(
        "registry/storage/docker/registry/v2/blobs/sha256/"
            + hex.substring(0, 2)
            + "/"
            + hex
            + "/data");
  }

  /**
   * The daemon's image store holds exactly the blobs and trees its index references: no blob,
   * rootfs or temporary file of a failed or raced pull is left, and nothing an image needs is
   * missing.
   */
  static void assertStoreConsistent() throws IOException {
    Path images = root().resolve("images");
    Set<String> blobs = new HashSet<>();
    Set<String> trees = new HashSet<>();
    for (JsonNode i : JSON.readTree(images.resolve("images.json").toFile())) {
      String manifest = i.get("manifestDigest").asText();
      blobs.add(manifest);
      blobs.add(i.get("id").asText());
      Path m = images.resolve("blobs/sha256/" + manifest.substring("sha256:".length()));
      assertTrue(Files.isRegularFile(m), "manifest of " + i + " is stored");
      for (JsonNode l : JSON.readTree(m.toFile()).get("layers")) {
        blobs.add(l.get("digest").asText());
      }
      if (i.hasNonNull("rootfs")) {
        trees.add(i.get("rootfs").asText().substring("rootfs/".length()));
      }
    }
    Set<String> onDisk = new HashSet<>();
    try (Stream<Path> s = Files.list(images.resolve("blobs/sha256"))) {
      s.forEach(p -> onDisk.add("sha256:" + p.getFileName()));
    }
    assertEquals(blobs, onDisk, "blobs on disk are exactly those of the recorded images");
    try (Stream<Path> s = Files.list(images.resolve("blobs"))) {
      assertEquals(List.of(images.resolve("blobs/sha256")), s.toList(), "no temporary blob files");
    }
    Set<String> treesOnDisk = new HashSet<>();
    if (Files.isDirectory(images.resolve("rootfs"))) {
      try (Stream<Path> s = Files.list(images.resolve("rootfs"))) {
        s.forEach(p -> treesOnDisk.add(p.getFileName().toString()));
      }
    }
    assertEquals(trees, treesOnDisk, "unpacked trees are exactly those of the recorded images");
    for (String t : trees) {
      try (Stream<Path> s = Files.list(images.resolve("rootfs/" + t))) {
        assertTrue(s.findAny().isPresent(), "tree " + t + " is not empty");
      }
    }
  }

  @Test
  void symlinkEscapes_absoluteAndDotDot_refusedNamingTheEntry() throws IOException {
    String abs =
        push(
            "cri/symlink-abs:v1",
            hostile(
                "cri/symlink-abs:v1",
                t -> {
                  t.symlink("etc", "/etc");
                  t.file("etc/krill-hostile.conf", 0644, "x".getBytes(StandardCharsets.UTF_8));
                }));
    String layer = layerDigest(abs, 1);
    refused(
        abs,
        Status.Code.INVALID_ARGUMENT,
        "refused layer " + layer,
        "entry etc/krill-hostile.conf would be written through the symlink etc",
        "rebuild the image");
    assertFalse(Files.exists(Path.of("/etc/krill-hostile.conf")));

    Path outside = tmp.resolve("outside");
    String up = "../".repeat(12) + outside.toString().substring(1);
    String dotDot =
        push(
            "cri/symlink-dotdot:v1",
            hostile(
                "cri/symlink-dotdot:v1",
                t -> {
                  t.symlink("up", up);
                  t.file("up/escaped.txt", 0644, "x".getBytes(StandardCharsets.UTF_8));
                }));
    refused(
        dotDot,
        Status.Code.INVALID_ARGUMENT,
        "refused layer " + layerDigest(dotDot, 1),
        "symlink up -> " + up + " escapes the target directory");
    assertFalse(Files.exists(outside));
  }

  @Test
  void hardLinks_toAbsoluteAndDotDotPaths_refused() throws IOException {
    String abs =
        push(
            "cri/hardlink-abs:v1",
            hostile("cri/hardlink-abs:v1", t -> t.hardLink("pw", "/etc/passwd")));
    refused(
        abs,
        Status.Code.INVALID_ARGUMENT,
        "refused layer " + layerDigest(abs, 1),
        "hard link pw -> /etc/passwd points outside the target directory");
    String dotDot =
        push(
            "cri/hardlink-dotdot:v1",
            hostile("cri/hardlink-dotdot:v1", t -> t.hardLink("pw", "../../../../etc/passwd")));
    refused(
        dotDot,
        Status.Code.INVALID_ARGUMENT,
        "hard link pw -> ../../../../etc/passwd points outside");
  }

  @Test
  void specialFilesAndEscapingWhiteout_refused_otherImagesTreesUntouched() throws IOException {
    Map<Character, String> kinds = Map.of('3', "dev/null", '4', "dev/sda", '6', "pipe");
    for (Map.Entry<Character, String> k : kinds.entrySet()) {
      String name = "cri/special-" + (int) k.getKey() + ":v1";
      String ref = push(name, hostile(name, t -> t.special(k.getValue(), k.getKey())));
      refused(
          ref,
          Status.Code.INVALID_ARGUMENT,
          "refused layer " + layerDigest(ref, 1),
          "entry " + k.getValue() + " is a device file or FIFO");
    }
    // ".wh..." would whiteout "..": the directory that holds every image's unpacked tree.
    String wh =
        push(
            "cri/whiteout:v1",
            hostile("cri/whiteout:v1", t -> t.file(".wh...", 0644, new byte[0])));
    refused(wh, Status.Code.INVALID_ARGUMENT, "entry .wh... is a whiteout of \"..\"");
  }

  @Test
  void gzipBomb_overTheImageSizeLimit_resourceExhausted() throws IOException {
    // 45 MiB of zeros in three files compress to about 45 KiB; the daemon's limit is 32 MiB.
    String ref =
        push(
            "cri/bomb:v1",
            OciImage.named("cri/bomb:v1")
                .rawLayer(
                    tar(
                        t -> {
                          for (int i = 0; i < 3; i++) {
                            t.zeros("zero-" + i, 15L << 20);
                          }
                        }))
                .entrypoint("/hello.wasm"));
    String layer = layerDigest(ref, 0);
    assertTrue(Files.size(registryBlob(layer)) < SIZE_LIMIT / 100, "the layer is small compressed");
    refused(
        ref,
        Status.Code.RESOURCE_EXHAUSTED,
        "layer "
            + layer
            + ": entry zero-2 (15728640 bytes) exceeds the"
            + " limit of "
            + SIZE_LIMIT
            + " bytes (31457280 already written)",
        "krill cri allows "
            + SIZE_LIMIT
            + " bytes per image (--image-size-limit): use a smaller image or raise the limit");
  }

  @Test
  void tamperedBlob_inTheRegistry_refusedAndNothingStored() throws IOException {
    String ref =
        push(
            "cri/tampered:v1",
            OciImage.named("cri/tampered:v1")
                .layer(
                    Map.of(
                        "/hello.wasm",
                        TestPrograms.bytes("hello.wasm"),
                        "/tampered",
                        new byte[] {1}))
                .entrypoint("/hello.wasm"));
    String layer = layerDigest(ref, 0);
    Path data = registryBlob(layer);
    byte[] bytes = Files.readAllBytes(data);
    bytes[bytes.length / 2] ^= 0x55;
    Files.write(data, bytes);
    refused(
        ref,
        Status.Code.FAILED_PRECONDITION,
        "the registry sent blob " + layer,
        "do not match it (blob digest mismatch",
        "corrupt or tampered with, push the image again");

    // The manifest itself, still JSON (the registry parses it to serve it) but no longer its
    // digest.
    String other =
        push(
            "cri/tampered-manifest:v1",
            OciImage.named("cri/tampered-manifest:v1")
                .layer(Map.of("/hello.wasm", TestPrograms.bytes("hello.wasm")))
                .entrypoint("/hello.wasm"));
    String digest =
        Files.readString(
                tmp.resolve(
                    "registry/storage/docker/registry/v2/repositories/"
                        + "cri/tampered-manifest/_manifests/tags/v1/current/link"))
            .strip();
    Path manifest = registryBlob(digest);
    Files.writeString(manifest, "{ " + Files.readString(manifest).substring(1));
    refused(
        other,
        Status.Code.FAILED_PRECONDITION,
        "manifest digest mismatch: expected " + digest,
        "the registry's copy is corrupt or tampered with: push the image again");
  }

  @Test
  void layerThatIsNotATar_refusedAsBroken() throws IOException {
    String ref =
        push(
            "cri/not-tar:v1",
            OciImage.named("cri/not-tar:v1")
                .rawLayer(
                    "this is not a tar archive, it only says so at length. "
                        .repeat(40)
                        .getBytes(StandardCharsets.UTF_8))
                .entrypoint("/hello.wasm"));
    refused(
        ref,
        Status.Code.INVALID_ARGUMENT,
        "layer "
            + layerDigest(ref, 0)
            + " (application/vnd.oci.image.layer.v1.tar+gzip) is not a valid gzip-compressed tar archive: ",
        "the image is broken: rebuild it and push it again");
  }

  @Test
  void missingBlobAndBrokenDocuments_refusedNamingThem() throws IOException {
    String ref =
        push(
            "cri/missing:v1",
            OciImage.named("cri/missing:v1")
                .layer(
                    Map.of(
                        "/hello.wasm",
                        TestPrograms.bytes("hello.wasm"),
                        "/missing",
                        new byte[] {2}))
                .entrypoint("/hello.wasm"));
    String layer = layerDigest(ref, 0);
    Files.delete(registryBlob(layer));
    refused(
        ref,
        Status.Code.NOT_FOUND,
        "the manifest references blob " + layer,
        "which the registry does not have: push the image again");

    // The distribution registry refuses to store (or serve) a manifest that is not JSON, and does
    // not look
    // inside config blobs; a registry that serves such documents is faked here.
    byte[] notJson = "this is not JSON".getBytes(StandardCharsets.UTF_8);
    byte[] config = "{\"architecture\": ".getBytes(StandardCharsets.UTF_8);
    String configDigest = OciImage.sha256(config);
    byte[] badConfig =
        ("{\"schemaVersion\":2,\"mediaType\":\""
                + OciImage.MANIFEST_TYPE
                + "\",\"config\":{"
                + "\"mediaType\":\""
                + OciImage.CONFIG_TYPE
                + "\",\"digest\":\""
                + configDigest
                + "\",\"size\":"
                + config.length
                + "},\"layers\":[]}")
            .getBytes(StandardCharsets.UTF_8);
    HttpServer fake = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    Map<String, byte[]> served =
        Map.of(
            "/v2/",
            "{}".getBytes(StandardCharsets.UTF_8),
            "/v2/cri/notjson/manifests/v1",
            notJson,
            "/v2/cri/badconfig/manifests/v1",
            badConfig,
            "/v2/cri/badconfig/blobs/" + configDigest,
            config);
    fake.createContext(
        "/",
        ex -> {
          byte[] body = served.get(ex.getRequestURI().getPath());
          if (body != null && ex.getRequestURI().getPath().contains("/manifests/")) {
            ex.getResponseHeaders().set("Content-Type", OciImage.MANIFEST_TYPE);
            ex.getResponseHeaders().set("Docker-Content-Digest", OciImage.sha256(body));
          }
          ex.sendResponseHeaders(body == null ? 404 : 200, body == null ? -1 : body.length);
          if (body != null && !ex.getRequestMethod().equals("HEAD")) {
            ex.getResponseBody().write(body);
          }
          ex.close();
        });
    fake.start();
    try {
      String host = "127.0.0.1:" + fake.getAddress().getPort();
      refused(
          host + "/cri/notjson:v1",
          Status.Code.INVALID_ARGUMENT,
          "manifest " + OciImage.sha256(notJson) + " is not valid: manifest is not valid JSON",
          "push it again");
      refused(
          host + "/cri/badconfig:v1",
          Status.Code.INVALID_ARGUMENT,
          "image config " + configDigest + " is not valid: image config is not valid JSON");
    } finally {
      fake.stop(0);
    }
  }

  @Test
  void nonWasmImages_pullButCreateContainerRefusedNamingContainerAndModule() throws IOException {
    byte[] corrupt = {0, 'a', 's', 'm', 1, 0, 0, 0, (byte) 0xff, 0x7f, 0x7f, 0x7f};
    String linux =
        push(
            "cri/linux:v1",
            OciImage.named("cri/linux:v1")
                .layer(Map.of("/bin/sh", TestPrograms.bytes("hello-native")))
                .entrypoint("/bin/sh"));
    String noModule =
        push(
            "cri/no-module:v1",
            OciImage.named("cri/no-module:v1")
                .layer(Map.of("/data.txt", "data".getBytes(StandardCharsets.UTF_8)))
                .entrypoint("/app.wasm"));
    String notWasm =
        push(
            "cri/not-wasm:v1",
            OciImage.named("cri/not-wasm:v1")
                .layer(Map.of("/app.wasm", "#!/bin/sh\necho hi\n".getBytes(StandardCharsets.UTF_8)))
                .entrypoint("/app.wasm"));
    String broken =
        push(
            "cri/broken-wasm:v1",
            OciImage.named("cri/broken-wasm:v1")
                .layer(Map.of("/app.wasm", corrupt))
                .entrypoint("/app.wasm"));
    Map<String, String> expected = new LinkedHashMap<>();
    expected.put(
        linux,
        "module /bin/sh is a Linux executable (ELF), not WebAssembly: run it with runc, not krill");
    expected.put(
        noModule,
        "module /app.wasm not found in the container's root filesystem (process.args[0] must be"
            + " the path of a .wasm file in the image");
    expected.put(
        notWasm,
        "module /app.wasm is not a WebAssembly module (no \\0asm header): point process.args[0]"
            + " at a .wasm file");
    expected.put(
        broken,
        "module /app.wasm is not a valid WebAssembly module: section 255 runs past the end of the"
            + " module (truncated file?); rebuild it, or point process.args[0] at a valid module");
    try (CriClient c = new CriClient(socket())) {
      int before =
          c.runtime()
              .listContainers(ListContainersRequest.getDefaultInstance())
              .getContainersCount();
      int i = 0;
      for (Map.Entry<String, String> e : expected.entrySet()) {
        pull(c, e.getKey());
        String name = "bad-" + i++;
        StatusRuntimeException err = expectError(() -> create(c, name, e.getKey()));
        assertEquals(Status.Code.INVALID_ARGUMENT, err.getStatus().getCode(), err.toString());
        String message = err.getStatus().getDescription();
        assertTrue(
            message.startsWith(
                "container \""
                    + name
                    + "\" of pod "
                    + pod
                    + " (image "
                    + e.getKey()
                    + "): "
                    + e.getValue()),
            message);
        assertEquals(
            before,
            c.runtime()
                .listContainers(ListContainersRequest.getDefaultInstance())
                .getContainersCount(),
            "no container is left of a refused CreateContainer");
        remove(c, e.getKey());
        assertFalse(present(c, e.getKey()));
      }
    }
    try (Stream<Path> s = Files.list(root().resolve("containers"))) {
      assertEquals(
          List.of(root().resolve("containers/" + sleeper)), s.toList(), "no bundle is left behind");
    }
  }

  @Test
  void concurrentPullsOfOneImage_oneImageOneTree() throws Exception {
    String ref =
        push(
            "cri/twice:v1",
            OciImage.named("cri/twice:v1")
                .layer(
                    Map.of(
                        "/hello.wasm", TestPrograms.bytes("hello.wasm"), "/twice", new byte[] {3}))
                .layer(Map.of("/second", new byte[] {4}))
                .entrypoint("/hello.wasm"));
    ExecutorService threads = Executors.newFixedThreadPool(4);
    try (CriClient c = new CriClient(socket())) {
      // Each round unpacks afresh: the pulls race to put their trees in place.
      for (int round = 0; round < 3; round++) {
        List<CompletableFuture<String>> pulls = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
          pulls.add(CompletableFuture.supplyAsync(() -> pull(c, ref), threads));
        }
        Set<String> ids = new HashSet<>(pulls.stream().map(CompletableFuture::join).toList());
        assertEquals(1, ids.size(), ids.toString());
        assertEquals(
            1,
            c.images().listImages(ListImagesRequest.getDefaultInstance()).getImagesList().stream()
                .filter(i -> i.getRepoTagsList().contains(ref))
                .count());
        assertStoreConsistent();
        runToCompletion(c, "twice-" + round, ref);
        remove(c, ref);
        assertStoreConsistent();
      }
    } finally {
      threads.shutdownNow();
    }
  }

  @Test
  void pullRacingRemoveImage_bothSucceed_storeConsistent_imageUsableAfterwards() throws Exception {
    String ref =
        push(
            "cri/raced:v1",
            OciImage.named("cri/raced:v1")
                .layer(
                    Map.of(
                        "/hello.wasm", TestPrograms.bytes("hello.wasm"), "/raced", new byte[] {5}))
                .entrypoint("/hello.wasm"));
    ExecutorService threads = Executors.newFixedThreadPool(2);
    try (CriClient c = new CriClient(socket())) {
      for (int round = 0; round < 6; round++) {
        if (round % 2 == 0) {
          pull(c, ref);
        }
        CompletableFuture<String> pulled =
            CompletableFuture.supplyAsync(() -> pull(c, ref), threads);
        CompletableFuture<Void> removed = CompletableFuture.runAsync(() -> remove(c, ref), threads);
        String id = pulled.join();
        removed.join();
        assertStoreConsistent();
        boolean there = present(c, ref);
        if (there) {
          assertEquals(
              id,
              c.images()
                  .imageStatus(
                      ImageStatusRequest.newBuilder()
                          .setImage(ImageSpec.newBuilder().setImage(ref))
                          .build())
                  .getImage()
                  .getId());
        } else {
          assertEquals(id, pull(c, ref));
        }
        runToCompletion(c, "raced-" + round, ref);
        remove(c, ref);
        assertFalse(present(c, ref));
        assertStoreConsistent();
      }
    } finally {
      threads.shutdownNow();
    }
  }
}
