package io.krill.engine.wasmtime;

import io.krill.engine.EngineContractTest;
import io.krill.engine.WasmEngine;
import java.util.Optional;

/** Wasmtime keeps the engine contract. */
class WasmtimeEngineTest extends EngineContractTest {
  @Override
  protected WasmEngine newEngine() {
    return new WasmtimeEngine(Optional.empty());
  }
}
