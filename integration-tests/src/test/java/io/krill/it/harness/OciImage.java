package io.krill.it.harness;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.zip.GZIPOutputStream;

/**
 * Builds a FROM-scratch image as an OCI image layout tarball that {@code ctr images import}
 * accepts, so tests need no registry. Layers are given as path → content; blobs are
 * content-addressed and reproducible.
 */
public final class OciImage {
  public static final String INDEX_TYPE = "application/vnd.oci.image.index.v1+json";
  public static final String MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json";
  public static final String CONFIG_TYPE = "application/vnd.oci.image.config.v1+json";
  public static final String LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip";
  private static final ObjectMapper JSON = new ObjectMapper();

  private final String name;
  private final List<byte[]> layers = new ArrayList<>();
  private List<String> entrypoint = List.of();
  private List<String> cmd = List.of();
  private List<String> env = List.of();
  private String workingDir = "";
  private String user = "";
  private String architecture = hostArchitecture();

  private OciImage(String name) {
    this.name = name;
  }

  /**
   * {@code name} is the full reference the image is imported as, e.g. {@code krill.test/hello:1}.
   */
  public static OciImage named(String name) {
    return new OciImage(name);
  }

  public String name() {
    return name;
  }

  /** Adds a layer; paths are relative to the image root, with or without a leading slash. */
  public OciImage layer(Map<String, byte[]> files) {
    try {
      layers.add(layerTar(new TreeMap<>(files)));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return this;
  }

  /**
   * Adds a layer given as an uncompressed tar (gzipped here like the others), e.g. one written with
   * {@link Tar}.
   */
  public OciImage rawLayer(byte[] tar) {
    layers.add(tar.clone());
    return this;
  }

  public OciImage entrypoint(String... args) {
    entrypoint = List.of(args);
    return this;
  }

  public OciImage cmd(String... args) {
    cmd = List.of(args);
    return this;
  }

  public OciImage env(String... entries) {
    env = List.of(entries);
    return this;
  }

  public OciImage workingDir(String dir) {
    workingDir = dir;
    return this;
  }

  /** The config's {@code User} ({@code user[:group]}). */
  public OciImage user(String user) {
    this.user = user;
    return this;
  }

  /**
   * Linux platform of the host (as Go spells it), so plain ctr import/run picks the image without
   * flags.
   */
  public OciImage architecture(String goArch) {
    architecture = goArch;
    return this;
  }

  public static String hostArchitecture() {
    String a = System.getProperty("os.arch");
    return switch (a) {
      case "amd64", "x86_64" -> "amd64";
      case "aarch64" -> "arm64";
      default -> a;
    };
  }

  private record Blob(String digest, byte[] bytes) {}

  /** Writes the image as an OCI layout tarball at {@code file} and returns {@code file}. */
  public Path writeTarball(Path file) {
    try {
      List<Blob> blobs = new ArrayList<>();
      ArrayNode layerDescs = JSON.createArrayNode();
      ArrayNode diffIds = JSON.createArrayNode();
      for (byte[] tar : layers) {
        Blob gz = blob(gzip(tar));
        blobs.add(gz);
        diffIds.add(sha256(tar));
        layerDescs.add(descriptor(LAYER_TYPE, gz));
      }
      Blob config = blob(JSON.writeValueAsBytes(config(diffIds)));
      blobs.add(config);

      ObjectNode manifest = JSON.createObjectNode();
      manifest.put("schemaVersion", 2);
      manifest.put("mediaType", MANIFEST_TYPE);
      manifest.set("config", descriptor(CONFIG_TYPE, config));
      manifest.set("layers", layerDescs);
      Blob manifestBlob = blob(JSON.writeValueAsBytes(manifest));
      blobs.add(manifestBlob);

      ObjectNode mdesc = descriptor(MANIFEST_TYPE, manifestBlob);
      ObjectNode platform = mdesc.putObject("platform");
      platform.put("architecture", architecture);
      platform.put("os", "linux");
      ObjectNode annotations = mdesc.putObject("annotations");
      // containerd names the imported image after io.containerd.image.name; other tools use
      // ref.name.
      annotations.put("io.containerd.image.name", name);
      annotations.put("org.opencontainers.image.ref.name", name);
      ObjectNode index = JSON.createObjectNode();
      index.put("schemaVersion", 2);
      index.put("mediaType", INDEX_TYPE);
      index.putArray("manifests").add(mdesc);

      try (OutputStream os = Files.newOutputStream(file);
          Tar tar = new Tar(os)) {
        tar.file("oci-layout", 0644, "{\"imageLayoutVersion\":\"1.0.0\"}".getBytes());
        tar.file("index.json", 0644, JSON.writeValueAsBytes(index));
        tar.directory("blobs", 0755);
        tar.directory("blobs/sha256", 0755);
        TreeSet<String> written = new TreeSet<>();
        for (Blob b : blobs) {
          if (written.add(b.digest())) {
            tar.file("blobs/sha256/" + b.digest().substring("sha256:".length()), 0644, b.bytes());
          }
        }
      }
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write image " + name, e);
    }
  }

  private ObjectNode config(ArrayNode diffIds) {
    ObjectNode c = JSON.createObjectNode();
    c.put("architecture", architecture);
    c.put("os", "linux");
    ObjectNode cfg = c.putObject("config");
    if (!entrypoint.isEmpty()) {
      entrypoint.forEach(cfg.putArray("Entrypoint")::add);
    }
    if (!cmd.isEmpty()) {
      cmd.forEach(cfg.putArray("Cmd")::add);
    }
    if (!env.isEmpty()) {
      env.forEach(cfg.putArray("Env")::add);
    }
    if (!workingDir.isEmpty()) {
      cfg.put("WorkingDir", workingDir);
    }
    if (!user.isEmpty()) {
      cfg.put("User", user);
    }
    ObjectNode rootfs = c.putObject("rootfs");
    rootfs.put("type", "layers");
    rootfs.set("diff_ids", diffIds);
    return c;
  }

  private static ObjectNode descriptor(String mediaType, Blob b) {
    ObjectNode d = JSON.createObjectNode();
    d.put("mediaType", mediaType);
    d.put("digest", b.digest());
    d.put("size", b.bytes().length);
    return d;
  }

  private static byte[] layerTar(Map<String, byte[]> files) throws IOException {
    TreeSet<String> dirs = new TreeSet<>();
    for (String path : files.keySet()) {
      String p = strip(path);
      for (int i = p.indexOf('/'); i > 0; i = p.indexOf('/', i + 1)) {
        dirs.add(p.substring(0, i));
      }
    }
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (Tar tar = new Tar(bytes)) {
      for (String d : dirs) {
        tar.directory(d, 0755);
      }
      for (Map.Entry<String, byte[]> e : files.entrySet()) {
        tar.file(
            strip(e.getKey()), executable(e.getKey(), e.getValue()) ? 0755 : 0644, e.getValue());
      }
    }
    return bytes.toByteArray();
  }

  private static String strip(String path) {
    String p = path;
    while (p.startsWith("/")) {
      p = p.substring(1);
    }
    if (p.isEmpty()) {
      throw new IllegalArgumentException("empty path in layer");
    }
    return p;
  }

  // Wasm modules and native ELF binaries are what the tests execute.
  private static boolean executable(String path, byte[] content) {
    boolean elf =
        content.length > 4
            && content[0] == 0x7f
            && content[1] == 'E'
            && content[2] == 'L'
            && content[3] == 'F';
    return path.endsWith(".wasm") || elf;
  }

  private static byte[] gzip(byte[] data) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
      gz.write(data);
    }
    return out.toByteArray();
  }

  private static Blob blob(byte[] bytes) {
    return new Blob(sha256(bytes), bytes);
  }

  public static String sha256(byte[] bytes) {
    try {
      return "sha256:"
          + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
