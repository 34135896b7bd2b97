package io.krill.it.harness;

import io.krill.oci.image.Descriptor;
import io.krill.oci.image.ImageConfig;
import io.krill.oci.image.Index;
import io.krill.oci.image.Json;
import io.krill.oci.image.Manifest;
import io.krill.oci.image.MediaTypes;
import io.krill.oci.layout.OciLayout;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * OCI layouts of images whose single layer is the wasm module itself: runwasi's oci-tar-builder
 * shape (an OCI image config, wasip1/wasm, entrypoint {@code <name>.wasm}, no diff_ids) and
 * wasm-to-oci's ({@code application/vnd.wasm.config.v1+json}). {@code krill image build} writes
 * neither.
 */
public final class WasmLayerImages {
  private WasmLayerImages() {}

  /**
   * An image with an OCI config whose entrypoint is {@code entrypoint}; returns the layout
   * directory.
   */
  public static Path runwasi(
      Path dir, String ref, String layerType, byte[] layer, String entrypoint) {
    ImageConfig config =
        new ImageConfig(
            "wasm",
            "wasip1",
            "1970-01-01T00:00:00Z",
            List.of(entrypoint),
            null,
            null,
            null,
            List.of(),
            null);
    return build(
        dir, ref, MediaTypes.OCI_CONFIG, Json.bytes(config.toImageJson()), layerType, layer);
  }

  /** wasm-to-oci: its own config type, which holds no command. */
  public static Path wasmToOci(Path dir, String ref, byte[] layer) {
    return build(
        dir,
        ref,
        MediaTypes.WASM_CONFIG_V1,
        "{}".getBytes(StandardCharsets.UTF_8),
        MediaTypes.WASM_CONTENT_LAYER_V1,
        layer);
  }

  private static Path build(
      Path dir, String ref, String configType, byte[] config, String layerType, byte[] layer) {
    try {
      OciLayout layout = OciLayout.create(dir);
      Descriptor l = layout.putBlob(layerType, layer);
      Descriptor c = layout.putBlob(configType, config);
      Descriptor m =
          layout.putBlob(MediaTypes.OCI_MANIFEST, Manifest.of(null, c, List.of(l), null).toBytes());
      layout.writeIndex(Index.of(List.of(m.withAnnotations(Map.of(Index.CONTAINERD_NAME, ref)))));
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * The module with a custom section holding a fresh UUID: a layer digest no earlier run has
   * cached, so the first run of a test reads containerd and the second hits the cache.
   */
  public static byte[] unique(byte[] module) {
    byte[] name = "krill-test".getBytes(StandardCharsets.US_ASCII);
    byte[] nonce = UUID.randomUUID().toString().getBytes(StandardCharsets.US_ASCII);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(module);
    out.write(0); // custom section id
    out.write(1 + name.length + nonce.length); // size, one LEB128 byte as it stays below 128
    out.write(name.length);
    out.writeBytes(name);
    out.writeBytes(nonce);
    return out.toByteArray();
  }
}
