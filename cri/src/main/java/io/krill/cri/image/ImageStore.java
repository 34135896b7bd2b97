package io.krill.cri.image;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.krill.cri.io.FileTrees;
import io.krill.oci.image.Descriptor;
import io.krill.oci.image.Digest;
import io.krill.oci.image.ImageConfig;
import io.krill.oci.image.ImageReference;
import io.krill.oci.image.Index;
import io.krill.oci.image.Manifest;
import io.krill.oci.image.MediaTypes;
import io.krill.oci.image.VerifyingInputStream;
import io.krill.oci.image.WasmShape;
import io.krill.oci.layout.OciLayout;
import io.krill.oci.registry.Credentials;
import io.krill.oci.registry.RegistryClient;
import io.krill.oci.registry.RegistryException;
import io.krill.runtime.ErrorCode;
import io.krill.runtime.KrillException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * The CRI daemon's images: blobs in an OCI layout under {@code <root>/images} (content-addressed,
 * verified while streamed), unpacked trees under {@code images/rootfs/<manifest hex>}, and {@code
 * images/images.json} mapping image ids to what CRI reports. Bookkeeping calls are serialized:
 * pulls are rare and the index is small.
 *
 * <p>A pull pins every blob and tree it is about to use before it looks for them, and unpins them
 * when it is done; whatever is then neither pinned nor referenced by a recorded image is deleted.
 * So a failed pull leaves nothing behind, and a RemoveImage never deletes what a pull in flight (of
 * the same image or one sharing a layer) is using.
 */
public final class ImageStore {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final System.Logger LOG = System.getLogger("krill.cri");

  /** What one image may unpack to (and download) unless the daemon is told otherwise. */
  public static final long DEFAULT_MAX_IMAGE_BYTES = 4L << 30;

  private final Path dir;
  private final OciLayout layout;
  private final Set<String> plainHttpRegistries;
  private final long maxImageBytes;
  private final Map<String, StoredImage> images = new LinkedHashMap<>();

  /** Blob digests and rootfs names held by pulls in flight, with how many pulls hold each. */
  private final Map<String, Integer> pinned = new HashMap<>();

  /**
   * @param plainHttpRegistries registries (host:port) spoken to over HTTP; loopback ones always are
   */
  public ImageStore(Path dir, Set<String> plainHttpRegistries) throws IOException {
    this(dir, plainHttpRegistries, DEFAULT_MAX_IMAGE_BYTES);
  }

  /**
   * @param maxImageBytes limit on an image's layers, as downloaded and as unpacked
   */
  public ImageStore(Path dir, Set<String> plainHttpRegistries, long maxImageBytes)
      throws IOException {
    if (maxImageBytes <= 0) {
      throw new IllegalArgumentException("the image size limit must be positive");
    }
    this.dir = dir;
    this.layout = OciLayout.create(dir);
    this.plainHttpRegistries = Set.copyOf(plainHttpRegistries);
    this.maxImageBytes = maxImageBytes;
    Path index = dir.resolve("images.json");
    if (Files.exists(index)) {
      List<StoredImage> saved =
          JSON.readValue(index.toFile(), new TypeReference<List<StoredImage>>() {});
      saved.forEach(i -> images.put(i.id(), i));
    }
  }

  static ImageReference normalize(String name) {
    ImageReference ref = ImageReference.parse(name);
    return ref.tag() == null && ref.digest() == null
        ? ImageReference.of(ref.registry(), ref.repository(), "latest")
        : ref;
  }

  /**
   * Downloads and unpacks without the store's lock, so ImageStatus and ListImages (kubelet calls
   * them all the time) never wait for a registry; only recording the image takes the lock.
   */
  public StoredImage pull(String name, Credentials credentials) {
    ImageReference ref = normalize(name);
    boolean plain = plainHttpRegistries.contains(ref.registry());
    RegistryClient registry = RegistryClient.of(ref, credentials, plain);
    List<String> pins = new ArrayList<>();
    try {
      RegistryClient.FetchedManifest top = registry.getManifest(ref.manifestReference());
      RegistryClient.FetchedManifest chosen =
          MediaTypes.INDEXES.contains(top.mediaType())
              ? registry.getManifest(choose(ref, top).digest().toString())
              : top;
      Manifest manifest =
          parse(ref, "manifest " + chosen.digest(), () -> Manifest.parse(chosen.bytes()));
      long size = manifest.config().size();
      for (Descriptor layer : manifest.layers()) {
        size = layer.size() > maxImageBytes - size ? Long.MAX_VALUE : size + layer.size();
        if (size > maxImageBytes) {
          throw tooLarge(
              ref,
              "its layers and config are more bytes to download than the limit (layer "
                  + layer.digest()
                  + " alone is "
                  + layer.size()
                  + ")");
        }
      }
      fetch(ref, registry, manifest.config(), pins);
      for (Descriptor layer : manifest.layers()) {
        fetch(ref, registry, layer, pins);
      }
      pin(chosen.digest().toString(), pins);
      layout.putBlob(
          Descriptor.of(chosen.mediaType(), chosen.digest(), chosen.bytes().length),
          new ByteArrayInputStream(chosen.bytes()));
      return record(unpack(ref, top.digest(), chosen.digest(), manifest, size, pins));
    } catch (RegistryException e) {
      if (e.status() == 200) {
        // The registry answered, with a document that is not what was asked for (wrong digest,
        // oversized).
        throw new KrillException(
            ErrorCode.FAILED_PRECONDITION,
            "pull "
                + ref
                + ": "
                + e.getMessage()
                + "; the registry's copy is corrupt or tampered with: push the image again",
            e);
      }
      throw new RegistryException(e.status(), "pull " + ref + ": " + e.getMessage(), e);
    } catch (IOException e) {
      throw new KrillException(ErrorCode.INTERNAL, "pull " + ref + ": " + e.getMessage(), e);
    } finally {
      unpin(pins);
    }
  }

  private static <T> T parse(ImageReference ref, String what, Supplier<T> parser) {
    try {
      return parser.get();
    } catch (IllegalArgumentException e) {
      throw new KrillException(
          ErrorCode.INVALID_ARGUMENT,
          "pull "
              + ref
              + ": "
              + what
              + " is not valid: "
              + e.getMessage()
              + "; the registry holds a broken image: push it again");
    }
  }

  private KrillException tooLarge(ImageReference ref, String what) {
    return ImageTree.tooLarge(ref, what, maxImageBytes);
  }

  private synchronized StoredImage record(StoredImage pulled) throws IOException {
    StoredImage image = pulled;
    String tag = image.repoTags().isEmpty() ? null : image.repoTags().get(0);
    // A tag moves to the newly pulled image; the old image keeps its other names.
    for (Map.Entry<String, StoredImage> e : images.entrySet()) {
      if (tag != null && e.getValue().repoTags().contains(tag) && !e.getKey().equals(image.id())) {
        e.setValue(
            e.getValue()
                .withTags(e.getValue().repoTags().stream().filter(t -> !t.equals(tag)).toList()));
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

  /**
   * Pins {@code key} for the pull that collects {@code pins}; pinning comes before looking for it
   * on disk.
   */
  private synchronized void pin(String key, List<String> pins) {
    pinned.merge(key, 1, Integer::sum);
    pins.add(key);
  }

  /**
   * Releases a pull's pins and deletes what is then neither pinned nor part of a recorded image.
   */
  private synchronized void unpin(List<String> pins) {
    Set<String> referenced = null;
    for (String key : pins) {
      if (pinned.merge(key, -1, Integer::sum) > 0) {
        continue;
      }
      pinned.remove(key);
      try {
        if (referenced == null) {
          referenced = referenced();
        }
        if (!referenced.contains(key)) {
          if (key.startsWith("rootfs/")) {
            FileTrees.deleteTree(dir.resolve(key));
          } else {
            Files.deleteIfExists(blob(key));
          }
        }
      } catch (IOException | RuntimeException e) {
        LOG.log(
            Level.WARNING, "image store: cannot delete unreferenced {0}: {1}", key, e.getMessage());
      }
    }
  }

  /** Every blob digest and rootfs name the recorded images use. */
  private Set<String> referenced() throws IOException {
    Set<String> out = new HashSet<>();
    for (StoredImage i : images.values()) {
      out.addAll(blobsOf(i));
      if (i.rootfs() != null) {
        out.add(i.rootfs());
      }
    }
    return out;
  }

  /** The wasm entry of an index when there is one (krill runs wasm), else the single entry. */
  private static Descriptor choose(ImageReference ref, RegistryClient.FetchedManifest top) {
    Index index = parse(ref, "index " + top.digest(), () -> Index.parse(top.bytes()));
    try {
      return index.wasmManifest();
    } catch (IllegalArgumentException e) {
      throw new KrillException(ErrorCode.INVALID_ARGUMENT, "pull " + ref + ": " + e.getMessage());
    }
  }

  private void fetch(ImageReference ref, RegistryClient registry, Descriptor d, List<String> pins)
      throws IOException {
    pin(d.digest().toString(), pins);
    if (layout.hasBlob(d)) {
      return;
    }
    try (InputStream in = registry.getBlob(d)) {
      layout.putBlob(d, in);
    } catch (VerifyingInputStream.BlobVerificationException e) {
      throw new KrillException(
          ErrorCode.FAILED_PRECONDITION,
          "pull "
              + ref
              + ": the registry sent blob "
              + d.digest()
              + " ("
              + d.mediaType()
              + ") with bytes that do not match it ("
              + e.getMessage()
              + "); nothing was"
              + " stored: the registry's copy is corrupt or tampered with, push the image again",
          e);
    } catch (RegistryException e) {
      if (e.status() == 404) {
        throw new RegistryException(
            404,
            e.getMessage()
                + "; the manifest references blob "
                + d.digest()
                + " ("
                + d.mediaType()
                + "), which the registry does not have: push the image again",
            e);
      }
      throw e;
    }
  }

  private StoredImage unpack(
      ImageReference ref,
      Digest topDigest,
      Digest manifestDigest,
      Manifest m,
      long size,
      List<String> pins)
      throws IOException {
    byte[] configBytes = layout.readSmall(m.config(), ImageConfig.MAX_BYTES);
    Optional<ImageConfig> config = parseConfig(ref, m.config(), configBytes);
    String repoDigest = ref.registry() + "/" + ref.repository() + "@" + topDigest;
    List<String> tags = ref.digest() == null ? List.of(ref.toString()) : List.of();
    WasmShape shape = WasmShape.detect(m);
    String rootfs = null;
    String module = null;
    if (shape.isArtifact()) {
      try {
        module = WasmShape.moduleLayer(m).digest().toString();
      } catch (IllegalArgumentException e) {
        throw new KrillException(ErrorCode.INVALID_ARGUMENT, "pull " + ref + ": " + e.getMessage());
      }
    } else if (shape == WasmShape.TAR_LAYERS) {
      rootfs = "rootfs/" + manifestDigest.hex();
      pin(rootfs, pins);
      ImageTree.unpack(layout, ref, m, dir.resolve(rootfs), maxImageBytes);
    } else {
      throw new KrillException(
          ErrorCode.INVALID_ARGUMENT,
          "pull "
              + ref
              + ": neither a tar-layer image nor a wasm"
              + " artifact (layers "
              + m.layers().stream().map(Descriptor::mediaType).toList()
              + ")");
    }
    return new StoredImage(
        m.config().digest().toString(),
        tags,
        List.of(repoDigest),
        manifestDigest.toString(),
        size,
        rootfs,
        module,
        config.map(ImageConfig::entrypoint).orElse(List.of()),
        config.map(ImageConfig::cmd).orElse(List.of()),
        config.map(ImageConfig::env).orElse(List.of()),
        config.map(ImageConfig::workingDir).orElse(""),
        config.map(ImageConfig::user).orElse(""));
  }

  private static Optional<ImageConfig> parseConfig(ImageReference ref, Descriptor d, byte[] bytes) {
    if (!d.mediaType().equals(MediaTypes.OCI_CONFIG)
        && !d.mediaType().equals(MediaTypes.DOCKER_CONFIG)) {
      try {
        return Optional.of(ImageConfig.parse(bytes));
      } catch (IllegalArgumentException e) {
        // wasm artifact configs may carry no platform; such images simply have no process defaults
        return Optional.empty();
      }
    }
    return Optional.of(parse(ref, "image config " + d.digest(), () -> ImageConfig.parse(bytes)));
  }

  /** An image by tag, repo digest or id; a bare name means its {@code :latest}. */
  public synchronized Optional<StoredImage> find(String name) {
    Optional<StoredImage> direct =
        images.values().stream().filter(i -> i.isNamed(name)).findFirst();
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

  public synchronized List<StoredImage> list() {
    return List.copyOf(images.values());
  }

  public Path rootfs(StoredImage image) {
    return image.rootfs() == null ? null : dir.resolve(image.rootfs());
  }

  public Path blob(String digest) {
    return layout.blobPath(Digest.parse(digest));
  }

  /**
   * containerd's verbose image info (the {@code info} key of ImageStatus): {@code imageSpec}, the
   * image's config as stored, and {@code chainID}, the chain of its layers' diff ids.
   */
  public String verboseInfo(StoredImage image) {
    var n = JSON.createObjectNode();
    com.fasterxml.jackson.databind.JsonNode config = null;
    try {
      config = JSON.readTree(Files.readAllBytes(blob(image.id())));
    } catch (IOException e) {
      // A wasm artifact's config need not be JSON; the info then has no imageSpec.
      LOG.log(
          Level.DEBUG, "image {0}: config is not a JSON document: {1}", image.id(), e.getMessage());
    }
    if (config != null && config.isObject()) {
      n.put("chainID", chainId(config.path("rootfs").path("diff_ids")));
      n.set("imageSpec", config);
    } else {
      n.put("chainID", "");
      n.putNull("imageSpec");
    }
    try {
      return JSON.writeValueAsString(n);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The OCI chain id: the first diff id, then sha256 of "<chain> <next diff id>" for each next. */
  static String chainId(Iterable<com.fasterxml.jackson.databind.JsonNode> diffIds) {
    String chain = "";
    for (var d : diffIds) {
      chain = chain.isEmpty() ? d.asText() : sha256(chain + " " + d.asText());
    }
    return chain;
  }

  private static String sha256(String s) {
    try {
      byte[] h =
          java.security.MessageDigest.getInstance("SHA-256")
              .digest(s.getBytes(java.nio.charset.StandardCharsets.UTF_8));
      return "sha256:" + java.util.HexFormat.of().formatHex(h);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Forgets the image and deletes its tree and the blobs no other image uses. {@code inUse} says
   * whether a container still runs from the image, which makes removal a FAILED_PRECONDITION.
   */
  public synchronized void remove(String name, Predicate<StoredImage> inUse) {
    Optional<StoredImage> found = find(name);
    if (found.isEmpty()) {
      return;
    }
    StoredImage image = found.get();
    if (inUse.test(image)) {
      throw new KrillException(
          ErrorCode.FAILED_PRECONDITION, "image " + name + " is used by a container");
    }
    images.remove(image.id());
    try {
      save();
      if (image.rootfs() != null
          && !pinned.containsKey(image.rootfs())
          && images.values().stream().noneMatch(i -> image.rootfs().equals(i.rootfs()))) {
        FileTrees.deleteTree(dir.resolve(image.rootfs()));
      }
      // Blobs shared with another image or held by a pull in flight stay; the pull collects them if
      // it fails.
      Set<String> kept = new HashSet<>();
      for (StoredImage other : images.values()) {
        kept.addAll(blobsOf(other));
      }
      for (String d : blobsOf(image)) {
        if (!kept.contains(d) && !pinned.containsKey(d)) {
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
      Manifest.parse(Files.readAllBytes(manifest))
          .layers()
          .forEach(l -> out.add(l.digest().toString()));
    }
    return out;
  }

  /** Bytes and inodes the store uses on disk, as ImageFsInfo reports them. */
  public long[] usage() {
    long[] totals = new long[2];
    try (Stream<Path> files = Files.walk(dir)) {
      files.forEach(
          p -> {
            try {
              BasicFileAttributes a =
                  Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
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

  public Path dir() {
    return dir;
  }

  private void save() throws IOException {
    Path tmp = Files.createTempFile(dir, ".images", ".json");
    JSON.writeValue(tmp.toFile(), List.copyOf(images.values()));
    Files.move(
        tmp,
        dir.resolve("images.json"),
        StandardCopyOption.REPLACE_EXISTING,
        StandardCopyOption.ATOMIC_MOVE);
  }
}
