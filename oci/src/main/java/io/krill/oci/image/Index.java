package io.krill.oci.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * An image index (or Docker manifest list): one manifest per platform. Also an OCI layout's
 * index.json.
 */
public record Index(String mediaType, List<Descriptor> manifests, Map<String, String> annotations) {
  public static final String REF_NAME = "org.opencontainers.image.ref.name";

  /** containerd's {@code ctr images import} names the image after this annotation. */
  public static final String CONTAINERD_NAME = "io.containerd.image.name";

  public Index {
    if (mediaType == null || !MediaTypes.INDEXES.contains(mediaType)) {
      throw new IllegalArgumentException("not an image index: media type \"" + mediaType + "\"");
    }
    manifests = manifests == null ? List.of() : List.copyOf(manifests);
    annotations = annotations == null ? Map.of() : Map.copyOf(annotations);
  }

  public static Index of(List<Descriptor> manifests) {
    return new Index(MediaTypes.OCI_INDEX, manifests, Map.of());
  }

  public static Index parse(byte[] json) {
    if (json.length > Manifest.MAX_BYTES) {
      throw new IllegalArgumentException(
          "index is "
              + json.length
              + " bytes, more than the "
              + Manifest.MAX_BYTES
              + "-byte limit");
    }
    JsonNode n = Json.parse(json, "index");
    String mt = Json.text(n, "mediaType", "index");
    if (mt == null && n.has("manifests")) {
      mt = MediaTypes.OCI_INDEX;
    }
    List<Descriptor> ms = new ArrayList<>();
    JsonNode list = n.get("manifests");
    if (list != null && list.isArray()) {
      for (int i = 0; i < list.size(); i++) {
        ms.add(Descriptor.fromJson(list.get(i), "index entry " + i));
      }
    }
    return new Index(mt, ms, Json.stringMap(n, "annotations", "index"));
  }

  /**
   * The manifest to run: the {@code wasip1/wasm} or {@code wasi/wasm} entry, else the only entry.
   * Anything else is ambiguous and refused rather than guessed.
   */
  public Descriptor wasmManifest() {
    Optional<Descriptor> wasm = wasmEntry();
    if (wasm.isPresent()) {
      return wasm.get();
    }
    if (manifests.size() == 1) {
      return manifests.get(0);
    }
    throw new IllegalArgumentException(
        "the image index has "
            + manifests.size()
            + " manifests and none for wasip1/wasm or wasi/wasm");
  }

  /** The {@code wasip1/wasm} or {@code wasi/wasm} entry, if the index names one. */
  public Optional<Descriptor> wasmEntry() {
    return manifests.stream()
        .filter(
            d ->
                d.platform() != null
                    && d.platform().isWasm()
                    && (d.platform().os().equals("wasip1") || d.platform().os().equals("wasi")))
        .findFirst();
  }

  public ObjectNode toJson() {
    ObjectNode n = Json.object();
    n.put("schemaVersion", 2);
    n.put("mediaType", mediaType);
    ArrayNode ms = n.putArray("manifests");
    manifests.forEach(m -> ms.add(m.toJson()));
    Json.putMap(n, "annotations", annotations);
    return n;
  }

  public byte[] toBytes() {
    return Json.bytes(toJson());
  }
}
