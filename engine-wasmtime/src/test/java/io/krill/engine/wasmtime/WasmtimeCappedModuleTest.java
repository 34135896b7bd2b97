package io.krill.engine.wasmtime;

import static io.krill.engine.wasm.WasmBytes.module;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.github.kawamuray.wasmtime.Engine;
import io.github.kawamuray.wasmtime.Instance;
import io.github.kawamuray.wasmtime.Memory;
import io.github.kawamuray.wasmtime.Module;
import io.github.kawamuray.wasmtime.Store;
import io.krill.engine.wasm.WasmBinary;
import io.krill.engine.wasm.WasmBytes;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Modules that {@link WasmBinary#withMemoryMaximum} rewrote still compile in Wasmtime, which
 * enforces the cap.
 */
class WasmtimeCappedModuleTest {
  @Test
  void withMemoryMaximum_unbounded_setsMaxToCapAndStillCompiles() throws Exception {
    byte[] capped = WasmBinary.parse(WasmBytes.memoryModule(1, -1)).withMemoryMaximum(16);
    WasmBinary reparsed = WasmBinary.parse(capped);
    assertEquals(Optional.of(new WasmBinary.Limits(1, 16, false)), reparsed.memory());
    assertEquals(List.of("_start"), reparsed.functionExports());
    assertWasmtimeEnforcesMaximum(capped, 16);
  }

  @Test
  void withMemoryMaximum_largerMax_lowersMaxToCap() throws Exception {
    byte[] capped = WasmBinary.parse(WasmBytes.memoryModule(1, 1000)).withMemoryMaximum(20);
    assertEquals(
        Optional.of(new WasmBinary.Limits(1, 20, false)), WasmBinary.parse(capped).memory());
    assertWasmtimeEnforcesMaximum(capped, 20);
  }

  @Test
  void withMemoryMaximum_paddedSectionSize_replacesWholeHeader() throws Exception {
    // Linkers emit padded 5-byte LEB128 section sizes; the rewrite must drop all of it.
    byte[] original = WasmBytes.paddedMemorySectionModule();
    assertEquals(
        Optional.of(new WasmBinary.Limits(1, -1, false)), WasmBinary.parse(original).memory());

    byte[] capped = WasmBinary.parse(original).withMemoryMaximum(8);

    WasmBinary reparsed = WasmBinary.parse(capped);
    assertEquals(Optional.of(new WasmBinary.Limits(1, 8, false)), reparsed.memory());
    assertEquals(List.of("_start"), reparsed.functionExports());
    assertWasmtimeEnforcesMaximum(capped, 8);
  }

  private static void assertWasmtimeEnforcesMaximum(byte[] module, int maxPages) {
    try (Engine engine = new Engine();
        Module compiled = new Module(engine, module);
        Store<Void> store = new Store<>(null, engine);
        Instance instance = new Instance(store, compiled, List.of());
        Memory memory = instance.getMemory(store, "memory").orElseThrow()) {
      int current = memory.size(store);
      memory.grow(store, maxPages - current);
      assertEquals(maxPages, memory.size(store));
      assertThrows(RuntimeException.class, () -> memory.grow(store, 1));
    }
  }
}
