package io.krill.cri.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.krill.oci.image.Descriptor;
import io.krill.oci.image.Manifest;
import io.krill.oci.image.MediaTypes;
import io.krill.oci.layout.OciLayout;
import io.krill.runtime.KrillException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The store's bookkeeping, from a store a pull left behind (pulls themselves are exercised end to
 * end).
 */
class ImageStoreTest {
  @TempDir Path dir;

  private StoredImage seed(String tag, byte[] layerBytes) throws IOException {
    OciLayout layout = OciLayout.create(dir);
    Descriptor config =
        layout.putBlob(
            MediaTypes.OCI_CONFIG,
            ("{\"architecture\":\"wasm\",\"os\":\"wasip1\",\"t\":\"" + tag + "\"}")
                .getBytes(StandardCharsets.UTF_8));
    Descriptor layer = layout.putBlob(MediaTypes.OCI_LAYER_TAR, layerBytes);
    byte[] manifest = Manifest.of(null, config, List.of(layer), null).toBytes();
    Descriptor m = layout.putBlob(MediaTypes.OCI_MANIFEST, manifest);
    Path rootfs = Files.createDirectories(dir.resolve("rootfs/" + m.digest().hex()));
    Files.writeString(rootfs.resolve("app.wasm"), "module");
    return new StoredImage(
        config.digest().toString(),
        List.of(tag),
        List.of(),
        m.digest().toString(),
        10,
        "rootfs/" + m.digest().hex(),
        null,
        List.of("/app.wasm"),
        List.of(),
        List.of(),
        "/",
        "");
  }

  private void write(StoredImage... images) throws IOException {
    new ObjectMapper().writeValue(dir.resolve("images.json").toFile(), List.of(images));
  }

  @Test
  void verboseInfo_imageSpecIsTheStoredConfigWithItsChainId() throws IOException {
    StoredImage a = seed("example.com/a:1", new byte[] {1});
    write(a);
    var info = new ObjectMapper().readTree(new ImageStore(dir, Set.of()).verboseInfo(a));
    assertEquals("wasm", info.at("/imageSpec/architecture").asText());
    assertEquals("example.com/a:1", info.at("/imageSpec/t").asText());
    assertEquals("", info.get("chainID").asText(), "a config with no diff ids has no chain");
  }

  @Test
  void verboseInfo_configThatIsNotJson_noImageSpec() throws IOException {
    StoredImage a = seed("example.com/a:1", new byte[] {1});
    write(a);
    Files.writeString(
        dir.resolve("blobs/sha256").resolve(a.id().substring("sha256:".length())), "not json");
    var info = new ObjectMapper().readTree(new ImageStore(dir, Set.of()).verboseInfo(a));
    assertTrue(info.get("imageSpec").isNull(), info.toString());
    assertEquals("", info.get("chainID").asText());
  }

  @Test
  void chainId_ofDiffIds() throws IOException {
    var ids =
        new ObjectMapper()
            .readTree(
                "[\"sha256:"
                    + "11".repeat(32)
                    + "\",\"sha256:"
                    + "22".repeat(32)
                    + "\",\"sha256:"
                    + "33".repeat(32)
                    + "\"]");
    assertEquals(
        "sha256:50127c0d6b338be78246434b4bce23ecf75e505158ea0bbd15effeb162fbf3ec",
        ImageStore.chainId(ids));
    assertEquals(
        "sha256:" + "11".repeat(32),
        ImageStore.chainId(new ObjectMapper().readTree("[\"sha256:" + "11".repeat(32) + "\"]")));
  }

  @Test
  void find_byTagShortNameIdAndHex() throws IOException {
    StoredImage a = seed("docker.io/library/app:latest", new byte[] {1});
    write(a);
    ImageStore store = new ImageStore(dir, Set.of());
    assertEquals(a, store.find("docker.io/library/app:latest").orElseThrow());
    assertEquals(a, store.find("app").orElseThrow());
    assertEquals(a, store.find(a.id()).orElseThrow());
    assertEquals(a, store.find(a.id().substring("sha256:".length())).orElseThrow());
    assertTrue(store.find("other").isEmpty());
  }

  @Test
  void remove_deletesTreeAndOnlyUnsharedBlobs() throws IOException {
    StoredImage a = seed("example.com/a:1", new byte[] {1, 2, 3});
    StoredImage b = seed("example.com/b:1", new byte[] {1, 2, 3});
    write(a, b);
    ImageStore store = new ImageStore(dir, Set.of());
    Path sharedLayer =
        dir.resolve("blobs/sha256")
            .resolve(
                Manifest.parse(Files.readAllBytes(store.blob(a.manifestDigest())))
                    .layers()
                    .get(0)
                    .digest()
                    .hex());
    store.remove("example.com/a:1", i -> false);
    assertTrue(store.find("example.com/a:1").isEmpty());
    assertFalse(Files.exists(store.blob(a.id())));
    assertTrue(Files.exists(sharedLayer), "the layer b still uses must stay");
    assertEquals(1, new ImageStore(dir, Set.of()).list().size(), "the removal is persisted");
  }

  @Test
  void remove_inUse_refusedAndKept() throws IOException {
    StoredImage a = seed("example.com/a:1", new byte[] {1});
    write(a);
    ImageStore store = new ImageStore(dir, Set.of());
    assertThrows(KrillException.class, () -> store.remove("example.com/a:1", i -> true));
    assertTrue(store.find("example.com/a:1").isPresent());
  }

  @Test
  void remove_absent_isNoError() throws IOException {
    new ImageStore(dir, Set.of()).remove("nothing:here", i -> true);
  }

  @Test
  void usage_countsBytesOnDisk() throws IOException {
    write(seed("example.com/a:1", new byte[1000]));
    long[] usage = new ImageStore(dir, Set.of()).usage();
    assertTrue(usage[0] >= 1000, "bytes " + usage[0]);
    assertTrue(usage[1] > 5, "inodes " + usage[1]);
  }
}
