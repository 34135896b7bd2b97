package io.krill.shim;

import static io.krill.shim.FakeContentStore.text;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.krill.oci.image.Descriptor;
import io.krill.oci.image.Digest;
import io.krill.oci.image.MediaTypes;
import io.krill.oci.image.Platform;
import io.krill.runtime.ErrorCode;
import io.krill.runtime.ImageModules.ImageModule;
import io.krill.runtime.KrillException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ContentStoreModulesTest {
  private static final byte[] MODULE = {0, 'a', 's', 'm', 1, 0, 0, 0};
  private static final String IMAGE = "registry.test/wasm/app:v1";

  @TempDir Path cache;
  final FakeContentStore store = new FakeContentStore();

  private ContentStoreModules modules() {
    return new ContentStoreModules(store, Optional.of(cache));
  }

  private Path cached(Descriptor layer) {
    return cache.resolve("sha256").resolve(layer.digest().hex());
  }

  private KrillException fails(String id) {
    KrillException e = assertThrows(KrillException.class, () -> modules().find(id));
    assertTrue(e.getMessage().startsWith("container " + id + ": "), e.getMessage());
    return e;
  }

  @Test
  void find_runwasiShape_returnsTheLayerAndCachesIt() throws IOException {
    Descriptor layer = store.put(MediaTypes.WASM_COMPONENT_LAYER_V0, MODULE);
    store.container("c1", IMAGE, store.manifest(MediaTypes.OCI_CONFIG, layer));
    ImageModule m = modules().find("c1").orElseThrow();
    assertArrayEquals(MODULE, m.bytes());
    assertEquals(IMAGE, m.image());
    assertEquals(layer.digest().toString(), m.layer());
    assertArrayEquals(MODULE, Files.readAllBytes(cached(layer)));
  }

  @Test
  void find_cachedLayer_containerdReadsOnlyTheManifest() {
    Descriptor layer = store.put(MediaTypes.WASM_LAYER, MODULE);
    Descriptor manifest = store.manifest(MediaTypes.WASM_CONFIG_V0, layer);
    store.container("c1", IMAGE, manifest);
    store.containers.put("c2", IMAGE);
    modules().find("c1").orElseThrow();
    store.reads.clear();
    assertArrayEquals(MODULE, modules().find("c2").orElseThrow().bytes());
    assertEquals(List.of(manifest.digest()), store.reads);
  }

  @Test
  void find_corruptedCacheFile_readAgainFromContainerd() throws IOException {
    Descriptor layer = store.put(MediaTypes.WASM_CONTENT_LAYER_V1, MODULE);
    store.container("c1", IMAGE, store.manifest(MediaTypes.WASM_CONFIG_V1, layer));
    Files.createDirectories(cached(layer).getParent());
    Files.write(cached(layer), text("not the module"));
    assertArrayEquals(MODULE, modules().find("c1").orElseThrow().bytes());
    assertTrue(store.reads.contains(layer.digest()));
    assertArrayEquals(MODULE, Files.readAllBytes(cached(layer)));
  }

  @Test
  void find_layerNotMatchingItsDigest_invalidAndNothingCached() throws IOException {
    Descriptor layer = store.put(MediaTypes.WASM_LAYER, MODULE);
    store.blobs.put(layer.digest(), new byte[] {0, 'a', 's', 'm', 1, 0, 0, 1});
    store.container("c1", IMAGE, store.manifest(MediaTypes.WASM_CONFIG_V0, layer));
    KrillException e = fails("c1");
    assertEquals(ErrorCode.INVALID_ARGUMENT, e.code());
    assertTrue(
        e.getMessage()
            .contains(
                "the wasm layer "
                    + layer.digest()
                    + " of image "
                    + IMAGE
                    + " does not match its descriptor: blob digest mismatch"),
        e.getMessage());
    assertFalse(Files.exists(cached(layer)));
    try (var left = Files.list(cached(layer).getParent())) {
      assertEquals(List.of(), left.toList());
    }
  }

  @Test
  void find_withoutCache_verifiesInMemory() {
    Descriptor layer = store.put(MediaTypes.WASM_LAYER, MODULE);
    store.blobs.put(layer.digest(), new byte[] {0, 'a', 's', 'm'});
    store.container("c1", IMAGE, store.manifest(MediaTypes.WASM_CONFIG_V0, layer));
    KrillException e =
        assertThrows(
            KrillException.class,
            () -> new ContentStoreModules(store, Optional.empty()).find("c1"));
    assertTrue(e.getMessage().contains("is truncated: 4 of 8 bytes"), e.getMessage());
  }

  @Test
  void find_indexWithWasmEntry_picksIt() {
    Descriptor tar = store.put(MediaTypes.OCI_LAYER_TAR_GZIP, text("tar"));
    Descriptor linux =
        store
            .manifest(MediaTypes.OCI_CONFIG, tar)
            .withPlatform(new Platform("linux", "amd64", null));
    Descriptor layer = store.put(MediaTypes.WASM_LAYER, MODULE);
    Descriptor wasm = store.manifest(MediaTypes.OCI_CONFIG, layer).withPlatform(Platform.WASIP1);
    store.container("c1", IMAGE, store.index(linux, wasm));
    assertArrayEquals(MODULE, modules().find("c1").orElseThrow().bytes());
  }

  @Test
  void find_indexWasmEntryNotPulled_saysPullWithPlatform() {
    Descriptor tar = store.put(MediaTypes.OCI_LAYER_TAR_GZIP, text("tar"));
    Descriptor linux =
        store
            .manifest(MediaTypes.OCI_CONFIG, tar)
            .withPlatform(new Platform("linux", "amd64", null));
    Descriptor layer = store.put(MediaTypes.WASM_LAYER, MODULE);
    Descriptor wasm = store.manifest(MediaTypes.OCI_CONFIG, layer).withPlatform(Platform.WASIP1);
    store.container("c1", IMAGE, store.index(linux, wasm));
    store.blobs.remove(wasm.digest());
    KrillException e = fails("c1");
    assertEquals(ErrorCode.INVALID_ARGUMENT, e.code());
    assertTrue(
        e.getMessage()
            .contains(
                "image "
                    + IMAGE
                    + " has a wasip1/wasm entry, but containerd holds only another"
                    + " platform's content: pull it with `ctr images pull --platform wasip1/wasm "
                    + IMAGE
                    + "`"),
        e.getMessage());
  }

  @Test
  void find_indexWasmEntryWithTarLayers_saysRunWithPlatform() {
    Descriptor tar = store.put(MediaTypes.OCI_LAYER_TAR_GZIP, text("tar"));
    Descriptor linux =
        store
            .manifest(MediaTypes.OCI_CONFIG, tar)
            .withPlatform(new Platform("linux", "amd64", null));
    Descriptor wasmTar = store.put(MediaTypes.OCI_LAYER_TAR_GZIP, text("wasm tar"));
    Descriptor wasm = store.manifest(MediaTypes.OCI_CONFIG, wasmTar).withPlatform(Platform.WASIP1);
    store.container("c1", IMAGE, store.index(linux, wasm));
    KrillException e = fails("c1");
    assertTrue(
        e.getMessage()
            .contains(
                "image "
                    + IMAGE
                    + " keeps it in a tar layer of its wasip1/wasm entry, which"
                    + " containerd unpacks only for `ctr run --platform wasip1/wasm`"),
        e.getMessage());
  }

  @Test
  void find_indexWithoutWasmEntry_namesContainerAndImage() {
    Descriptor tar = store.put(MediaTypes.OCI_LAYER_TAR_GZIP, text("tar"));
    Descriptor amd =
        store
            .manifest(MediaTypes.OCI_CONFIG, tar)
            .withPlatform(new Platform("linux", "amd64", null));
    Descriptor arm =
        store
            .manifest(MediaTypes.OCI_CONFIG, tar)
            .withPlatform(new Platform("linux", "arm64", null));
    store.container("c1", IMAGE, store.index(amd, arm));
    KrillException e = fails("c1");
    assertTrue(
        e.getMessage()
            .contains(
                "image " + IMAGE + ": the image index has 2 manifests and none for wasip1/wasm"),
        e.getMessage());
  }

  @Test
  void find_tarLayerImage_empty() {
    Descriptor tar = store.put(MediaTypes.OCI_LAYER_TAR_GZIP, text("tar"));
    store.container("c1", IMAGE, store.manifest(MediaTypes.OCI_CONFIG, tar));
    assertEquals(Optional.empty(), modules().find("c1"));
  }

  @Test
  void find_containerWithoutImage_empty() {
    store.containers.put("c1", "");
    assertEquals(Optional.empty(), modules().find("c1"));
    assertEquals(List.of(), store.reads);
  }

  @Test
  void find_containerUnknownToContainerd_empty() {
    assertEquals(Optional.empty(), modules().find("made-without-containerd"));
    assertEquals(List.of(), store.reads);
  }

  @Test
  void find_containerdUnreachable_unavailableNamingContainer() {
    store.containers.put("c1", IMAGE);
    store.unreachable = true;
    KrillException e = fails("c1");
    assertEquals(ErrorCode.UNAVAILABLE, e.code());
    assertTrue(e.getMessage().contains("Containers.Get c1: UNAVAILABLE"), e.getMessage());
  }

  @Test
  void find_twoWasmLayers_refused() {
    Descriptor a = store.put(MediaTypes.WASM_LAYER, MODULE);
    Descriptor b = store.put(MediaTypes.WASM_LAYER, new byte[] {0, 'a', 's', 'm', 1, 0, 0, 0, 0});
    store.container("c1", IMAGE, store.manifest(MediaTypes.WASM_CONFIG_V0, a, b));
    KrillException e = fails("c1");
    assertEquals(ErrorCode.INVALID_ARGUMENT, e.code());
    assertTrue(
        e.getMessage().contains("2 wasm layers; only a single module per image is supported"),
        e.getMessage());
  }

  @Test
  void find_layerOverTheLimit_refusedBeforeReading() {
    Descriptor big =
        Descriptor.of(
            MediaTypes.WASM_LAYER, Digest.sha256(MODULE), ContentStoreModules.MAX_LAYER_BYTES + 1);
    store.container("c1", IMAGE, store.manifest(MediaTypes.WASM_CONFIG_V0, big));
    KrillException e = fails("c1");
    assertTrue(e.getMessage().contains("larger than krill's limit of 512 MiB"), e.getMessage());
    assertFalse(store.reads.contains(big.digest()));
  }

  @Test
  void find_imageGoneFromContainerd_unavailableNamingImage() {
    store.containers.put("c1", IMAGE);
    KrillException e = fails("c1");
    assertEquals(ErrorCode.UNAVAILABLE, e.code());
    assertTrue(
        e.getMessage().contains("cannot read image " + IMAGE + " from containerd: Images.Get"),
        e.getMessage());
  }

  @Test
  void prune_dropsLayersContainerdRemoved_keepsTheRest_andOldTempFiles() throws IOException {
    Descriptor kept = store.put(MediaTypes.WASM_LAYER, MODULE);
    byte[] other = {0, 'a', 's', 'm', 1, 0, 0, 0, 0};
    Descriptor gone = store.put(MediaTypes.WASM_LAYER, other);
    store.container("c1", IMAGE, store.manifest(MediaTypes.WASM_CONFIG_V0, kept));
    store.container(
        "c2", "registry.test/wasm/other:v1", store.manifest(MediaTypes.WASM_CONFIG_V0, gone));
    modules().find("c1").orElseThrow();
    modules().find("c2").orElseThrow();
    Path staleTemp = Files.writeString(cache.resolve("sha256").resolve(".layer-1.tmp"), "half");
    Files.setLastModifiedTime(staleTemp, FileTime.fromMillis(0));
    Path freshTemp = Files.writeString(cache.resolve("sha256").resolve(".layer-2.tmp"), "writing");

    store.blobs.remove(gone.digest());
    assertEquals(2, modules().prune(Duration.ofHours(1)));
    assertTrue(Files.exists(cached(kept)));
    assertTrue(Files.notExists(cached(gone)));
    assertTrue(Files.notExists(staleTemp));
    assertTrue(Files.exists(freshTemp), "a write in progress is left alone");
  }

  @Test
  void prune_containerdUnreachable_dropsNothing() throws IOException {
    Descriptor layer = store.put(MediaTypes.WASM_LAYER, MODULE);
    store.container("c1", IMAGE, store.manifest(MediaTypes.WASM_CONFIG_V0, layer));
    modules().find("c1").orElseThrow();
    store.unreachable = true;
    assertEquals(0, modules().prune(Duration.ofHours(1)));
    assertTrue(Files.exists(cached(layer)));
  }
}
