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

import io.krill.engine.EngineContractTest;
import io.krill.engine.GuestResult;
import io.krill.engine.GuestSpec;
import io.krill.engine.WasmEngine;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Chicory keeps the engine contract. */
class ChicoryEngineTest extends EngineContractTest {
  @Override
  protected WasmEngine newEngine() {
    return new ChicoryEngine();
  }

  @Test
  void run_unreachable_trapMessageSaysSo() {
    byte[] m =
        module(
            section(TYPE, vec(bytes(0x60, 0, 0))),
            section(FUNCTION, vec(bytes(0))),
            section(EXPORT, vec(exportEntry("_start", 0, 0))),
            section(CODE, vec(bytes(3, 0, 0x00, 0x0b))));
    GuestSpec s =
        new GuestSpec(
            "c1",
            "/app.wasm",
            m,
            "_start",
            List.of("/app.wasm"),
            List.of(),
            List.of(),
            null,
            null,
            null);
    try (var g = new ChicoryEngine().prepare(s)) {
      assertEquals(new GuestResult.Trapped("wasm trap: unreachable instruction"), g.run());
    }
  }
}
