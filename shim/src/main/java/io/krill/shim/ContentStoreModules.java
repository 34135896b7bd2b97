package io.krill.shim;

import io.krill.oci.image.Descriptor;
import io.krill.oci.image.Digest;
import io.krill.oci.image.Index;
import io.krill.oci.image.Manifest;
import io.krill.oci.image.MediaTypes;
import io.krill.oci.image.VerifyingInputStream;
import io.krill.oci.image.WasmShape;
import io.krill.runtime.ErrorCode;
import io.krill.runtime.ImageModules;
import io.krill.runtime.KrillException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Optional;

/**
 * Reads the wasm layer of a container's image from containerd's content store: containerd 1.7+/2.x
 * skip non-tar layers when unpacking, so the rootfs of a wasm-layer image is empty. Container →
 * image name → target (an index resolves to its wasm manifest) → the manifest's single wasm layer,
 * streamed and verified against its digest. Verified layers are kept under {@code
 * <cache>/<algorithm>/<hex>}, so replicas and daemon restarts read containerd's manifest, not the
 * layer, again; {@link #prune} drops those containerd has since removed.
 */
final class ContentStoreModules implements ImageModules {
  private static final System.Logger LOG = System.getLogger("krill.images");
  static final long MAX_LAYER_BYTES = 512L << 20;

  private final ContentStore store;
  private final Optional<Path> cache;

  /**
   * @param cache where verified layers are kept; empty = read containerd every time
   */
  ContentStoreModules(ContentStore store, Optional<Path> cache) {
    this.store = store;
    this.cache = cache;
  }

  @Override
  public Optional<ImageModule> find(String containerId) {
    Optional<String> image;
    try {
      image = store.containerImage(containerId);
    } catch (ContentStore.NotFound e) {
      // containerd holds no such container (a client created the task without it): no image to
      // ask, so the caller reports the module missing from the rootfs, which is the user's to fix.
      return Optional.empty();
    } catch (IOException e) {
      throw unreadable(
          containerId,
          "containerd did not say which image it was created from: " + e.getMessage(),
          e);
    }
    if (image.isEmpty()) {
      return Optional.empty();
    }
    String name = image.get();
    Manifest manifest = manifest(containerId, name);
    if (!WasmShape.detect(manifest).isArtifact()) {
      return Optional.empty();
    }
    Descriptor layer;
    try {
      layer = WasmShape.moduleLayer(manifest);
    } catch (IllegalArgumentException e) {
      throw invalid(containerId, "image " + name + ": " + e.getMessage());
    }
    if (layer.size() > MAX_LAYER_BYTES) {
      throw invalid(
          containerId,
          "image "
              + name
              + ": its wasm layer "
              + layer.digest()
              + " is "
              + (layer.size() >> 20)
              + " MiB, larger than krill's limit of "
              + (MAX_LAYER_BYTES >> 20)
              + " MiB");
    }
    return Optional.of(
        new ImageModule(name, layer.digest().toString(), layerBytes(containerId, name, layer)));
  }

  private Manifest manifest(String id, String name) {
    try {
      Descriptor target = store.imageTarget(name);
      boolean multiPlatform = false;
      if (MediaTypes.INDEXES.contains(target.mediaType())) {
        Index index = Index.parse(small(target));
        multiPlatform = index.manifests().size() > 1 && index.wasmEntry().isPresent();
        target = index.wasmManifest();
      }
      if (!MediaTypes.MANIFESTS.contains(target.mediaType())) {
        throw invalid(
            id,
            "image "
                + name
                + ": "
                + target.digest()
                + " has media type "
                + target.mediaType()
                + ", neither an image index nor a manifest");
      }
      Manifest manifest;
      try {
        manifest = Manifest.parse(small(target));
      } catch (ContentStore.NotFound e) {
        if (!multiPlatform) {
          throw e;
        }
        // ctr and the CRI pull only the host's entry of an index unless told otherwise.
        throw invalid(
            id,
            "image "
                + name
                + " has a wasip1/wasm entry, but containerd holds only another platform's"
                + " content: pull it with `ctr images pull --platform wasip1/wasm "
                + name
                + "` (or --all-platforms)");
      }
      if (multiPlatform && !WasmShape.detect(manifest).isArtifact()) {
        // Its module is inside a tar layer that containerd unpacked only if the container was made
        // from it.
        throw invalid(
            id,
            "the root filesystem holds no module, and image "
                + name
                + " keeps it in a tar layer of"
                + " its wasip1/wasm entry, which containerd unpacks only for `ctr run --platform wasip1/wasm`");
      }
      return manifest;
    } catch (IllegalArgumentException e) {
      throw invalid(id, "image " + name + ": " + e.getMessage());
    } catch (IOException e) {
      throw unreadable(id, "cannot read image " + name + " from containerd: " + e.getMessage(), e);
    }
  }

  /** A manifest or index, verified; these are small (the registry's own limit is 4 MiB). */
  private byte[] small(Descriptor d) throws IOException {
    if (d.size() > Manifest.MAX_BYTES) {
      throw new IllegalArgumentException(
          d.digest()
              + " is "
              + d.size()
              + " bytes, more than the "
              + Manifest.MAX_BYTES
              + "-byte limit for manifests");
    }
    try (InputStream in = new VerifyingInputStream(store.read(d.digest()), d)) {
      return in.readAllBytes();
    }
  }

  private byte[] layerBytes(String id, String image, Descriptor layer) {
    String what = "the wasm layer " + layer.digest() + " of image " + image;
    try {
      if (cache.isEmpty()) {
        ByteArrayOutputStream out = new ByteArrayOutputStream((int) layer.size());
        copyVerified(layer, out);
        return out.toByteArray();
      }
      Path file = cache.get().resolve(layer.digest().algorithm()).resolve(layer.digest().hex());
      if (Files.isRegularFile(file)) {
        // Verified again on every hit: hashing a module costs far less than running a corrupted
        // one.
        try (InputStream in = new VerifyingInputStream(Files.newInputStream(file), layer)) {
          byte[] bytes = in.readAllBytes();
          LOG.log(Level.INFO, "container {0}: layer cache hit for {1}", id, layer.digest());
          return bytes;
        } catch (VerifyingInputStream.BlobVerificationException e) {
          LOG.log(
              Level.WARNING,
              "container {0}: dropping cached layer {1}: {2}",
              id,
              file,
              e.getMessage());
          Files.deleteIfExists(file);
        }
      }
      Files.createDirectories(file.getParent());
      // Written beside its final name and renamed once verified, so the cache never holds a bad
      // layer.
      Path tmp = Files.createTempFile(file.getParent(), ".layer-", ".tmp");
      try {
        try (OutputStream out = Files.newOutputStream(tmp)) {
          copyVerified(layer, out);
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } finally {
        Files.deleteIfExists(tmp);
      }
      LOG.log(
          Level.INFO,
          "container {0}: read {1} ({2} bytes) from containerd into the layer cache",
          id,
          layer.digest(),
          String.valueOf(layer.size()));
      return Files.readAllBytes(file);
    } catch (VerifyingInputStream.BlobVerificationException e) {
      throw invalid(id, what + " does not match its descriptor: " + e.getMessage());
    } catch (IOException e) {
      throw unreadable(id, "cannot read " + what + ": " + e.getMessage(), e);
    }
  }

  /**
   * Drops cached layers containerd no longer holds (its garbage collector removed them with their
   * last image), and temp files of writes that never finished. Stops at the first error talking to
   * containerd, keeping the rest: a cache entry is only ever dropped on containerd's word. Returns
   * how many files were removed.
   */
  int prune(Duration tempAge) {
    if (cache.isEmpty() || !Files.isDirectory(cache.get())) {
      return 0;
    }
    int removed = 0;
    long tempCutoff = System.currentTimeMillis() - tempAge.toMillis();
    try (var algorithms = Files.list(cache.get())) {
      for (Path dir : algorithms.filter(Files::isDirectory).toList()) {
        try (var files = Files.list(dir)) {
          for (Path file : files.toList()) {
            String name = file.getFileName().toString();
            if (name.startsWith(".layer-")) {
              if (Files.getLastModifiedTime(file).toMillis() < tempCutoff
                  && Files.deleteIfExists(file)) {
                removed++;
              }
              continue;
            }
            Digest digest;
            try {
              digest = Digest.parse(dir.getFileName() + ":" + name);
            } catch (IllegalArgumentException e) {
              continue;
            }
            if (!store.has(digest) && Files.deleteIfExists(file)) {
              LOG.log(
                  Level.INFO, "layer cache: dropped {0}, which containerd no longer holds", digest);
              removed++;
            }
          }
        }
      }
    } catch (IOException e) {
      LOG.log(Level.WARNING, "layer cache: pruning stopped: {0}", e.getMessage());
    }
    return removed;
  }

  private void copyVerified(Descriptor layer, OutputStream out) throws IOException {
    try (InputStream in = new VerifyingInputStream(store.read(layer.digest()), layer)) {
      in.transferTo(out);
    }
  }

  private static KrillException invalid(String id, String message) {
    return new KrillException(ErrorCode.INVALID_ARGUMENT, "container " + id + ": " + message);
  }

  private static KrillException unreadable(String id, String message, IOException cause) {
    return new KrillException(
        ErrorCode.UNAVAILABLE,
        "container " + id + ": its module is not in the root" + " filesystem, and " + message,
        cause);
  }
}
