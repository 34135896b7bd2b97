package io.krill.oci.layout;

import io.krill.oci.image.Descriptor;
import io.krill.oci.image.Digest;
import io.krill.oci.image.ImageConfig;
import io.krill.oci.image.ImageReference;
import io.krill.oci.image.Index;
import io.krill.oci.image.Json;
import io.krill.oci.image.Manifest;
import io.krill.oci.image.MediaTypes;
import io.krill.oci.image.Platform;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/**
 * Builds a wasm image into an OCI layout, in one of two shapes: a tar-layer image (the module and
 * extra files in one gzip layer, entrypoint set: runs on any containerd) or a CNCF wasm artifact
 * (the module is the only layer). Output is reproducible: fixed timestamps, sorted entries, fixed
 * JSON order.
 */
public final class WasmImageBuilder {
  /** Reproducible builds: the image says nothing about when it was built. */
  static final String EPOCH = "1970-01-01T00:00:00Z";

  /** What to build; {@code files} maps paths in the image to host files. */
  public record Spec(
      ImageReference name,
      Path module,
      boolean artifact,
      Map<String, Path> files,
      List<String> args,
      List<String> env,
      Map<String, String> annotations,
      Platform platform) {
    public Spec {
      if (name == null || module == null) {
        throw new IllegalArgumentException("an image needs a name and a module");
      }
      files = files == null ? Map.of() : Map.copyOf(files);
      args = args == null ? List.of() : List.copyOf(args);
      env = env == null ? List.of() : List.copyOf(env);
      annotations = annotations == null ? Map.of() : Map.copyOf(annotations);
      platform = platform == null ? Platform.WASIP1 : platform;
      if (artifact && (!files.isEmpty() || !args.isEmpty() || !env.isEmpty())) {
        throw new IllegalArgumentException(
            "a wasm artifact holds the module only: --file, --arg and --env need a"
                + " tar-layer image (drop --artifact)");
      }
      for (String e : env) {
        if (!e.contains("=")) {
          throw new IllegalArgumentException("environment entry \"" + e + "\" is not K=V");
        }
      }
    }

    public String modulePathInImage() {
      return "/" + module.getFileName();
    }
  }

  private WasmImageBuilder() {}

  /**
   * Builds the image into {@code layout} and makes it the layout's only image; returns its manifest
   * descriptor.
   */
  public static Descriptor build(Spec spec, OciLayout layout) throws IOException {
    if (!Files.isRegularFile(spec.module())) {
      throw new IOException("module " + spec.module() + " is not a file");
    }
    Manifest manifest = spec.artifact() ? artifact(spec, layout) : tarImage(spec, layout);
    Descriptor m =
        layout.putBlob(MediaTypes.OCI_MANIFEST, manifest.toBytes()).withPlatform(spec.platform());
    Map<String, String> names = new TreeMap<>();
    names.put(Index.CONTAINERD_NAME, spec.name().toString());
    names.put(Index.REF_NAME, spec.name().tag() == null ? "latest" : spec.name().tag());
    Descriptor entry = m.withAnnotations(names);
    layout.writeIndex(Index.of(List.of(entry)));
    return entry;
  }

  private static Manifest artifact(Spec spec, OciLayout layout) throws IOException {
    Descriptor layer;
    try (InputStream in = Files.newInputStream(spec.module())) {
      layer = layout.putBlob(MediaTypes.WASM_LAYER, in);
    }
    ImageConfig config =
        new ImageConfig(
            spec.platform().architecture(),
            spec.platform().os(),
            EPOCH,
            null,
            null,
            null,
            null,
            null,
            List.of(layer.digest()));
    Descriptor c = layout.putBlob(MediaTypes.WASM_CONFIG_V0, Json.bytes(config.toWasmJson()));
    return Manifest.of(null, c, List.of(layer), spec.annotations());
  }

  private static Manifest tarImage(Spec spec, OciLayout layout) throws IOException {
    Map<String, Path> files = new TreeMap<>();
    files.put(spec.modulePathInImage().substring(1), spec.module());
    for (Map.Entry<String, Path> f : spec.files().entrySet()) {
      String p = f.getKey().replaceAll("^/+", "");
      if (p.isEmpty() || List.of(p.split("/")).contains("..")) {
        throw new IllegalArgumentException(
            "--file path \"" + f.getKey() + "\" must be a path inside the image");
      }
      if (!Files.isRegularFile(f.getValue())) {
        throw new IOException("--file " + f.getKey() + "=" + f.getValue() + ": not a file");
      }
      files.put(p, f.getValue());
    }
    Path tmp = Files.createTempFile(layout.dir().resolve("blobs"), ".layer", ".tmp");
    Digest diffId;
    try {
      MessageDigest uncompressed = Digest.newSha256();
      try (OutputStream gz = new GZIPOutputStream(Files.newOutputStream(tmp), 65536);
          TarArchiveOutputStream tar =
              new TarArchiveOutputStream(new DigestOutputStream(gz, uncompressed))) {
        tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
        writeLayer(tar, files, spec.modulePathInImage().substring(1));
        tar.finish();
      }
      diffId = Digest.of("sha256", uncompressed.digest());
      Descriptor layer;
      try (InputStream in = Files.newInputStream(tmp)) {
        layer = layout.putBlob(MediaTypes.OCI_LAYER_TAR_GZIP, in);
      }
      List<String> entrypoint = new ArrayList<>();
      entrypoint.add(spec.modulePathInImage());
      ImageConfig config =
          new ImageConfig(
              spec.platform().architecture(),
              spec.platform().os(),
              EPOCH,
              entrypoint,
              spec.args(),
              spec.env(),
              null,
              List.of(diffId),
              null);
      Descriptor c = layout.putBlob(MediaTypes.OCI_CONFIG, Json.bytes(config.toImageJson()));
      return Manifest.of(null, c, List.of(layer), spec.annotations());
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  private static void writeLayer(TarArchiveOutputStream tar, Map<String, Path> files, String module)
      throws IOException {
    TreeSet<String> dirs = new TreeSet<>();
    for (String p : files.keySet()) {
      for (int i = p.indexOf('/'); i > 0; i = p.indexOf('/', i + 1)) {
        dirs.add(p.substring(0, i));
      }
    }
    Map<String, Path> ordered = new LinkedHashMap<>(files);
    for (String d : dirs) {
      TarArchiveEntry e = new TarArchiveEntry(d + "/");
      e.setMode(040755);
      e.setModTime(0);
      tar.putArchiveEntry(e);
      tar.closeArchiveEntry();
    }
    for (Map.Entry<String, Path> f : ordered.entrySet()) {
      TarArchiveEntry e = new TarArchiveEntry(f.getKey());
      e.setMode(f.getKey().equals(module) ? 0100755 : 0100644);
      e.setSize(Files.size(f.getValue()));
      e.setModTime(0);
      tar.putArchiveEntry(e);
      try (InputStream in = Files.newInputStream(f.getValue())) {
        in.transferTo(tar);
      }
      tar.closeArchiveEntry();
    }
  }
}
