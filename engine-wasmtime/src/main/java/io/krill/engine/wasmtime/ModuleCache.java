package io.krill.engine.wasmtime;

import static java.nio.charset.StandardCharsets.UTF_8;
import static java.nio.file.LinkOption.NOFOLLOW_LINKS;
import static java.nio.file.StandardCopyOption.ATOMIC_MOVE;
import static java.nio.file.StandardCopyOption.REPLACE_EXISTING;
import static java.nio.file.StandardOpenOption.CREATE_NEW;
import static java.nio.file.StandardOpenOption.WRITE;

import io.krill.engine.GuestSpec;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * krill's store of the native code Wasmtime compiles, checked before Wasmtime sees a byte of it.
 *
 * <pre>
 * &lt;cache&gt;/compiled/&lt;key&gt;.cwasm    an artifact as Wasmtime wrote it (its serialized, compressed module)
 * &lt;cache&gt;/compiled/&lt;key&gt;.seal     its {@link CacheSeal}: key, size, SHA-256, Wasmtime's name for it
 * &lt;staging&gt;/&lt;n&gt;/wasmtime/          one compile's private Wasmtime cache, deleted right after it
 * </pre>
 *
 * <p>Wasmtime 7 (through wasmtime-java 0.19, which cannot serialize a module) trusts its cache
 * files: a flipped byte in one is native code it maps and runs. So Wasmtime never reads the store.
 * Each compile gets a fresh staging directory as Wasmtime's cache; on a hit krill copies the
 * artifact there, hashing while it copies, and only when size and SHA-256 match the seal, and the
 * seal is the one of this key, does it let Wasmtime compile, which then loads exactly the bytes
 * krill checked (the staging copy is the daemon's own; nothing else writes it). Any mismatch is a
 * miss: the entry goes, Wasmtime compiles, and the fresh artifact replaces it. After a miss krill
 * copies what Wasmtime wrote into the store (temporary file, then rename; the seal last), so a full
 * disk leaves a complete entry or none, and never a partial file. There is no fsync on the
 * compile's path: an entry torn by a power cut fails its seal like any other damage.
 *
 * <p>The key is the SHA-256 of the module's digest, the engine's identity and its settings, so an
 * artifact filed under another module's key fails its seal. The directories are 0700: the cache is
 * as trusted as the daemon's own files, and the checksums catch corruption and mix-ups, not someone
 * who can already write as root.
 */
final class ModuleCache {
  private static final System.Logger LOG = System.getLogger("krill.cache");
  private static final String ARTIFACT = ".cwasm";
  private static final String SEAL = ".seal";
  private static final int MAX_SEAL_BYTES = 4096;
  private static final Set<PosixFilePermission> PRIVATE_DIR =
      PosixFilePermissions.fromString("rwx------");
  private static final FileAttribute<Set<PosixFilePermission>> PRIVATE_FILE =
      PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"));

  private final Path store;
  private final Path staging;
  private final String engineIdentity;
  private final long softLimitBytes;
  private final AtomicLong seq = new AtomicLong();
  private final AtomicBoolean storeFailing = new AtomicBoolean();
  private final AtomicBoolean stagingFailing = new AtomicBoolean();
  private final long pid = ProcessHandle.current().pid();

  /**
   * @param cacheDir the cache, shared by every daemon of the node
   * @param staging a directory only this daemon uses (emptied now)
   * @param engineIdentity everything besides a module's bytes that decides the code Wasmtime makes
   * @param softLimitBytes when the store grows beyond this, its least recently used entries go
   */
  ModuleCache(Path cacheDir, Path staging, String engineIdentity, long softLimitBytes) {
    this.softLimitBytes = softLimitBytes;
    this.store = cacheDir.resolve("compiled");
    this.staging = staging;
    this.engineIdentity = engineIdentity;
    try {
      privateDirs(cacheDir);
      privateDirs(store);
      removeTemporariesOfDeadProcesses();
    } catch (IOException e) {
      storeFailed(e);
    }
    try {
      deleteTree(staging);
    } catch (IOException e) {
      stagingFailed(e);
    }
  }

  /** Removes the staging directory (what is in it belongs to compiles that are over). */
  void close() {
    deleteQuietly(staging);
  }

  /** The entry's key: the module's digest, the engine, its settings. */
  static String key(byte[] wasm, String engineIdentity) {
    return keyOfDigest(HexFormat.of().formatHex(sha256().digest(wasm)), engineIdentity);
  }

  /** {@link #key} from the module's SHA-256 (hex), when the caller has it already. */
  static String keyOfDigest(String wasmSha256, String engineIdentity) {
    String text =
        CacheSeal.HEADER + "\nwasm sha256:" + wasmSha256 + "\nengine " + engineIdentity + "\n";
    return HexFormat.of().formatHex(sha256().digest(text.getBytes(UTF_8)));
  }

  /**
   * Prepares Wasmtime's cache for one compile: the verified artifact when there is one, else
   * nothing. Never throws: a cache that cannot be used is a compile without it.
   */
  Compile begin(GuestSpec spec) {
    return begin(spec, key(spec.module(), engineIdentity), null);
  }

  /**
   * Like {@link #begin(GuestSpec)}, for a module whose SHA-256 (hex) the caller has; if {@code
   * known} is not null, hands Wasmtime that artifact, one this daemon verified or had Wasmtime
   * write before (kept in its memory), instead of reading the store.
   */
  Compile begin(GuestSpec spec, String moduleSha256, Artifact known) {
    String key = keyOfDigest(moduleSha256, engineIdentity);
    Path dir = staging.resolve(Long.toString(seq.incrementAndGet()));
    Path wasmtimeDir = dir.resolve("wasmtime");
    Path config = dir.resolve("wasmtime-cache.toml");
    try {
      privateDirs(dir);
      Files.writeString(
          config,
          "[cache]\nenabled = true\ndirectory = \""
              + wasmtimeDir.toAbsolutePath().toString().replace("\\", "\\\\").replace("\"", "\\\"")
              + "\"\n");
    } catch (IOException e) {
      stagingFailed(e);
      deleteQuietly(dir);
      return new Compile(spec, key, null, null, null, null);
    }
    if (stagingFailing.compareAndSet(true, false)) {
      LOG.log(Level.INFO, "module cache: staging in {0} works again", staging);
    }
    Staged staged = known == null ? restore(spec, key, wasmtimeDir) : stage(known, wasmtimeDir);
    return new Compile(spec, key, dir, config, wasmtimeDir, staged);
  }

  /**
   * A compiled module as Wasmtime's cache holds it: its path under that cache and its bytes
   * (Wasmtime's serialized, compressed module).
   */
  record Artifact(String wasmtimePath, byte[] bytes) {}

  private Staged stage(Artifact known, Path wasmtimeDir) {
    Path target = wasmtimeDir.resolve(known.wasmtimePath());
    try {
      privateDirs(target.getParent());
      try (FileChannel out = FileChannel.open(target, Set.of(CREATE_NEW, WRITE), PRIVATE_FILE)) {
        writeFully(out, known.bytes(), known.bytes().length);
      }
      return new Staged(target, fileKey(target));
    } catch (IOException e) {
      stagingFailed(e);
      return null;
    }
  }

  /** A verified artifact where Wasmtime will look for it, and the identity of that file. */
  private record Staged(Path path, Object fileKey) {}

  private Staged restore(GuestSpec spec, String key, Path wasmtimeDir) {
    Path artifact = store.resolve(key + ARTIFACT);
    Path sealFile = store.resolve(key + SEAL);
    boolean hasArtifact = Files.exists(artifact, NOFOLLOW_LINKS);
    boolean hasSeal = Files.exists(sealFile, NOFOLLOW_LINKS);
    if (!hasArtifact && !hasSeal) {
      return null;
    }
    try {
      if (!hasSeal) {
        throw new Mismatch("it has no seal");
      }
      if (!hasArtifact) {
        throw new Mismatch("its artifact is missing");
      }
      CacheSeal seal = readSeal(sealFile);
      if (!seal.key().equals(key)) {
        throw new Mismatch("its seal is the one of another entry (" + seal.key() + ")");
      }
      Path target = wasmtimeDir.resolve(seal.wasmtimePath());
      privateDirs(target.getParent());
      copyVerified(artifact, target, seal);
      LOG.log(
          Level.DEBUG,
          "container {0}: compiled module of {1} verified in the cache ({2})",
          spec.containerId(),
          spec.modulePath(),
          key);
      touch(sealFile);
      return new Staged(target, fileKey(target));
    } catch (Mismatch m) {
      LOG.log(
          Level.WARNING,
          "container {0}: the cached compiled module of {1} failed verification: {2}; compiling"
              + " {1} again and replacing cache entry {3}",
          spec.containerId(),
          spec.modulePath(),
          m.getMessage(),
          artifact);
      deleteQuietly(artifact);
      deleteQuietly(sealFile);
    } catch (IOException e) {
      LOG.log(
          Level.WARNING,
          "container {0}: cannot read the cached compiled module of {1} ({2}); compiling {1}"
              + " again and replacing cache entry {3}",
          spec.containerId(),
          spec.modulePath(),
          reason(e),
          artifact);
    }
    try {
      deleteTree(wasmtimeDir);
    } catch (IOException e) {
      // The staging directory goes as a whole when the compile ends.
    }
    return null;
  }

  private static CacheSeal readSeal(Path sealFile) throws IOException, Mismatch {
    byte[] text;
    try (InputStream in = Files.newInputStream(sealFile, NOFOLLOW_LINKS)) {
      text = in.readNBytes(MAX_SEAL_BYTES + 1);
    }
    if (text.length > MAX_SEAL_BYTES) {
      throw new Mismatch("its seal is not a seal (over " + MAX_SEAL_BYTES + " bytes)");
    }
    try {
      return CacheSeal.parse(new String(text, UTF_8));
    } catch (IllegalArgumentException e) {
      throw new Mismatch("its seal is unreadable (" + e.getMessage() + ")");
    }
  }

  /**
   * Copies {@code from} to a new {@code to}, hashing as it goes, and checks both against the seal.
   */
  private static void copyVerified(Path from, Path to, CacheSeal seal)
      throws IOException, Mismatch {
    MessageDigest md = sha256();
    long n = 0;
    try (InputStream in = Files.newInputStream(from, NOFOLLOW_LINKS);
        FileChannel out = FileChannel.open(to, Set.of(CREATE_NEW, WRITE), PRIVATE_FILE)) {
      byte[] buf = new byte[1 << 16];
      for (int r; (r = in.read(buf)) > 0; ) {
        n += r;
        if (n > seal.size()) {
          throw new Mismatch("it is larger than the " + seal.size() + " bytes sealed");
        }
        md.update(buf, 0, r);
        writeFully(out, buf, r);
      }
    }
    if (n != seal.size()) {
      throw new Mismatch("it has " + n + " of the " + seal.size() + " bytes sealed (truncated)");
    }
    if (!HexFormat.of().formatHex(md.digest()).equals(seal.sha256())) {
      throw new Mismatch("its SHA-256 is not the sealed one (altered or corrupted)");
    }
  }

  /** One compile's use of the cache; {@link #close} removes its staging directory. */
  final class Compile implements AutoCloseable {
    private final GuestSpec spec;
    private final String key;
    private final Path dir;
    private final Path config;
    private final Path wasmtimeDir;
    private final Staged staged;

    private Compile(
        GuestSpec spec, String key, Path dir, Path config, Path wasmtimeDir, Staged staged) {
      this.spec = spec;
      this.key = key;
      this.dir = dir;
      this.config = config;
      this.wasmtimeDir = wasmtimeDir;
      this.staged = staged;
    }

    /** The cache configuration for Wasmtime's {@code Config.cacheConfigLoad}; empty = no cache. */
    Optional<Path> wasmtimeConfig() {
      return Optional.ofNullable(config);
    }

    /**
     * After {@link #compiled}: the artifact Wasmtime loaded or wrote, to keep in memory; empty if
     * there is none (no staging, or Wasmtime wrote no single artifact).
     */
    Optional<Artifact> artifact() {
      if (dir == null) {
        return Optional.empty();
      }
      try {
        List<Path> written = artifactsIn(wasmtimeDir);
        if (written.size() != 1) {
          return Optional.empty();
        }
        Path p = written.get(0);
        return Optional.of(
            new Artifact(wasmtimeDir.relativize(p).toString(), Files.readAllBytes(p)));
      } catch (IOException | RuntimeException e) {
        return Optional.empty();
      }
    }

    /** Whether Wasmtime was handed a verified artifact. */
    boolean staged() {
      return staged != null;
    }

    /**
     * After Wasmtime compiled (or loaded) the module: files what it compiled, unless it loaded the
     * verified artifact. Never throws.
     */
    void compiled() {
      if (dir == null) {
        return;
      }
      try {
        List<Path> written = artifactsIn(wasmtimeDir);
        if (staged != null) {
          boolean untouched =
              written.contains(staged.path())
                  && Objects.equals(fileKey(staged.path()), staged.fileKey());
          if (untouched && written.size() == 1) {
            return;
          }
          if (untouched) {
            // Wasmtime looked elsewhere and wrote what it compiled there.
            written = written.stream().filter(p -> !p.equals(staged.path())).toList();
          }
          LOG.log(
              Level.WARNING,
              "container {0}: Wasmtime did not load the verified compiled module of {1} and"
                  + " compiled it again; replacing cache entry {2}",
              spec.containerId(),
              spec.modulePath(),
              key);
        }
        if (written.size() != 1) {
          stagingFailed(
              new IOException(
                  "Wasmtime wrote "
                      + written.size()
                      + " compiled modules into "
                      + wasmtimeDir
                      + " instead of 1 (is that filesystem full?)"));
          return;
        }
        file(wasmtimeDir.relativize(written.get(0)).toString(), written.get(0));
      } catch (IOException | RuntimeException e) {
        LOG.log(
            Level.WARNING,
            "container {0}: cannot file the compiled module of {1} in the cache: {2}",
            spec.containerId(),
            spec.modulePath(),
            String.valueOf(e));
      }
    }

    private void file(String wasmtimePath, Path artifact) {
      Path tmpArtifact = null;
      Path tmpSeal = null;
      try {
        privateDirs(store);
        tmpArtifact = temporary(key + ARTIFACT);
        MessageDigest md = sha256();
        long n = 0;
        try (InputStream in = Files.newInputStream(artifact, NOFOLLOW_LINKS);
            FileChannel out = FileChannel.open(tmpArtifact, WRITE)) {
          byte[] buf = new byte[1 << 16];
          for (int r; (r = in.read(buf)) > 0; ) {
            n += r;
            md.update(buf, 0, r);
            writeFully(out, buf, r);
          }
        }
        CacheSeal seal = new CacheSeal(key, n, HexFormat.of().formatHex(md.digest()), wasmtimePath);
        tmpSeal = temporary(key + SEAL);
        try (FileChannel out = FileChannel.open(tmpSeal, WRITE)) {
          byte[] text = seal.format().getBytes(UTF_8);
          writeFully(out, text, text.length);
        }
        Files.move(tmpArtifact, store.resolve(key + ARTIFACT), ATOMIC_MOVE, REPLACE_EXISTING);
        tmpArtifact = null;
        Files.move(tmpSeal, store.resolve(key + SEAL), ATOMIC_MOVE, REPLACE_EXISTING);
        tmpSeal = null;
        LOG.log(
            Level.DEBUG,
            "container {0}: compiled module of {1} filed in the cache ({2})",
            spec.containerId(),
            spec.modulePath(),
            key);
        prune(key);
        if (storeFailing.compareAndSet(true, false)) {
          LOG.log(Level.INFO, "module cache: storing compiled modules in {0} works again", store);
        }
      } catch (IOException e) {
        deleteQuietly(tmpArtifact);
        deleteQuietly(tmpSeal);
        LOG.log(
            Level.DEBUG,
            "container {0}: compiled module of {1} not cached: {2}",
            spec.containerId(),
            spec.modulePath(),
            reason(e));
        storeFailed(e);
      }
    }

    @Override
    public void close() {
      if (dir != null) {
        deleteQuietly(dir);
      }
    }
  }

  /** A seal's modification time is its entry's last use. */
  private static void touch(Path sealFile) {
    try {
      Files.setLastModifiedTime(sealFile, FileTime.fromMillis(System.currentTimeMillis()));
    } catch (IOException e) {
      // Only the order of eviction suffers.
    }
  }

  /**
   * Keeps the store near its soft limit: over it, the least recently used entries go (never {@code
   * justFiled}) until it is at 90% of it.
   */
  private void prune(String justFiled) {
    record Entry(String key, FileTime used, long bytes) {}
    List<Entry> entries = new ArrayList<>();
    long total = 0;
    for (Path seal : names(store)) {
      String name = seal.getFileName().toString();
      if (!name.endsWith(SEAL)) {
        continue;
      }
      String key = name.substring(0, name.length() - SEAL.length());
      try {
        long bytes = Files.size(seal) + Files.size(store.resolve(key + ARTIFACT));
        entries.add(new Entry(key, Files.getLastModifiedTime(seal), bytes));
        total += bytes;
      } catch (IOException e) {
        // Being replaced or removed by another daemon.
      }
    }
    if (total <= softLimitBytes) {
      return;
    }
    entries.sort(Comparator.comparing(Entry::used));
    int removed = 0;
    long freed = 0;
    for (Entry e : entries) {
      if (total - freed <= softLimitBytes / 10 * 9) {
        break;
      }
      if (e.key().equals(justFiled)) {
        continue;
      }
      deleteQuietly(store.resolve(e.key() + SEAL));
      deleteQuietly(store.resolve(e.key() + ARTIFACT));
      removed++;
      freed += e.bytes();
    }
    LOG.log(
        Level.INFO,
        "module cache: removed the {0} least recently used compiled modules ({1} bytes) from {2},"
            + " which held more than {3} bytes",
        removed,
        freed,
        store,
        softLimitBytes);
  }

  private Path temporary(String name) throws IOException {
    Path tmp = store.resolve(name + ".tmp-" + pid + "-" + seq.incrementAndGet());
    Files.createFile(tmp, PRIVATE_FILE);
    return tmp;
  }

  /** Said once per failing spell; a success in between ends the spell. */
  private void storeFailed(IOException e) {
    if (storeFailing.compareAndSet(false, true)) {
      LOG.log(
          Level.WARNING,
          "module cache: cannot store compiled modules in {0}: {1}; krill keeps running and"
              + " compiles every module the cache does not hold, until storing works again (free"
              + " space there, or set cache_dir / KRILL_CACHE_DIR to another directory)",
          store,
          reason(e));
    }
  }

  private void stagingFailed(IOException e) {
    if (stagingFailing.compareAndSet(false, true)) {
      LOG.log(
          Level.WARNING,
          "module cache: cannot stage compiled modules in {0}: {1}; krill keeps running and"
              + " compiles every module without the cache until it can",
          staging,
          reason(e));
    }
  }

  /**
   * Wasmtime's artifacts in a cache directory of its: modules/&lt;compiler&gt;/&lt;hash&gt;. Its
   * cache worker thread writes and renames {@code .stats} files beside them meanwhile, so names are
   * read without attributes and a file that vanishes is skipped.
   */
  static List<Path> artifactsIn(Path wasmtimeDir) throws IOException {
    Path modules = wasmtimeDir.resolve("modules");
    List<Path> out = new ArrayList<>();
    for (Path compiler : names(modules)) {
      for (Path p : names(compiler)) {
        if (CacheSeal.isWasmtimePath(wasmtimeDir.relativize(p).toString())
            && Files.isRegularFile(p, NOFOLLOW_LINKS)) {
          out.add(p);
        }
      }
    }
    out.sort(null);
    return out;
  }

  private static List<Path> names(Path dir) {
    List<Path> out = new ArrayList<>();
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
      entries.forEach(out::add);
    } catch (IOException e) {
      // Nothing (more) there.
    }
    return out;
  }

  private void removeTemporariesOfDeadProcesses() throws IOException {
    try (Stream<Path> files = Files.list(store)) {
      for (Path p : (Iterable<Path>) files::iterator) {
        String name = p.getFileName().toString();
        int at = name.lastIndexOf(".tmp-");
        if (at < 0) {
          continue;
        }
        String[] pidAndSeq = name.substring(at + 5).split("-");
        try {
          long owner = Long.parseLong(pidAndSeq[0]);
          if (owner == pid || ProcessHandle.of(owner).isEmpty()) {
            deleteQuietly(p);
          }
        } catch (NumberFormatException e) {
          // Not one of krill's temporaries.
        }
      }
    }
  }

  private static void privateDirs(Path dir) throws IOException {
    Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PRIVATE_DIR));
    if (!Files.getPosixFilePermissions(dir, NOFOLLOW_LINKS).equals(PRIVATE_DIR)) {
      Files.setPosixFilePermissions(dir, PRIVATE_DIR);
    }
  }

  private static void writeFully(FileChannel out, byte[] buf, int len) throws IOException {
    ByteBuffer b = ByteBuffer.wrap(buf, 0, len);
    while (b.hasRemaining()) {
      out.write(b);
    }
  }

  private static Object fileKey(Path p) throws IOException {
    return Files.readAttributes(p, BasicFileAttributes.class, NOFOLLOW_LINKS).fileKey();
  }

  private static String reason(IOException e) {
    if (e instanceof FileSystemException f && f.getReason() != null) {
      return f.getFile() + ": " + f.getReason();
    }
    return String.valueOf(e.getMessage());
  }

  private static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir, NOFOLLOW_LINKS)) {
      return;
    }
    try (Stream<Path> all = Files.walk(dir)) {
      for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
        try {
          Files.deleteIfExists(p);
        } catch (NoSuchFileException e) {
          // Gone already.
        }
      }
    }
  }

  /**
   * Deletes a file or tree. A tree is renamed first: Wasmtime's cache worker thread may still be
   * writing statistics into it, and after the rename no new file can appear under the old path.
   */
  private static void deleteQuietly(Path p) {
    if (p == null) {
      return;
    }
    Path doomed = p;
    if (Files.isDirectory(p, NOFOLLOW_LINKS)) {
      doomed = p.resolveSibling(p.getFileName() + ".deleting");
      try {
        Files.move(p, doomed, ATOMIC_MOVE);
      } catch (IOException e) {
        doomed = p;
      }
    }
    for (int attempt = 0; attempt < 3; attempt++) {
      try {
        deleteTree(doomed);
        return;
      } catch (IOException | UncheckedIOException e) {
        LOG.log(Level.DEBUG, "module cache: cannot delete {0} yet: {1}", doomed, String.valueOf(e));
      }
    }
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }

  /** A cache entry that is not what its key says. */
  private static final class Mismatch extends Exception {
    Mismatch(String message) {
      super(message, null, false, false);
    }
  }
}
