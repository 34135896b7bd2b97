package io.krill.engine.wasmtime;

import io.krill.engine.EngineContractTest;
import io.krill.engine.WasmEngine;
import java.util.Optional;

/** Wasmtime keeps the engine contract with krill's verified module cache in the way. */
class WasmtimeCachedEngineTest extends EngineContractTest {
  @Override
  protected WasmEngine newEngine() {
    return new WasmtimeEngine(Optional.of(tmp.resolve("cache")), tmp.resolve("staging"));
  }
}
