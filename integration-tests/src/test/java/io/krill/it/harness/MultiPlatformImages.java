package io.krill.it.harness;

import io.krill.oci.image.Descriptor;
import io.krill.oci.image.Digest;
import io.krill.oci.image.ImageConfig;
import io.krill.oci.image.Index;
import io.krill.oci.image.Json;
import io.krill.oci.image.Manifest;
import io.krill.oci.image.MediaTypes;
import io.krill.oci.image.Platform;
import io.krill.oci.layout.OciLayout;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;

/**
 * OCI layouts holding one image per platform: a {@code linux/<host>} entry whose command is a Linux
 * executable beside a {@code wasip1/wasm} entry, the way a project publishes both builds under one
 * tag. Pushed with {@code krill image push}, several layout entries become one index.
 */
public final class MultiPlatformImages {
  /**
   * Just enough of an ELF header for krill (and a reader) to recognise what it is; never executed.
   */
  public static final byte[] ELF = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0};

  private MultiPlatformImages() {}

  /**
   * The wasm entry carries the module as a wasm layer (runwasi's shape), entrypoint {@code
   * hello.wasm}.
   */
  public static Path withWasmLayer(Path dir, byte[] module) {
    return write(
        dir,
        (layout) -> {
          Descriptor l = layout.putBlob(MediaTypes.WASM_LAYER, module);
          return image(layout, Platform.WASIP1, l, List.of(), "hello.wasm");
        });
  }

  /**
   * The wasm entry carries the module as {@code /hello.wasm} in a tar layer ({@code krill image
   * build}'s shape).
   */
  public static Path withTarLayer(Path dir, byte[] module) {
    return write(
        dir,
        (layout) -> {
          byte[] tar = tar("hello.wasm", module);
          Descriptor l = layout.putBlob(MediaTypes.OCI_LAYER_TAR, tar);
          return image(layout, Platform.WASIP1, l, List.of(Digest.sha256(tar)), "/hello.wasm");
        });
  }

  private interface WasmEntry {
    Descriptor write(OciLayout layout) throws IOException;
  }

  private static Path write(Path dir, WasmEntry wasm) {
    try {
      OciLayout layout = OciLayout.create(dir);
      byte[] tar = tar("hello", ELF);
      Descriptor linuxLayer = layout.putBlob(MediaTypes.OCI_LAYER_TAR, tar);
      Descriptor linux =
          image(
              layout,
              new Platform("linux", OciImage.hostArchitecture(), null),
              linuxLayer,
              List.of(Digest.sha256(tar)),
              "/hello");
      layout.writeIndex(Index.of(List.of(linux, wasm.write(layout))));
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Descriptor image(
      OciLayout layout, Platform p, Descriptor layer, List<Digest> diffIds, String entrypoint)
      throws IOException {
    ImageConfig config =
        new ImageConfig(
            p.architecture(),
            p.os(),
            "1970-01-01T00:00:00Z",
            List.of(entrypoint),
            null,
            null,
            null,
            diffIds,
            null);
    Descriptor c = layout.putBlob(MediaTypes.OCI_CONFIG, Json.bytes(config.toImageJson()));
    return layout
        .putBlob(MediaTypes.OCI_MANIFEST, Manifest.of(null, c, List.of(layer), null).toBytes())
        .withPlatform(p);
  }

  private static byte[] tar(String name, byte[] content) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (Tar t = new Tar(out)) {
      t.file(name, 0755, content);
    }
    return out.toByteArray();
  }
}
