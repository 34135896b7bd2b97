package io.krill.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class GuestSpecTest {
  private static GuestSpec spec(byte[] module) {
    return new GuestSpec(
        "c1",
        "/app.wasm",
        module,
        "_start",
        List.of("app.wasm", "3600"),
        List.of("A=1"),
        List.of(),
        null,
        Path.of("/run/out"),
        Path.of("/run/err"),
        8L << 20);
  }

  @Test
  void withoutModuleDropsOnlyTheModuleBytes() {
    GuestSpec full = spec(new byte[] {0, 'a', 's', 'm', 1, 0, 0, 0});
    GuestSpec light = full.withoutModule();
    assertEquals(0, light.module().length);
    assertEquals(full.containerId(), light.containerId());
    assertEquals(full.modulePath(), light.modulePath());
    assertEquals(full.entry(), light.entry());
    assertEquals(full.args(), light.args());
    assertEquals(full.env(), light.env());
    assertEquals(full.preopens(), light.preopens());
    assertEquals(full.stdin(), light.stdin());
    assertEquals(full.stdout(), light.stdout());
    assertEquals(full.stderr(), light.stderr());
    assertEquals(full.memoryLimitBytes(), light.memoryLimitBytes());
    assertEquals(full.listeners(), light.listeners());
    assertArrayEquals(new byte[] {0, 'a', 's', 'm', 1, 0, 0, 0}, full.module());
  }

  @Test
  void withoutModuleOfASpecWithoutOneIsItself() {
    GuestSpec empty = spec(new byte[0]);
    assertSame(empty, empty.withoutModule());
  }
}
