package io.krill.oci.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ManifestTest {
  private static Descriptor blob(String mediaType, String content) {
    byte[] b = content.getBytes(StandardCharsets.UTF_8);
    return Descriptor.of(mediaType, Digest.sha256(b), b.length);
  }

  private static Manifest manifest(String config, String... layers) {
    return Manifest.of(
        null, blob(config, "c"), List.of(layers).stream().map(l -> blob(l, l)).toList(), Map.of());
  }

  @Test
  void toBytes_parse_roundTrip() {
    Manifest m =
        Manifest.of(
            null,
            blob(MediaTypes.WASM_CONFIG_V0, "c"),
            List.of(blob(MediaTypes.WASM_LAYER, "w")),
            Map.of("a", "b"));
    Manifest back = Manifest.parse(m.toBytes());
    assertEquals(m, back);
    assertArrayEquals(m.toBytes(), back.toBytes());
  }

  @Test
  void parse_oversized_refusedWithSize() {
    byte[] big = new byte[Manifest.MAX_BYTES + 1];
    assertTrue(
        assertThrows(IllegalArgumentException.class, () -> Manifest.parse(big))
            .getMessage()
            .contains("more than the 4194304-byte limit"));
  }

  @Test
  void parse_badDescriptor_namesTheField() {
    String json =
        "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"sha256:zz\",\"size\":1}}";
    assertTrue(
        assertThrows(IllegalArgumentException.class, () -> Manifest.parse(json.getBytes()))
            .getMessage()
            .startsWith("manifest config: invalid sha256 digest"));
  }

  @Test
  void wasmShape_detectsEachShape() {
    assertEquals(
        WasmShape.TAR_LAYERS,
        WasmShape.detect(manifest(MediaTypes.OCI_CONFIG, MediaTypes.OCI_LAYER_TAR_GZIP)));
    assertEquals(
        WasmShape.CNCF_ARTIFACT,
        WasmShape.detect(manifest(MediaTypes.WASM_CONFIG_V0, MediaTypes.WASM_LAYER)));
    assertEquals(
        WasmShape.RUNWASI_LAYERS,
        WasmShape.detect(manifest(MediaTypes.OCI_CONFIG, MediaTypes.WASM_COMPONENT_LAYER_V0)));
    assertEquals(
        WasmShape.WASM_TO_OCI,
        WasmShape.detect(manifest(MediaTypes.WASM_CONFIG_V1, MediaTypes.WASM_CONTENT_LAYER_V1)));
    assertEquals(
        WasmShape.UNKNOWN, WasmShape.detect(manifest(MediaTypes.OCI_CONFIG, "text/plain")));
  }

  @Test
  void moduleLayer_twoWasmLayers_refused() {
    Manifest m = manifest(MediaTypes.WASM_CONFIG_V0, MediaTypes.WASM_LAYER, MediaTypes.WASM_LAYER);
    assertEquals(
        "the manifest has 2 wasm layers; only a single module per image is supported",
        assertThrows(IllegalArgumentException.class, () -> WasmShape.moduleLayer(m)).getMessage());
  }

  @Test
  void index_wasmManifest_prefersWasip1OverLinux() {
    Descriptor linux =
        blob(MediaTypes.OCI_MANIFEST, "l").withPlatform(Platform.parse("linux/amd64"));
    Descriptor wasm = blob(MediaTypes.OCI_MANIFEST, "w").withPlatform(Platform.WASIP1);
    Index i = Index.parse(Index.of(List.of(linux, wasm)).toBytes());
    assertEquals(wasm, i.wasmManifest());
    Descriptor arm =
        blob(MediaTypes.OCI_MANIFEST, "a").withPlatform(Platform.parse("linux/arm64/v8"));
    assertTrue(
        assertThrows(
                IllegalArgumentException.class, () -> Index.of(List.of(linux, arm)).wasmManifest())
            .getMessage()
            .contains("none for wasip1/wasm"));
  }

  @Test
  void imageConfig_roundTripsBothKinds() {
    Digest d = Digest.sha256(new byte[0]);
    ImageConfig img =
        new ImageConfig(
            "wasm",
            "wasip1",
            null,
            List.of("/app.wasm"),
            List.of("a"),
            List.of("K=V"),
            null,
            List.of(d),
            null);
    assertEquals(img, ImageConfig.parse(Json.bytes(img.toImageJson())));
    ImageConfig withUser =
        new ImageConfig(
            "wasm",
            "wasip1",
            null,
            List.of("/app.wasm"),
            null,
            null,
            null,
            "1003:users",
            List.of(d),
            null);
    assertEquals(withUser, ImageConfig.parse(Json.bytes(withUser.toImageJson())));
    assertEquals("1003:users", ImageConfig.parse(Json.bytes(withUser.toImageJson())).user());
    ImageConfig art =
        new ImageConfig(
            "wasm", "wasip1", "1970-01-01T00:00:00Z", null, null, null, null, null, List.of(d));
    assertEquals(art, ImageConfig.parse(Json.bytes(art.toWasmJson())));
  }
}
