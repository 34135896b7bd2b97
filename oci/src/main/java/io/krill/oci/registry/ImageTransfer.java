package io.krill.oci.registry;

import io.krill.oci.image.Descriptor;
import io.krill.oci.image.Index;
import io.krill.oci.image.Manifest;
import io.krill.oci.image.MediaTypes;
import io.krill.oci.layout.OciLayout;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Copies an image between an OCI layout and a registry, blob by blob, children before their
 * parents.
 */
public final class ImageTransfer {
  private final RegistryClient registry;
  private final PrintStream progress;
  private final int chunkSize;

  public ImageTransfer(RegistryClient registry, PrintStream progress, int chunkSize) {
    this.registry = registry;
    this.progress = progress;
    this.chunkSize = chunkSize;
  }

  /**
   * Pushes the layout's image to the client's reference. One image in the layout is pushed as that
   * image; several become one index, so a multi-platform layout arrives as a multi-platform image.
   */
  public Descriptor push(OciLayout layout) throws IOException {
    List<Descriptor> entries = layout.index().manifests();
    if (entries.isEmpty()) {
      throw new IOException("the layout " + layout.dir() + " holds no image");
    }
    for (Descriptor d : entries) {
      pushTree(layout, d);
    }
    String tag = registry.reference().manifestReference();
    if (entries.size() == 1) {
      Descriptor only = entries.get(0);
      registry.putManifest(tag, only.mediaType(), layout.readSmall(only, Manifest.MAX_BYTES));
      return Descriptor.of(only.mediaType(), only.digest(), only.size());
    }
    List<Descriptor> plain =
        entries.stream()
            .map(d -> Descriptor.of(d.mediaType(), d.digest(), d.size()).withPlatform(d.platform()))
            .toList();
    byte[] index = Index.of(plain).toBytes();
    return Descriptor.of(
        MediaTypes.OCI_INDEX, registry.putManifest(tag, MediaTypes.OCI_INDEX, index), index.length);
  }

  private void pushTree(OciLayout layout, Descriptor d) throws IOException {
    byte[] doc = layout.readSmall(d, Manifest.MAX_BYTES);
    if (MediaTypes.INDEXES.contains(d.mediaType())) {
      for (Descriptor child : Index.parse(doc).manifests()) {
        pushTree(layout, child);
      }
    } else {
      Manifest m = Manifest.parse(doc);
      pushBlob(layout, m.config());
      for (Descriptor l : m.layers()) {
        pushBlob(layout, l);
      }
    }
    registry.putManifest(d.digest().toString(), d.mediaType(), doc);
  }

  private void pushBlob(OciLayout layout, Descriptor d) {
    boolean uploaded = registry.pushBlob(d, () -> layout.openBlob(d), chunkSize);
    progress.printf(
        "%s %s %s (%d bytes)%n",
        uploaded ? "pushed" : "exists", d.digest().shortHex(), d.mediaType(), d.size());
  }

  /**
   * Pulls the client's reference (every platform of an index) into {@code layout}, naming it there.
   */
  public Descriptor pull(OciLayout layout) throws IOException {
    RegistryClient.FetchedManifest top =
        registry.getManifest(registry.reference().manifestReference());
    Descriptor root = storeTree(layout, top);
    Map<String, String> names = new TreeMap<>();
    names.put(Index.CONTAINERD_NAME, registry.reference().toString());
    names.put(
        Index.REF_NAME, registry.reference().tag() == null ? "latest" : registry.reference().tag());
    Descriptor named = root.withAnnotations(names);
    layout.writeIndex(Index.of(List.of(named)));
    return named;
  }

  private Descriptor storeTree(OciLayout layout, RegistryClient.FetchedManifest doc)
      throws IOException {
    if (MediaTypes.INDEXES.contains(doc.mediaType())) {
      for (Descriptor child : Index.parse(doc.bytes()).manifests()) {
        storeTree(layout, registry.getManifest(child.digest().toString()));
      }
    } else {
      Manifest m = Manifest.parse(doc.bytes());
      List<Descriptor> blobs = new ArrayList<>();
      blobs.add(m.config());
      blobs.addAll(m.layers());
      for (Descriptor b : blobs) {
        if (!layout.hasBlob(b)) {
          try (InputStream in = registry.getBlob(b)) {
            layout.putBlob(b, in);
          }
          progress.printf(
              "pulled %s %s (%d bytes)%n", b.digest().shortHex(), b.mediaType(), b.size());
        }
      }
    }
    Descriptor d = Descriptor.of(doc.mediaType(), doc.digest(), doc.bytes().length);
    layout.putBlob(d, new ByteArrayInputStream(doc.bytes()));
    return d;
  }
}
