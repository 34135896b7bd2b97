package io.krill.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.krill.engine.CompiledModules.Compiled;
import io.krill.engine.CompiledModules.Key;
import io.krill.engine.CompiledModules.Lease;
import io.krill.engine.CompiledModules.Limits;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class CompiledModulesTest {
  private final List<String> released = new CopyOnWriteArrayList<>();
  private final AtomicInteger compiles = new AtomicInteger();

  private CompiledModules<String> cache(int entries, long bytes) {
    return new CompiledModules<>(new Limits(entries, bytes), released::add);
  }

  private CompiledModules.Compiler<String> compiler(String value, long bytes) {
    return () -> {
      compiles.incrementAndGet();
      return new Compiled<>(value, bytes);
    };
  }

  private static Key key(String module, String settings) {
    return Key.of(module.getBytes(StandardCharsets.UTF_8), settings);
  }

  @Test
  void get_sameDigestTwice_secondIsAMemoryHit() {
    CompiledModules<String> c = cache(4, 1000);
    try (Lease<String> a = c.get(key("m", "s"), compiler("code-1", 10));
        Lease<String> b = c.get(key("m", "s"), compiler("code-2", 10))) {
      assertEquals("code-1", a.value());
      assertEquals("code-1", b.value());
    }
    assertEquals(1, compiles.get());
    assertEquals(1, c.stats().hits());
    assertEquals(1, c.stats().misses());
  }

  @Test
  void get_differentEngineSettings_misses() {
    CompiledModules<String> c = cache(4, 1000);
    c.get(key("m", "wasmtime epoch=true"), compiler("a", 10)).close();
    try (Lease<String> b = c.get(key("m", "wasmtime epoch=false"), compiler("b", 10))) {
      assertEquals("b", b.value());
    }
    assertEquals(2, compiles.get());
    assertEquals(0, c.stats().hits());
    assertEquals(2, c.stats().entries());
  }

  @Test
  void get_differentModuleBytes_misses() {
    CompiledModules<String> c = cache(4, 1000);
    c.get(key("m1", "s"), compiler("a", 10)).close();
    c.get(key("m2", "s"), compiler("b", 10)).close();
    assertEquals(2, compiles.get());
  }

  @Test
  void evict_byCount_leastRecentlyUsedGoesFirst() {
    CompiledModules<String> c = cache(2, 1000);
    c.get(key("a", "s"), compiler("A", 1)).close();
    c.get(key("b", "s"), compiler("B", 1)).close();
    c.get(key("a", "s"), compiler("A2", 1)).close(); // a is now the most recently used
    c.get(key("c", "s"), compiler("C", 1)).close();
    assertEquals(List.of(key("a", "s"), key("c", "s")), c.keys());
    assertEquals(List.of("B"), released);
    assertEquals(1, c.stats().evictions());
  }

  @Test
  void evict_byBytes_untilTheRestFits() {
    CompiledModules<String> c = cache(10, 100);
    c.get(key("a", "s"), compiler("A", 40)).close();
    c.get(key("b", "s"), compiler("B", 40)).close();
    c.get(key("c", "s"), compiler("C", 50)).close();
    assertEquals(List.of(key("b", "s"), key("c", "s")), c.keys());
    assertEquals(90, c.stats().bytes());
    assertEquals(List.of("A"), released);
  }

  @Test
  void evict_moduleInUse_releasedOnlyWhenItsLastLeaseCloses() {
    CompiledModules<String> c = cache(1, 1000);
    Lease<String> running = c.get(key("a", "s"), compiler("A", 1));
    Lease<String> replica = c.get(key("a", "s"), compiler("A2", 1));
    c.get(key("b", "s"), compiler("B", 1)).close(); // evicts a while two tasks run it
    assertEquals(List.of(key("b", "s")), c.keys());
    assertTrue(released.isEmpty(), "released under running tasks: " + released);
    assertEquals("A", running.value());
    running.close();
    running.close();
    assertTrue(released.isEmpty());
    replica.close();
    assertEquals(List.of("A"), released);
  }

  @Test
  void get_moduleLargerThanTheBound_servedButNotKept() {
    CompiledModules<String> c = cache(4, 100);
    try (Lease<String> l = c.get(key("huge", "s"), compiler("H", 500))) {
      assertEquals("H", l.value());
      assertEquals(0, c.stats().entries());
    }
    assertEquals(List.of("H"), released);
  }

  @Test
  void limitsNone_keepsNothing() {
    CompiledModules<String> c = new CompiledModules<>(Limits.NONE, released::add);
    c.get(key("a", "s"), compiler("A", 0)).close();
    c.get(key("a", "s"), compiler("A", 0)).close();
    assertEquals(2, compiles.get());
    assertEquals(List.of("A", "A"), released);
  }

  @Test
  void get_concurrentLoadsOfOneDigest_compileOnce() throws Exception {
    CompiledModules<String> c = cache(4, 1000);
    CountDownLatch started = new CountDownLatch(1);
    CountDownLatch finish = new CountDownLatch(1);
    CompiledModules.Compiler<String> slow =
        () -> {
          compiles.incrementAndGet();
          started.countDown();
          try {
            finish.await();
          } catch (InterruptedException e) {
            throw new IllegalStateException(e);
          }
          return new Compiled<>("code", 10);
        };
    int n = 8;
    ExecutorService pool = Executors.newFixedThreadPool(n);
    try {
      List<Future<Lease<String>>> leases = new ArrayList<>();
      leases.add(pool.submit(() -> c.get(key("m", "s"), slow)));
      started.await();
      for (int i = 1; i < n; i++) {
        leases.add(pool.submit(() -> c.get(key("m", "s"), slow)));
      }
      // Every later caller has either found the compile under way or will find the result.
      finish.countDown();
      for (Future<Lease<String>> f : leases) {
        try (Lease<String> l = f.get()) {
          assertEquals("code", l.value());
        }
      }
    } finally {
      pool.shutdownNow();
    }
    assertEquals(1, compiles.get());
    assertEquals(1, c.stats().misses());
    assertEquals(n - 1, c.stats().hits());
  }

  @Test
  void get_failedCompile_notRememberedAndNextCallerCompiles() {
    CompiledModules<String> c = cache(4, 1000);
    IllegalStateException boom = new IllegalStateException("container x: bad module");
    assertSame(
        boom,
        assertThrows(
            IllegalStateException.class,
            () ->
                c.get(
                    key("m", "s"),
                    () -> {
                      throw boom;
                    })));
    try (Lease<String> l = c.get(key("m", "s"), compiler("ok", 1))) {
      assertEquals("ok", l.value());
    }
    assertEquals(0, c.stats().entries() - 1);
  }

  @Test
  void clear_forgetsEverything_releasesIdleModulesNowAndBusyOnesLater() {
    CompiledModules<String> c = cache(4, 1000);
    c.get(key("idle", "s"), compiler("I", 1)).close();
    Lease<String> busy = c.get(key("busy", "s"), compiler("B", 1));
    c.clear();
    assertEquals(List.of("I"), released);
    busy.close();
    assertEquals(List.of("I", "B"), released);
    try (Lease<String> again = c.get(key("busy", "s"), compiler("B2", 1))) {
      assertNotSame("B", again.value());
    }
  }
}
