package io.krill.oci.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;

/**
 * The parts of an image config krill reads and writes. One record for both kinds: an OCI image
 * config ({@code config.Entrypoint}, {@code rootfs.diff_ids}) and a CNCF wasm config ({@code
 * layerDigests}, no process settings); absent parts are empty.
 */
public record ImageConfig(
    String architecture,
    String os,
    String created,
    List<String> entrypoint,
    List<String> cmd,
    List<String> env,
    String workingDir,
    String user,
    List<Digest> diffIds,
    List<Digest> layerDigests) {
  public static final int MAX_BYTES = 4 << 20;

  /** A config with no {@code User}. */
  public ImageConfig(
      String architecture,
      String os,
      String created,
      List<String> entrypoint,
      List<String> cmd,
      List<String> env,
      String workingDir,
      List<Digest> diffIds,
      List<Digest> layerDigests) {
    this(architecture, os, created, entrypoint, cmd, env, workingDir, null, diffIds, layerDigests);
  }

  public ImageConfig {
    if (architecture == null || architecture.isEmpty() || os == null || os.isEmpty()) {
      throw new IllegalArgumentException("image config needs architecture and os");
    }
    entrypoint = copy(entrypoint);
    cmd = copy(cmd);
    env = copy(env);
    diffIds = copy(diffIds);
    layerDigests = copy(layerDigests);
  }

  private static <T> List<T> copy(List<T> l) {
    return l == null ? List.of() : List.copyOf(l);
  }

  public Platform platform() {
    return new Platform(os, architecture, null);
  }

  public static ImageConfig parse(byte[] json) {
    if (json.length > MAX_BYTES) {
      throw new IllegalArgumentException(
          "image config is " + json.length + " bytes, more than the " + MAX_BYTES + "-byte limit");
    }
    JsonNode n = Json.parse(json, "image config");
    JsonNode c = n.path("config");
    JsonNode rootfs = n.path("rootfs");
    return new ImageConfig(
        Json.required(n, "architecture", "image config"),
        Json.required(n, "os", "image config"),
        Json.text(n, "created", "image config"),
        Json.strings(c, "Entrypoint", "image config"),
        Json.strings(c, "Cmd", "image config"),
        Json.strings(c, "Env", "image config"),
        Json.text(c, "WorkingDir", "image config"),
        Json.text(c, "User", "image config"),
        Json.strings(rootfs, "diff_ids", "image config").stream().map(Digest::parse).toList(),
        Json.strings(n, "layerDigests", "image config").stream().map(Digest::parse).toList());
  }

  /** An OCI image config (mediaType application/vnd.oci.image.config.v1+json). */
  public ObjectNode toImageJson() {
    ObjectNode n = Json.object();
    n.put("architecture", architecture);
    n.put("os", os);
    if (created != null) {
      n.put("created", created);
    }
    ObjectNode c = n.putObject("config");
    Json.putStrings(c, "Entrypoint", entrypoint);
    Json.putStrings(c, "Cmd", cmd);
    Json.putStrings(c, "Env", env);
    if (workingDir != null && !workingDir.isEmpty()) {
      c.put("WorkingDir", workingDir);
    }
    if (user != null && !user.isEmpty()) {
      c.put("User", user);
    }
    ObjectNode rootfs = n.putObject("rootfs");
    rootfs.put("type", "layers");
    ArrayNode ids = rootfs.putArray("diff_ids");
    diffIds.forEach(d -> ids.add(d.toString()));
    return n;
  }

  /** A CNCF wasm artifact config (mediaType application/vnd.wasm.config.v0+json). */
  public ObjectNode toWasmJson() {
    ObjectNode n = Json.object();
    if (created != null) {
      n.put("created", created);
    }
    n.put("architecture", architecture);
    n.put("os", os);
    ArrayNode ds = n.putArray("layerDigests");
    layerDigests.forEach(d -> ds.add(d.toString()));
    return n;
  }
}
