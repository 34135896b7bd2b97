package io.krill.cri;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.krill.oci.image.Descriptor;
import io.krill.oci.image.Digest;
import io.krill.oci.image.ImageConfig;
import io.krill.oci.image.ImageReference;
import io.krill.oci.image.Index;
import io.krill.oci.image.Manifest;
import io.krill.oci.image.MediaTypes;
import io.krill.oci.image.WasmShape;
import io.krill.oci.layout.OciLayout;
import io.krill.oci.layout.SafeUnpacker;
import io.krill.oci.registry.Credentials;
import io.krill.oci.registry.RegistryClient;
import io.krill.runtime.ErrorCode;
import io.krill.runtime.KrillException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;
import java.util.stream.Stream;

/**
 * The CRI daemon's images: blobs in an OCI layout under {@code <root>/images} (content-addressed, verified
 * while streamed), unpacked trees under {@code images/rootfs/<manifest hex>}, and {@code images/images.json}
 * mapping image ids to what CRI reports. Calls are serialized: pulls are rare and the index is small.
 */
final class ImageStore {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final SafeUnpacker UNPACKER = new SafeUnpacker(SafeUnpacker.Limits.of(4L << 30, 1_000_000));

  private final Path dir;
  private final OciLayout layout;
  private final Set<String> plainHttpRegistries;
  private final Map<String, StoredImage> images = new LinkedHashMap<>();

  /** @param plainHttpRegistries registries (host:port) spoken to over HTTP; loopback ones always are */
  ImageStore(Path dir, Set<String> plainHttpRegistries) throws IOException {
    this.dir = dir;
    this.layout = OciLayout.create(dir);
    this.plainHttpRegistries = Set.copyOf(plainHttpRegistries);
    Path index = dir.resolve("images.json");
    if (Files.exists(index)) {
      List<StoredImage> saved = JSON.readValue(index.toFile(), new TypeReference<List<StoredImage>>() {});
      saved.forEach(i -> images.put(i.id(), i));
    }
  }

  static ImageReference normalize(String name) {
    ImageReference ref = ImageReference.parse(name);
    return ref.tag() == null && ref.digest() == null ? ImageReference.of(ref.registry(), ref.repository(), "latest")
        : ref;
  }

  /**
   * Downloads and unpacks without the store's lock, so ImageStatus and ListImages (kubelet calls them all the
   * time) never wait for a registry; only recording the image takes the lock.
   */
  StoredImage pull(String name, Credentials credentials) {
    ImageReference ref = normalize(name);
    boolean plain = plainHttpRegistries.contains(ref.registry());
    RegistryClient registry = RegistryClient.of(ref, credentials, plain);
    try {
      RegistryClient.FetchedManifest top = registry.getManifest(ref.manifestReference());
      RegistryClient.FetchedManifest chosen = top;
      if (MediaTypes.INDEXES.contains(top.mediaType())) {
        Descriptor entry = choose(Index.parse(top.bytes()));
        chosen = registry.getManifest(entry.digest().toString());
      }
      Manifest manifest = Manifest.parse(chosen.bytes());
      fetch(registry, manifest.config());
      long size = manifest.config().size();
      for (Descriptor layer : manifest.layers()) {
        fetch(registry, layer);
        size += layer.size();
      }
      layout.putBlob(Descriptor.of(chosen.mediaType(), chosen.digest(), chosen.bytes().length),
          new java.io.ByteArrayInputStream(chosen.bytes()));
      return record(unpack(ref, top.digest(), chosen.digest(), manifest, size));
    } catch (IOException e) {
      throw new KrillException(ErrorCode.INTERNAL, "pull " + name + ": " + e.getMessage(), e);
    }
  }

  private synchronized StoredImage record(StoredImage pulled) throws IOException {
    StoredImage image = pulled;
    String tag = image.repoTags().isEmpty() ? null : image.repoTags().get(0);
    // A tag moves to the newly pulled image; the old image keeps its other names.
    for (Map.Entry<String, StoredImage> e : images.entrySet()) {
      if (tag != null && e.getValue().repoTags().contains(tag) && !e.getKey().equals(image.id())) {
        e.setValue(e.getValue().withTags(e.getValue().repoTags().stream().filter(t -> !t.equals(tag)).toList()));
      }
    }
    StoredImage old = images.get(image.id());
    if (old != null) {
      List<String> tags = new ArrayList<>(old.repoTags());
      image.repoTags().stream().filter(t -> !tags.contains(t)).forEach(tags::add);
      image = image.withTags(tags);
    }
    images.put(image.id(), image);
    save();
    return image;
  }

  /** The wasm entry of an index when there is one (krill runs wasm), else the single entry. */
  private static Descriptor choose(Index index) {
    try {
      return index.wasmManifest();
    } catch (IllegalArgumentException e) {
      throw new KrillException(ErrorCode.INVALID_ARGUMENT, e.getMessage());
    }
  }

  private void fetch(RegistryClient registry, Descriptor d) throws IOException {
    if (!layout.hasBlob(d)) {
      try (InputStream in = registry.getBlob(d)) {
        layout.putBlob(d, in);
      }
    }
  }

  private StoredImage unpack(ImageReference ref, Digest topDigest, Digest manifestDigest, Manifest m, long size)
      throws IOException {
    byte[] configBytes = layout.readSmall(m.config(), ImageConfig.MAX_BYTES);
    Optional<ImageConfig> config = parseConfig(configBytes);
    String repoDigest = ref.registry() + "/" + ref.repository() + "@" + topDigest;
    List<String> tags = ref.digest() == null ? List.of(ref.toString()) : List.of();
    WasmShape shape = WasmShape.detect(m);
    String rootfs = null;
    String module = null;
    if (shape.isArtifact()) {
      try {
        module = WasmShape.moduleLayer(m).digest().toString();
      } catch (IllegalArgumentException e) {
        throw new KrillException(ErrorCode.INVALID_ARGUMENT, ref + ": " + e.getMessage());
      }
    } else if (shape == WasmShape.TAR_LAYERS) {
      rootfs = "rootfs/" + manifestDigest.hex();
      Path target = dir.resolve(rootfs);
      if (!Files.isDirectory(target)) {
        // Unique per pull: two pulls of one image unpack side by side and the first to finish wins.
        Path tmp = Files.createTempDirectory(Files.createDirectories(dir.resolve("rootfs")), ".tmp-");
        try {
          for (Descriptor layer : m.layers()) {
            try (InputStream in = layout.openBlob(layer)) {
              UNPACKER.unpack(in, tmp);
            }
          }
          try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
          } catch (java.nio.file.FileAlreadyExistsException | java.nio.file.DirectoryNotEmptyException lost) {
            deleteTree(tmp);
          }
        } catch (SafeUnpacker.UnsafeArchiveException e) {
          deleteTree(tmp);
          throw new KrillException(ErrorCode.INVALID_ARGUMENT, ref + ": refused layer: " + e.getMessage(), e);
        } catch (IOException | RuntimeException e) {
          deleteTree(tmp);
          throw e;
        }
      }
    } else {
      throw new KrillException(ErrorCode.INVALID_ARGUMENT, ref + ": neither a tar-layer image nor a wasm artifact"
          + " (layers " + m.layers().stream().map(Descriptor::mediaType).toList() + ")");
    }
    return new StoredImage(m.config().digest().toString(), tags, List.of(repoDigest), manifestDigest.toString(),
        size, rootfs, module, config.map(ImageConfig::entrypoint).orElse(List.of()),
        config.map(ImageConfig::cmd).orElse(List.of()), config.map(ImageConfig::env).orElse(List.of()),
        config.map(ImageConfig::workingDir).orElse(""));
  }

  private static Optional<ImageConfig> parseConfig(byte[] bytes) {
    try {
      return Optional.of(ImageConfig.parse(bytes));
    } catch (IllegalArgumentException e) {
      // wasm artifact configs may carry no platform; such images simply have no process defaults
      return Optional.empty();
    }
  }

  /** An image by tag, repo digest or id; a bare name means its {@code :latest}. */
  synchronized Optional<StoredImage> find(String name) {
    Optional<StoredImage> direct = images.values().stream().filter(i -> i.isNamed(name)).findFirst();
    if (direct.isPresent() || name.startsWith("sha256:")) {
      return direct;
    }
    try {
      String normal = normalize(name).toString();
      return images.values().stream().filter(i -> i.isNamed(normal)).findFirst();
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
  }

  synchronized List<StoredImage> list() {
    return List.copyOf(images.values());
  }

  Path rootfs(StoredImage image) {
    return image.rootfs() == null ? null : dir.resolve(image.rootfs());
  }

  Path blob(String digest) {
    return layout.blobPath(Digest.parse(digest));
  }

  /**
   * Forgets the image and deletes its tree and the blobs no other image uses. {@code inUse} says whether a
   * container still runs from the image, which makes removal a FAILED_PRECONDITION.
   */
  synchronized void remove(String name, Predicate<StoredImage> inUse) {
    Optional<StoredImage> found = find(name);
    if (found.isEmpty()) {
      return;
    }
    StoredImage image = found.get();
    if (inUse.test(image)) {
      throw new KrillException(ErrorCode.FAILED_PRECONDITION, "image " + name + " is used by a container");
    }
    images.remove(image.id());
    try {
      save();
      if (image.rootfs() != null && images.values().stream().noneMatch(i -> image.rootfs().equals(i.rootfs()))) {
        deleteTree(dir.resolve(image.rootfs()));
      }
      // Blobs shared with another image stay; unreferenced ones are collected by digest.
      Set<String> kept = new java.util.HashSet<>();
      for (StoredImage other : images.values()) {
        kept.addAll(blobsOf(other));
      }
      for (String d : blobsOf(image)) {
        if (!kept.contains(d)) {
          Files.deleteIfExists(blob(d));
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("remove image " + name, e);
    }
  }

  private List<String> blobsOf(StoredImage image) throws IOException {
    List<String> out = new ArrayList<>(List.of(image.manifestDigest(), image.id()));
    Path manifest = blob(image.manifestDigest());
    if (Files.exists(manifest)) {
      Manifest.parse(Files.readAllBytes(manifest)).layers().forEach(l -> out.add(l.digest().toString()));
    }
    return out;
  }

  /** Bytes and inodes the store uses on disk, as ImageFsInfo reports them. */
  long[] usage() {
    long[] totals = new long[2];
    try (Stream<Path> files = Files.walk(dir)) {
      files.forEach(p -> {
        try {
          BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class,
              java.nio.file.LinkOption.NOFOLLOW_LINKS);
          totals[0] += a.isRegularFile() ? a.size() : 0;
          totals[1]++;
        } catch (IOException ignored) {
          // removed while walking
        }
      });
    } catch (IOException | UncheckedIOException e) {
      // a concurrent removal; the next call counts again
    }
    return totals;
  }

  Path dir() {
    return dir;
  }

  private void save() throws IOException {
    Path tmp = Files.createTempFile(dir, ".images", ".json");
    JSON.writeValue(tmp.toFile(), List.copyOf(images.values()));
    Files.move(tmp, dir.resolve("images.json"), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  static void deleteTree(Path root) throws IOException {
    if (!Files.exists(root, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    Files.walkFileTree(root, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
        Files.delete(file);
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
        Files.delete(d);
        return FileVisitResult.CONTINUE;
      }
    });
  }
}
