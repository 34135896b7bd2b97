package io.krill.cri.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import io.krill.oci.image.Descriptor;
import io.krill.oci.image.Digest;
import io.krill.oci.image.Manifest;
import io.krill.oci.image.MediaTypes;
import io.krill.oci.registry.RegistryException;
import io.krill.runtime.ErrorCode;
import io.krill.runtime.KrillException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pulls against a fake registry that can hold a blob download until the test lets it go, so a
 * RemoveImage can be placed exactly inside a pull (the end-to-end race test cannot aim that
 * precisely).
 */
class ImageStorePullTest {
  @TempDir Path dir;
  private HttpServer server;
  private final Map<String, byte[]> served = new ConcurrentHashMap<>();
  private volatile String held;
  private final CountDownLatch entered = new CountDownLatch(1);
  private final CountDownLatch release = new CountDownLatch(1);

  @BeforeEach
  void start() throws IOException {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.setExecutor(Executors.newCachedThreadPool());
    server.createContext(
        "/",
        ex -> {
          String path = ex.getRequestURI().getPath();
          if (path.equals(held)) {
            entered.countDown();
            try {
              release.await();
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          }
          byte[] body = path.equals("/v2/") ? new byte[0] : served.get(path);
          if (body != null && path.contains("/manifests/")) {
            ex.getResponseHeaders().set("Content-Type", MediaTypes.OCI_MANIFEST);
          }
          ex.sendResponseHeaders(
              body == null ? 404 : 200, body == null || body.length == 0 ? -1 : body.length);
          if (body != null && body.length > 0 && !ex.getRequestMethod().equals("HEAD")) {
            ex.getResponseBody().write(body);
          }
          ex.close();
        });
    server.start();
  }

  @AfterEach
  void stop() {
    release.countDown();
    server.stop(0);
  }

  private String host() {
    return "127.0.0.1:" + server.getAddress().getPort();
  }

  private static byte[] layer(String name, String content) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (GZIPOutputStream gz = new GZIPOutputStream(bytes);
        TarArchiveOutputStream tar = new TarArchiveOutputStream(gz)) {
      byte[] data = content.getBytes(StandardCharsets.UTF_8);
      TarArchiveEntry e = new TarArchiveEntry(name);
      e.setSize(data.length);
      tar.putArchiveEntry(e);
      tar.write(data);
      tar.closeArchiveEntry();
    }
    return bytes.toByteArray();
  }

  /** Serves {@code repo:1} with {@code layers}; returns the layers' digests. */
  private List<Digest> image(String repo, String entrypoint, byte[]... layers) {
    return image(repo, entrypoint, null, layers);
  }

  /** The same, the config's {@code User} {@code user} when not null. */
  private List<Digest> image(String repo, String entrypoint, String user, byte[]... layers) {
    byte[] config =
        ("{\"architecture\":\"wasm\",\"os\":\"wasip1\",\"config\":{\"Entrypoint\":[\""
                + entrypoint
                + "\"]"
                + (user != null ? ",\"User\":\"" + user + "\"" : "")
                + "},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}")
            .getBytes(StandardCharsets.UTF_8);
    Descriptor c = Descriptor.of(MediaTypes.OCI_CONFIG, Digest.sha256(config), config.length);
    served.put("/v2/" + repo + "/blobs/" + c.digest(), config);
    List<Descriptor> ls =
        Stream.of(layers)
            .map(
                l -> {
                  Descriptor d =
                      Descriptor.of(MediaTypes.OCI_LAYER_TAR_GZIP, Digest.sha256(l), l.length);
                  served.put("/v2/" + repo + "/blobs/" + d.digest(), l);
                  return d;
                })
            .toList();
    served.put("/v2/" + repo + "/manifests/1", Manifest.of(null, c, ls, null).toBytes());
    return ls.stream().map(Descriptor::digest).toList();
  }

  @Test
  void removeImage_whileAPullSharingItsLayerDownloads_keepsTheLayer_pullSucceeds()
      throws Exception {
    byte[] shared = layer("shared.wasm", "shared");
    List<Digest> x = image("t/x", "/shared.wasm", shared);
    List<Digest> y = image("t/y", "/shared.wasm", shared, layer("own.txt", "y"));
    ImageStore store = new ImageStore(dir, Set.of());
    store.pull(host() + "/t/x:1", null);
    held = "/v2/t/y/blobs/" + y.get(1);
    CompletableFuture<StoredImage> pulling =
        CompletableFuture.supplyAsync(() -> store.pull(host() + "/t/y:1", null));
    entered.await();
    // x is the only recorded image using the shared layer; the pull of y has not recorded y yet.
    store.remove(host() + "/t/x:1", i -> false);
    release.countDown();
    StoredImage pulled = pulling.join();
    assertTrue(Files.isRegularFile(store.blob(x.get(0).toString())), "the shared layer stays");
    assertEquals("shared", Files.readString(store.rootfs(pulled).resolve("shared.wasm")));
    assertFalse(store.find(host() + "/t/x:1").isPresent());
    store.remove(host() + "/t/y:1", i -> false);
    try (Stream<Path> blobs = Files.list(dir.resolve("blobs/sha256"))) {
      assertEquals(List.of(), blobs.toList(), "with both images gone, every blob is collected");
    }
  }

  @Test
  void pull_keepsTheConfigsUser_asContainerdReportsIt_acrossARestart() throws Exception {
    image("t/uid", "/a.wasm", "1003:users", layer("a.wasm", "a"));
    image("t/name", "/a.wasm", "www-data", layer("a.wasm", "b"));
    image("t/none", "/a.wasm", layer("a.wasm", "c"));
    ImageStore store = new ImageStore(dir, Set.of());
    for (String r : List.of("t/uid", "t/name", "t/none")) {
      store.pull(host() + "/" + r + ":1", null);
    }
    ImageStore restarted = new ImageStore(dir, Set.of());
    StoredImage uid = restarted.find(host() + "/t/uid:1").orElseThrow();
    assertEquals("1003:users", uid.user());
    assertEquals(OptionalLong.of(1003), uid.uid());
    assertEquals("", uid.username());
    StoredImage name = restarted.find(host() + "/t/name:1").orElseThrow();
    assertEquals(OptionalLong.empty(), name.uid());
    assertEquals("www-data", name.username());
    StoredImage none = restarted.find(host() + "/t/none:1").orElseThrow();
    assertEquals(OptionalLong.empty(), none.uid());
    assertEquals("", none.username());
  }

  @Test
  void failedPull_leavesNoBlobOrTree_butKeepsBlobsOfRecordedImages() throws Exception {
    byte[] shared = layer("shared.wasm", "shared");
    image("t/x", "/shared.wasm", shared);
    List<Digest> y = image("t/y", "/shared.wasm", shared, layer("own.txt", "y"));
    served.remove("/v2/t/y/blobs/" + y.get(1));
    ImageStore store = new ImageStore(dir, Set.of());
    store.pull(host() + "/t/x:1", null);
    Set<Path> before;
    try (Stream<Path> s = Files.walk(dir)) {
      before = Set.copyOf(s.toList());
    }
    var e = assertThrows(RegistryException.class, () -> store.pull(host() + "/t/y:1", null));
    assertEquals(404, e.status());
    try (Stream<Path> s = Files.walk(dir)) {
      assertEquals(before, Set.copyOf(s.toList()), "the failed pull changed nothing on disk");
    }
  }

  @Test
  void pull_overTheSizeLimitToDownload_refusedBeforeAnyDownload() throws Exception {
    image("t/big", "/a.wasm", layer("a.wasm", "x".repeat(4000)));
    ImageStore store = new ImageStore(dir, Set.of(), 100);
    KrillException e =
        assertThrows(KrillException.class, () -> store.pull(host() + "/t/big:1", null));
    assertEquals(ErrorCode.RESOURCE_EXHAUSTED, e.code());
    assertTrue(
        e.getMessage()
            .contains(
                "its layers and config are more bytes to download than the limit (layer sha256:"),
        e.getMessage());
    assertTrue(
        e.getMessage().contains("krill cri allows 100 bytes per image (--image-size-limit)"),
        e.getMessage());
    try (Stream<Path> blobs = Files.list(dir.resolve("blobs/sha256"))) {
      assertEquals(List.of(), blobs.toList());
    }
  }
}
