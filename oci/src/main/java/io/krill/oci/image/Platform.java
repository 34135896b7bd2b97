package io.krill.oci.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** {@code os/architecture[/variant]}, as in an index entry or {@code --platform}. */
public record Platform(String os, String architecture, String variant) {
  /** What the CNCF artifact layout and runwasi's builder write for a WASI preview 1 module. */
  public static final Platform WASIP1 = new Platform("wasip1", "wasm", null);

  public Platform {
    if (os == null || os.isEmpty() || architecture == null || architecture.isEmpty()) {
      throw new IllegalArgumentException(
          "a platform needs an os and an architecture (e.g. wasip1/wasm)");
    }
    variant = variant == null || variant.isEmpty() ? null : variant;
  }

  public static Platform parse(String text) {
    String[] p = text.split("/", -1);
    if (p.length < 2 || p.length > 3) {
      throw new IllegalArgumentException(
          "invalid platform \"" + text + "\": expected os/arch[/variant]");
    }
    return new Platform(p[0], p[1], p.length == 3 ? p[2] : null);
  }

  static Platform fromJson(JsonNode n, String what) {
    return new Platform(
        Json.required(n, "os", what),
        Json.required(n, "architecture", what),
        Json.text(n, "variant", what));
  }

  void writeTo(ObjectNode n) {
    n.put("architecture", architecture);
    n.put("os", os);
    if (variant != null) {
      n.put("variant", variant);
    }
  }

  public boolean isWasm() {
    return architecture.equals("wasm");
  }

  @Override
  public String toString() {
    return os + "/" + architecture + (variant == null ? "" : "/" + variant);
  }
}
