package io.krill.oci.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Map;

/** A content descriptor: what a blob is, its digest and exact size, and optionally its platform. */
public record Descriptor(
    String mediaType,
    Digest digest,
    long size,
    Platform platform,
    Map<String, String> annotations) {
  public Descriptor {
    if (mediaType == null || mediaType.isEmpty()) {
      throw new IllegalArgumentException("a descriptor needs a media type");
    }
    if (digest == null) {
      throw new IllegalArgumentException("a descriptor needs a digest");
    }
    if (size < 0) {
      throw new IllegalArgumentException("descriptor " + digest + " has a negative size " + size);
    }
    annotations = annotations == null ? Map.of() : Map.copyOf(annotations);
  }

  public static Descriptor of(String mediaType, Digest digest, long size) {
    return new Descriptor(mediaType, digest, size, null, Map.of());
  }

  public Descriptor withPlatform(Platform p) {
    return new Descriptor(mediaType, digest, size, p, annotations);
  }

  public Descriptor withAnnotations(Map<String, String> a) {
    return new Descriptor(mediaType, digest, size, platform, a);
  }

  static Descriptor fromJson(JsonNode n, String what) {
    if (n == null || !n.isObject()) {
      throw new IllegalArgumentException(what + " is not a descriptor object");
    }
    JsonNode size = n.get("size");
    if (size == null || !size.canConvertToLong()) {
      throw new IllegalArgumentException(what + ": \"size\" is missing or not an integer");
    }
    Digest d;
    try {
      d = Digest.parse(Json.required(n, "digest", what));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(what + ": " + e.getMessage());
    }
    JsonNode p = n.get("platform");
    return new Descriptor(
        Json.required(n, "mediaType", what),
        d,
        size.asLong(),
        p == null || p.isNull() ? null : Platform.fromJson(p, what + " platform"),
        Json.stringMap(n, "annotations", what));
  }

  ObjectNode toJson() {
    ObjectNode n = Json.object();
    n.put("mediaType", mediaType);
    n.put("digest", digest.toString());
    n.put("size", size);
    if (platform != null) {
      platform.writeTo(n.putObject("platform"));
    }
    Json.putMap(n, "annotations", annotations);
    return n;
  }
}
