package io.krill.cli;

import io.krill.oci.image.Descriptor;
import io.krill.oci.image.ImageConfig;
import io.krill.oci.image.ImageReference;
import io.krill.oci.image.Index;
import io.krill.oci.image.Json;
import io.krill.oci.image.Manifest;
import io.krill.oci.image.MediaTypes;
import io.krill.oci.image.WasmShape;
import io.krill.oci.layout.OciLayout;
import io.krill.oci.registry.RegistryClient;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Path;

/**
 * {@code krill image inspect}: the manifest, the config and the wasm shape, from a registry or from
 * disk.
 */
final class ImageInspector {
  private final PrintStream out;

  ImageInspector(PrintStream out) {
    this.out = out;
  }

  /** Reads documents of one image, wherever it is. */
  private interface Source {
    byte[] read(Descriptor d) throws IOException;
  }

  /** How to reach the registry of a reference (credentials, plain HTTP). */
  interface Clients {
    RegistryClient of(ImageReference ref) throws IOException;
  }

  int inspect(String target, Clients clients) throws IOException {
    if (LocalImage.looksLocal(target)) {
      try (LocalImage local = LocalImage.open(Path.of(target))) {
        OciLayout layout = local.layout();
        Index index = layout.index();
        out.println("layout index:\n" + Json.pretty(index.toJson()));
        return show(index.wasmManifest(), d -> layout.readSmall(d, Manifest.MAX_BYTES));
      }
    }
    RegistryClient client = clients.of(ImageReference.parse(target));
    RegistryClient.FetchedManifest top = client.getManifest(client.reference().manifestReference());
    Descriptor d = Descriptor.of(top.mediaType(), top.digest(), top.bytes().length);
    return show(
        d,
        x ->
            x.digest().equals(top.digest())
                ? top.bytes()
                : client.getManifest(x.digest().toString()).bytes(),
        client);
  }

  private int show(Descriptor d, Source source) throws IOException {
    return show(d, source, null);
  }

  private int show(Descriptor d, Source source, RegistryClient client) throws IOException {
    byte[] doc = source.read(d);
    if (MediaTypes.INDEXES.contains(d.mediaType())) {
      Index index = Index.parse(doc);
      out.println("index " + d.digest() + ":\n" + Json.pretty(index.toJson()));
      return show(index.wasmManifest(), source, client);
    }
    Manifest m = Manifest.parse(doc);
    out.println("manifest " + d.digest() + ":\n" + Json.pretty(Json.parse(doc, "manifest")));
    byte[] config = client == null ? source.read(m.config()) : readBlob(client, m.config());
    out.println(
        "config "
            + m.config().digest()
            + " ("
            + m.config().mediaType()
            + "):\n"
            + Json.pretty(Json.parse(config, "config")));
    ImageConfig.parse(config);
    WasmShape shape = WasmShape.detect(m);
    out.println("wasm shape: " + shape.name() + ": " + shape.description());
    return shape == WasmShape.UNKNOWN ? 1 : 0;
  }

  private static byte[] readBlob(RegistryClient client, Descriptor d) throws IOException {
    if (d.size() > ImageConfig.MAX_BYTES) {
      throw new IOException(
          "config " + d.digest() + " is " + d.size() + " bytes, more than the limit");
    }
    try (InputStream in = client.getBlob(d)) {
      return in.readAllBytes();
    }
  }
}
