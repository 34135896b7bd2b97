package io.krill.shim;

import io.krill.oci.image.Descriptor;
import io.krill.oci.image.Digest;
import io.krill.oci.image.ImageConfig;
import io.krill.oci.image.Index;
import io.krill.oci.image.Json;
import io.krill.oci.image.Manifest;
import io.krill.oci.image.MediaTypes;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** containerd's metadata and content in memory, recording every blob read. */
final class FakeContentStore implements ContentStore {
  final Map<String, String> containers = new HashMap<>();
  final Map<String, Descriptor> images = new HashMap<>();
  final Map<Digest, byte[]> blobs = new HashMap<>();
  final List<Digest> reads = new ArrayList<>();

  /** containerd is down: every call fails. */
  boolean unreachable;

  @Override
  public Optional<String> containerImage(String containerId) throws IOException {
    if (unreachable) {
      throw new IOException("Containers.Get " + containerId + ": UNAVAILABLE");
    }
    if (!containers.containsKey(containerId)) {
      throw new ContentStore.NotFound("Containers.Get " + containerId + ": NOT_FOUND", null);
    }
    String image = containers.get(containerId);
    return image.isEmpty() ? Optional.empty() : Optional.of(image);
  }

  @Override
  public Descriptor imageTarget(String imageName) throws IOException {
    Descriptor d = images.get(imageName);
    if (d == null) {
      throw new IOException("Images.Get " + imageName + ": NOT_FOUND");
    }
    return d;
  }

  @Override
  public InputStream read(Digest digest) throws IOException {
    reads.add(digest);
    byte[] b = blobs.get(digest);
    if (b == null) {
      throw new ContentStore.NotFound("Content.Read " + digest + ": NOT_FOUND", null);
    }
    return new ByteArrayInputStream(b);
  }

  @Override
  public boolean has(Digest digest) throws IOException {
    if (unreachable) {
      throw new IOException("Content.Info " + digest + ": UNAVAILABLE");
    }
    return blobs.containsKey(digest);
  }

  Descriptor put(String mediaType, byte[] bytes) {
    Descriptor d = Descriptor.of(mediaType, Digest.sha256(bytes), bytes.length);
    blobs.put(d.digest(), bytes);
    return d;
  }

  /** A manifest with an OCI image config (wasip1/wasm) and these layers; returns its descriptor. */
  Descriptor manifest(String configType, Descriptor... layers) {
    byte[] configJson =
        configType.equals(MediaTypes.WASM_CONFIG_V0)
            ? Json.bytes(
                new ImageConfig("wasm", "wasip1", null, null, null, null, null, null, null)
                    .toWasmJson())
            : Json.bytes(
                new ImageConfig("wasm", "wasip1", null, null, null, null, null, null, null)
                    .toImageJson());
    Descriptor config = put(configType, configJson);
    return put(MediaTypes.OCI_MANIFEST, Manifest.of(null, config, List.of(layers), null).toBytes());
  }

  Descriptor index(Descriptor... manifests) {
    return put(MediaTypes.OCI_INDEX, Index.of(List.of(manifests)).toBytes());
  }

  /** Registers the image and a container created from it. */
  void container(String id, String image, Descriptor target) {
    images.put(image, target);
    containers.put(id, image);
  }

  static byte[] text(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
