package io.krill.engine.chicory;

import static io.krill.engine.wasm.WasmBytes.CODE;
import static io.krill.engine.wasm.WasmBytes.EXPORT;
import static io.krill.engine.wasm.WasmBytes.FUNCTION;
import static io.krill.engine.wasm.WasmBytes.TYPE;
import static io.krill.engine.wasm.WasmBytes.bytes;
import static io.krill.engine.wasm.WasmBytes.exportEntry;
import static io.krill.engine.wasm.WasmBytes.module;
import static io.krill.engine.wasm.WasmBytes.section;
import static io.krill.engine.wasm.WasmBytes.vec;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.krill.engine.CompiledModules;
import io.krill.engine.EngineContractTest;
import io.krill.engine.EngineException;
import io.krill.engine.GuestResult;
import io.krill.engine.WasmEngine;
import org.junit.jupiter.api.Test;

/** Chicory keeps the engine contract. */
class ChicoryEngineTest extends EngineContractTest {
  @Override
  protected WasmEngine newEngine() {
    return new ChicoryEngine();
  }

  @Test
  void prepare_sameModuleAgain_compiledOnce_eachRuns() {
    ChicoryEngine engine = new ChicoryEngine();
    for (int i = 0; i < 3; i++) {
      try (var g = engine.prepare(spec(unreachable()))) {
        assertInstanceOf(GuestResult.Trapped.class, g.run());
      }
    }
    assertEquals(1, engine.compiles());
  }

  @Test
  void run_infiniteRecursion_trappedNotAnError() {
    // (func $f (call $f)) as _start
    try (var g = new ChicoryEngine().prepare(spec(start(0x10, 0x00)))) {
      GuestResult r = g.run();
      assertInstanceOf(GuestResult.Trapped.class, r);
      assertTrue(((GuestResult.Trapped) r).message().startsWith("wasm trap: "), r.toString());
    }
  }

  private static byte[] unreachable() {
    return start(0x00);
  }

  /** A module whose only function, exported as _start, runs {@code code}. */
  private static byte[] start(int... code) {
    int[] body = new int[code.length + 3];
    body[0] = code.length + 2;
    System.arraycopy(code, 0, body, 2, code.length);
    body[body.length - 1] = 0x0b;
    return module(
        section(TYPE, vec(bytes(0x60, 0, 0))),
        section(FUNCTION, vec(bytes(0))),
        section(EXPORT, vec(exportEntry("_start", 0, 0))),
        section(CODE, vec(bytes(body))));
  }

  @Test
  void prepare_compileWouldPassTheHeapAllowance_refusedNamingContainerAndWhatToDo() {
    byte[] m = unreachable();
    long need = (long) m.length * ChicoryEngine.COMPILE_HEAP_BYTES_PER_MODULE_BYTE;
    ChicoryEngine engine = new ChicoryEngine(CompiledModules.Limits.DEFAULT, need - 1);

    EngineException e = assertThrows(EngineException.class, () -> engine.prepare(spec(m)));

    assertEquals(EngineException.Kind.RESOURCE_EXHAUSTED, e.kind());
    assertTrue(e.getMessage().startsWith("container c1: module /app.wasm ("), e.getMessage());
    assertTrue(e.getMessage().contains("krill.io/engine: wasmtime"), e.getMessage());
    assertEquals(0, engine.heapHeld());
    try (var g = new ChicoryEngine(CompiledModules.Limits.DEFAULT, need).prepare(spec(m))) {
      assertInstanceOf(GuestResult.Trapped.class, g.run());
    }
  }

  @Test
  void heldModules_leaveNoRoomForAnotherCompile_untilTheirGuestsClose() {
    byte[] first = unreachable();
    byte[] second = start(0x01, 0x00); // nop, unreachable
    long held = (long) first.length * ChicoryEngine.HEAP_BYTES_PER_MODULE_BYTE;
    long need = (long) second.length * ChicoryEngine.COMPILE_HEAP_BYTES_PER_MODULE_BYTE;
    // Nothing kept beyond its guests: a module's heap is given back with its last guest.
    ChicoryEngine engine = new ChicoryEngine(CompiledModules.Limits.NONE, held + need - 1);

    var g = engine.prepare(spec(first));
    assertEquals(held, engine.heapHeld());
    EngineException e = assertThrows(EngineException.class, () -> engine.prepare(spec(second)));
    assertEquals(EngineException.Kind.RESOURCE_EXHAUSTED, e.kind());

    g.close();
    assertEquals(0, engine.heapHeld());
    try (var g2 = engine.prepare(spec(second))) {
      assertInstanceOf(GuestResult.Trapped.class, g2.run());
    }
    assertEquals(0, engine.heapHeld());
  }

  @Test
  void run_unreachable_trapMessageSaysSo() {
    try (var g = new ChicoryEngine().prepare(spec(unreachable()))) {
      assertEquals(new GuestResult.Trapped("wasm trap: unreachable instruction"), g.run());
    }
  }
}
