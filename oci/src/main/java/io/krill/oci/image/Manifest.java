package io.krill.oci.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** An image manifest (OCI or Docker v2 schema 2): a config and the layers, in order. */
public record Manifest(
    String mediaType,
    String artifactType,
    Descriptor config,
    List<Descriptor> layers,
    Map<String, String> annotations) {
  /**
   * Manifests are small; anything larger is refused before it is parsed (the registry's own limit
   * is 4 MiB).
   */
  public static final int MAX_BYTES = 4 << 20;

  public Manifest {
    if (mediaType == null || !MediaTypes.MANIFESTS.contains(mediaType)) {
      throw new IllegalArgumentException("not an image manifest: media type \"" + mediaType + "\"");
    }
    if (config == null) {
      throw new IllegalArgumentException("manifest has no config descriptor");
    }
    layers = layers == null ? List.of() : List.copyOf(layers);
    annotations = annotations == null ? Map.of() : Map.copyOf(annotations);
  }

  public static Manifest of(
      String artifactType,
      Descriptor config,
      List<Descriptor> layers,
      Map<String, String> annotations) {
    return new Manifest(MediaTypes.OCI_MANIFEST, artifactType, config, layers, annotations);
  }

  public static Manifest parse(byte[] json) {
    if (json.length > MAX_BYTES) {
      throw new IllegalArgumentException(
          "manifest is " + json.length + " bytes, more than the " + MAX_BYTES + "-byte limit");
    }
    JsonNode n = Json.parse(json, "manifest");
    JsonNode version = n.get("schemaVersion");
    if (version == null || version.asInt() != 2) {
      throw new IllegalArgumentException("manifest: schemaVersion must be 2");
    }
    // The OCI spec lets mediaType be absent; a manifest is then recognised by its config.
    String mt = Json.text(n, "mediaType", "manifest");
    if (mt == null && n.has("config")) {
      mt = MediaTypes.OCI_MANIFEST;
    }
    List<Descriptor> layers = new ArrayList<>();
    JsonNode ls = n.get("layers");
    if (ls != null && ls.isArray()) {
      for (int i = 0; i < ls.size(); i++) {
        layers.add(Descriptor.fromJson(ls.get(i), "manifest layer " + i));
      }
    }
    return new Manifest(
        mt,
        Json.text(n, "artifactType", "manifest"),
        Descriptor.fromJson(n.get("config"), "manifest config"),
        layers,
        Json.stringMap(n, "annotations", "manifest"));
  }

  public ObjectNode toJson() {
    ObjectNode n = Json.object();
    n.put("schemaVersion", 2);
    n.put("mediaType", mediaType);
    if (artifactType != null) {
      n.put("artifactType", artifactType);
    }
    n.set("config", config.toJson());
    ArrayNode ls = n.putArray("layers");
    layers.forEach(l -> ls.add(l.toJson()));
    Json.putMap(n, "annotations", annotations);
    return n;
  }

  public byte[] toBytes() {
    return Json.bytes(toJson());
  }
}
