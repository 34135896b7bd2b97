package io.krill.engine.wasmtime;

import static io.krill.engine.wasm.WasmBytes.CODE;
import static io.krill.engine.wasm.WasmBytes.EXPORT;
import static io.krill.engine.wasm.WasmBytes.FUNCTION;
import static io.krill.engine.wasm.WasmBytes.IMPORT;
import static io.krill.engine.wasm.WasmBytes.MEMORY;
import static io.krill.engine.wasm.WasmBytes.TYPE;
import static io.krill.engine.wasm.WasmBytes.bytes;
import static io.krill.engine.wasm.WasmBytes.concat;
import static io.krill.engine.wasm.WasmBytes.exportEntry;
import static io.krill.engine.wasm.WasmBytes.leb;
import static io.krill.engine.wasm.WasmBytes.limits;
import static io.krill.engine.wasm.WasmBytes.module;
import static io.krill.engine.wasm.WasmBytes.name;
import static io.krill.engine.wasm.WasmBytes.section;
import static io.krill.engine.wasm.WasmBytes.vec;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.krill.engine.CompiledModules;
import io.krill.engine.Guest;
import io.krill.engine.GuestResult;
import io.krill.engine.GuestSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The compiled-module cache hands Wasmtime only artifacts that match their seal: a flipped byte, a
 * truncated file, an artifact filed under another module's key are misses that recompile, replace
 * the entry and say so once; a cache that cannot be written is said once and compiles on. (With the
 * in-memory layer off: these are about the disk store behind it.)
 */
class ModuleCacheTest {
  @TempDir Path tmp;
  private Path cacheDir;
  private Path staging;
  private WasmtimeEngine engine;
  private final List<LogRecord> log = new ArrayList<>();
  private final Logger logger = Logger.getLogger("krill.cache");
  private final Handler capture =
      new Handler() {
        @Override
        public void publish(LogRecord r) {
          synchronized (log) {
            log.add(r);
          }
        }

        @Override
        public void flush() {}

        @Override
        public void close() {}
      };

  /** Exits with 3 (A) or 5 (B): which program ran is in the exit code. */
  private static final byte[] A = exitModule(3);

  private static final byte[] B = exitModule(5);

  @BeforeEach
  void open() {
    logger.addHandler(capture);
    logger.setLevel(Level.ALL);
    cacheDir = tmp.resolve("cache");
    staging = tmp.resolve("staging");
    engine = new WasmtimeEngine(Optional.of(cacheDir), staging, CompiledModules.Limits.NONE);
  }

  @AfterEach
  void close() {
    engine.close();
    logger.removeHandler(capture);
  }

  @Test
  void prepare_firstCompile_filesASealedEntryInPrivateDirectories() throws Exception {
    assertEquals(new GuestResult.Exited(3), run("c1", A));

    Path store = cacheDir.resolve("compiled");
    String key = key(A);
    CacheSeal seal = CacheSeal.parse(Files.readString(store.resolve(key + ".seal")));
    assertEquals(key, seal.key());
    assertEquals(Files.size(store.resolve(key + ".cwasm")), seal.size());
    assertTrue(seal.wasmtimePath().startsWith("modules/wasmtime-"), seal.wasmtimePath());
    assertEquals(List.of(key + ".cwasm", key + ".seal"), names(store));
    assertEquals("rwx------", mode(cacheDir));
    assertEquals("rwx------", mode(store));
    assertEquals("rw-------", mode(store.resolve(key + ".cwasm")));
    assertEquals(List.of(), tree(staging), "nothing left in staging" + messages(Level.FINE));
    assertEquals(List.of(), warnings());
  }

  @Test
  void prepare_again_loadsTheEntryWithoutRewritingIt() throws Exception {
    run("c1", A);
    Object before = fileKey(artifact(A));

    assertEquals(new GuestResult.Exited(3), run("c2", A));
    assertEquals(new GuestResult.Exited(3), run("c3", A));

    assertEquals(before, fileKey(artifact(A)), "a verified hit leaves the entry as it was");
    assertEquals(List.of(), warnings());
  }

  @Test
  void prepare_flippedByte_recompilesReplacesAndSaysSoOnce() throws Exception {
    run("c1", A);
    byte[] bytes = Files.readAllBytes(artifact(A));
    bytes[bytes.length / 2] ^= 0x01;
    Files.write(artifact(A), bytes);

    assertEquals(new GuestResult.Exited(3), run("flipped", A));

    assertOneMismatchLine("flipped", "SHA-256");
    assertEntryVerifies(A);
    assertEquals(new GuestResult.Exited(3), run("after", A));
    assertEquals(1, warnings().size(), "the replaced entry is good again");
  }

  @Test
  void prepare_truncatedArtifact_recompilesAndReplaces() throws Exception {
    run("c1", A);
    byte[] bytes = Files.readAllBytes(artifact(A));
    Files.write(artifact(A), java.util.Arrays.copyOf(bytes, bytes.length / 2));

    assertEquals(new GuestResult.Exited(3), run("truncated", A));

    assertOneMismatchLine("truncated", "truncated");
    assertEntryVerifies(A);
  }

  @Test
  void prepare_otherModulesArtifactUnderItsKey_runsTheRightProgram() throws Exception {
    run("a", A);
    run("b", B);
    Files.copy(artifact(B), artifact(A), StandardCopyOption.REPLACE_EXISTING);

    assertEquals(new GuestResult.Exited(3), run("swapped", A));

    assertOneMismatchLine("swapped", "SHA-256");
    assertEntryVerifies(A);
  }

  @Test
  void prepare_otherModulesWholeEntryUnderItsKey_runsTheRightProgram() throws Exception {
    run("a", A);
    run("b", B);
    Path store = cacheDir.resolve("compiled");
    Files.copy(artifact(B), artifact(A), StandardCopyOption.REPLACE_EXISTING);
    Files.copy(
        store.resolve(key(B) + ".seal"),
        store.resolve(key(A) + ".seal"),
        StandardCopyOption.REPLACE_EXISTING);

    assertEquals(new GuestResult.Exited(3), run("swapped", A));

    assertOneMismatchLine("swapped", "another entry");
    assertEntryVerifies(A);
    assertEquals(new GuestResult.Exited(5), run("b2", B));
  }

  @Test
  void prepare_garbledOrMissingSeal_isAMiss() throws Exception {
    run("a", A);
    Path seal = cacheDir.resolve("compiled").resolve(key(A) + ".seal");
    Files.writeString(seal, "krill-module-cache 1\nkey zz\n");
    assertEquals(new GuestResult.Exited(3), run("garbled", A));
    assertOneMismatchLine("garbled", "unreadable");

    Files.delete(seal);
    assertEquals(new GuestResult.Exited(3), run("unsealed", A));
    assertEntryVerifies(A);
  }

  @Test
  void prepare_storeCannotBeWritten_saysSoOnceRunsOnLeavesNoPartialFile() throws Exception {
    engine.close();
    cacheDir = tmp.resolve("blocked");
    Files.createDirectories(cacheDir);
    // Even root cannot make a directory where a file is.
    Files.writeString(cacheDir.resolve("compiled"), "in the way");
    engine = new WasmtimeEngine(Optional.of(cacheDir), staging, CompiledModules.Limits.NONE);

    assertEquals(new GuestResult.Exited(3), run("c1", A));
    assertEquals(new GuestResult.Exited(5), run("c2", B));
    assertEquals(new GuestResult.Exited(3), run("c3", A));

    List<String> lines = warnings();
    assertEquals(1, lines.size(), lines.toString());
    assertTrue(lines.get(0).contains("cannot store compiled modules in " + cacheDir), lines.get(0));
    assertEquals(List.of("compiled"), names(cacheDir));
    assertEquals(List.of(), tree(staging));

    Files.delete(cacheDir.resolve("compiled"));
    assertEquals(new GuestResult.Exited(3), run("c4", A));
    assertEntryVerifies(A);
    assertTrue(infos().stream().anyMatch(l -> l.contains("works again")), "recovery is logged too");
  }

  @Test
  void prepare_storeOverItsSoftLimit_dropsTheLeastRecentlyUsedEntries() throws Exception {
    run("size", A); // an entry's size, as the store counts it
    engine.close();
    long entry = Files.size(artifact(A)) + Files.size(artifact(A).resolveSibling(key(A) + ".seal"));
    engine =
        new WasmtimeEngine(
            Optional.of(cacheDir), staging, entry * 2 + entry / 2, CompiledModules.Limits.NONE);
    byte[] c = exitModule(7);
    run("a", A);
    run("b", B);
    Files.setLastModifiedTime(
        cacheDir.resolve("compiled").resolve(key(A) + ".seal"),
        java.nio.file.attribute.FileTime.fromMillis(0));
    run("b-again", B); // a hit: B is now the most recently used

    assertEquals(new GuestResult.Exited(7), run("c", c));

    List<String> left = names(cacheDir.resolve("compiled"));
    assertTrue(
        left.contains(key(B) + ".cwasm") && left.contains(key(c) + ".cwasm"), left.toString());
    assertTrue(
        !left.contains(key(A) + ".cwasm") && !left.contains(key(A) + ".seal"), left.toString());
    assertTrue(
        infos().stream().anyMatch(l -> l.contains("least recently used")), infos().toString());
  }

  private void assertOneMismatchLine(String container, String why) {
    List<String> lines = warnings();
    assertEquals(1, lines.size(), lines.toString());
    String line = lines.get(0);
    assertTrue(line.startsWith("container " + container + ": "), line);
    assertTrue(line.contains("/app.wasm"), line);
    assertTrue(line.contains("failed verification"), line);
    assertTrue(line.contains(why), line);
  }

  /** The entry's artifact matches its seal (and so is what the next compile will load). */
  private void assertEntryVerifies(byte[] module) throws Exception {
    Path store = cacheDir.resolve("compiled");
    CacheSeal seal = CacheSeal.parse(Files.readString(store.resolve(key(module) + ".seal")));
    byte[] artifact = Files.readAllBytes(artifact(module));
    assertEquals(seal.size(), artifact.length);
    assertEquals(
        seal.sha256(),
        java.util.HexFormat.of()
            .formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(artifact)));
    assertEquals(
        List.of(key(module) + ".cwasm", key(module) + ".seal"),
        names(store).stream().filter(n -> n.startsWith(key(module))).toList());
    assertTrue(names(store).stream().noneMatch(n -> n.contains(".tmp-")), names(store).toString());
  }

  private GuestResult run(String container, byte[] module) {
    GuestSpec spec =
        new GuestSpec(
            container,
            "/app.wasm",
            module,
            "_start",
            List.of("/app.wasm"),
            List.of(),
            List.of(),
            null,
            null,
            null);
    try (Guest g = engine.prepare(spec)) {
      return g.run();
    }
  }

  private Path artifact(byte[] module) {
    return cacheDir.resolve("compiled").resolve(key(module) + ".cwasm");
  }

  private String key(byte[] module) {
    return ModuleCache.key(module, WasmtimeEngine.IDENTITY);
  }

  private List<String> warnings() {
    return messages(Level.WARNING);
  }

  private List<String> infos() {
    return messages(Level.INFO);
  }

  private List<String> messages(Level level) {
    synchronized (log) {
      return log.stream()
          .filter(r -> r.getLevel().equals(level))
          .map(r -> java.text.MessageFormat.format(r.getMessage(), r.getParameters()))
          .toList();
    }
  }

  private static List<String> names(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  private static List<String> tree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return List.of();
    }
    try (Stream<Path> s = Files.walk(dir)) {
      return s.filter(p -> !p.equals(dir)).map(p -> dir.relativize(p).toString()).sorted().toList();
    }
  }

  private static String mode(Path p) throws IOException {
    return PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
  }

  private static Object fileKey(Path p) throws IOException {
    BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
    return a.fileKey() + "@" + a.lastModifiedTime();
  }

  /**
   * {@code (import "wasi_snapshot_preview1" "proc_exit") (memory 1 1) (func (export "_start") (call
   * 0 (code)))}
   */
  private static byte[] exitModule(int code) {
    return module(
        section(TYPE, vec(bytes(0x60, 1, 0x7f, 0), bytes(0x60, 0, 0))),
        section(
            IMPORT, vec(concat(name("wasi_snapshot_preview1"), name("proc_exit"), bytes(0x00, 0)))),
        section(FUNCTION, vec(bytes(1))),
        section(MEMORY, vec(limits(1, 1))),
        section(EXPORT, vec(exportEntry("_start", 0, 1), exportEntry("memory", 2, 0))),
        section(CODE, vec(body(concat(bytes(0x41), leb(code), bytes(0x10, 0))))));
  }

  private static byte[] body(byte[] instructions) {
    byte[] b = concat(bytes(0x00), instructions, bytes(0x0b));
    return concat(leb(b.length), b);
  }
}
