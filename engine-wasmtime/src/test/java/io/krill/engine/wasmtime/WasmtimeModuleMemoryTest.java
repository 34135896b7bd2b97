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
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import io.krill.engine.CompiledModules;
import io.krill.engine.Guest;
import io.krill.engine.GuestResult;
import io.krill.engine.GuestSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Wasmtime's compiled modules in memory, in front of the verified disk cache: a second guest of a
 * module loads it from memory, concurrent starts of one module compile once, and a module evicted
 * while a guest of it runs or waits to run leaves that guest intact.
 */
class WasmtimeModuleMemoryTest {
  @TempDir Path tmp;
  private WasmtimeEngine engine;

  private static final byte[] A = exitModule(3);
  private static final byte[] B = exitModule(5);

  @AfterEach
  void close() {
    if (engine != null) {
      engine.close();
    }
  }

  private WasmtimeEngine engine(CompiledModules.Limits limits) {
    engine =
        new WasmtimeEngine(
            Optional.of(tmp.resolve("cache")),
            tmp.resolve("staging"),
            WasmtimeEngine.CACHE_SOFT_LIMIT,
            limits);
    return engine;
  }

  @Test
  void prepare_sameModuleTwice_secondLoadsFromMemoryNotDisk() throws Exception {
    engine(CompiledModules.Limits.DEFAULT);
    assertEquals(new GuestResult.Exited(3), run("first", A));
    // Without the disk entry, only memory can serve the second guest without a compile.
    deleteTree(tmp.resolve("cache").resolve("compiled"));

    assertEquals(new GuestResult.Exited(3), run("second", A));

    CompiledModules.Stats s = engine.memoryStats();
    assertEquals(1, s.misses(), s.toString());
    assertEquals(1, s.hits(), s.toString());
    assertEquals(1, s.entries(), s.toString());
  }

  @Test
  void prepare_otherModule_misses() {
    engine(CompiledModules.Limits.DEFAULT);
    assertEquals(new GuestResult.Exited(3), run("a", A));
    assertEquals(new GuestResult.Exited(5), run("b", B));
    assertEquals(2, engine.memoryStats().misses());
    assertEquals(0, engine.memoryStats().hits());
  }

  @Test
  void prepare_concurrentStartsOfOneModule_compileOnce() throws Exception {
    engine(CompiledModules.Limits.DEFAULT);
    int n = 6;
    CountDownLatch go = new CountDownLatch(1);
    ExecutorService pool = Executors.newFixedThreadPool(n);
    try {
      List<Future<GuestResult>> results = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        String id = "replica-" + i;
        results.add(
            pool.submit(
                () -> {
                  go.await();
                  return run(id, A);
                }));
      }
      go.countDown();
      for (Future<GuestResult> r : results) {
        assertEquals(new GuestResult.Exited(3), r.get());
      }
    } finally {
      pool.shutdownNow();
    }
    CompiledModules.Stats s = engine.memoryStats();
    assertEquals(1, s.misses(), "one compile (or disk load) for all: " + s);
    assertEquals(n - 1, s.hits(), s.toString());
  }

  @Test
  void evict_moduleOfAPreparedGuest_guestStillRuns() {
    engine(new CompiledModules.Limits(1, Long.MAX_VALUE));
    try (Guest a = engine.prepare(spec("a", A))) {
      assertEquals(new GuestResult.Exited(5), run("b", B)); // evicts A
      assertEquals(
          List.of(CompiledModules.Key.of(B, WasmtimeEngine.IDENTITY).moduleDigest()), keys());
      assertEquals(new GuestResult.Exited(3), a.run());
    }
    assertEquals(1, engine.memoryStats().evictions());
    assertEquals(new GuestResult.Exited(3), run("a-again", A));
  }

  @Test
  void prepare_fromMemory_interruptStillStopsTheGuest() throws Exception {
    engine(CompiledModules.Limits.DEFAULT);
    byte[] spin = spinModule();
    try (Guest warm = engine.prepare(spec("warm", spin))) {
      // compiled; never run
    }
    try (Guest g = engine.prepare(spec("spinner", spin))) {
      assertEquals(1, engine.memoryStats().hits());
      ExecutorService t = Executors.newSingleThreadExecutor();
      try {
        Future<GuestResult> r = t.submit(g::run);
        // Whether it is already spinning or not yet started, the interrupt ends it.
        g.interrupt();
        assertInstanceOf(GuestResult.Interrupted.class, r.get());
      } finally {
        t.shutdownNow();
      }
    }
  }

  private List<String> keys() {
    return engineKeys().stream().map(CompiledModules.Key::moduleDigest).toList();
  }

  private List<CompiledModules.Key> engineKeys() {
    return engine.memoryKeys();
  }

  private GuestResult run(String container, byte[] module) {
    try (Guest g = engine.prepare(spec(container, module))) {
      return g.run();
    }
  }

  private static GuestSpec spec(String container, byte[] module) {
    return new GuestSpec(
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
  }

  private static void deleteTree(Path dir) throws Exception {
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  /** {@code (import "wasi_snapshot_preview1" "proc_exit") (memory 1 1) _start: proc_exit(code)} */
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

  /** {@code _start: (loop (br 0))} */
  private static byte[] spinModule() {
    return module(
        section(TYPE, vec(bytes(0x60, 0, 0))),
        section(FUNCTION, vec(bytes(0))),
        section(EXPORT, vec(exportEntry("_start", 0, 0))),
        section(CODE, vec(body(bytes(0x03, 0x40, 0x0c, 0x00, 0x0b)))));
  }

  private static byte[] body(byte[] instructions) {
    byte[] b = concat(bytes(0x00), instructions, bytes(0x0b));
    return concat(leb(b.length), b);
  }
}
