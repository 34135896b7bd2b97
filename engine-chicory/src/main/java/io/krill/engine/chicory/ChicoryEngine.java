package io.krill.engine.chicory;

import com.dylibso.chicory.compiler.MachineFactoryCompiler;
import com.dylibso.chicory.runtime.Instance;
import com.dylibso.chicory.runtime.Machine;
import com.dylibso.chicory.wasm.ChicoryException;
import com.dylibso.chicory.wasm.Parser;
import com.dylibso.chicory.wasm.WasmModule;
import com.dylibso.chicory.wasm.types.Import;
import io.krill.engine.EngineException;
import io.krill.engine.Guest;
import io.krill.engine.GuestSpec;
import io.krill.engine.WasmEngine;
import io.krill.wasi.Wasi;
import io.krill.wasi.WasiFunctions;
import java.io.ByteArrayInputStream;
import java.util.List;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Chicory (pure Java, no native code) as krill's engine: a module is parsed and validated, then
 * compiled to JVM bytecode by Chicory's runtime compiler (a function too large for one JVM method
 * is interpreted instead); the guest runs on the task's own thread with krill's WASI ({@link Wasi})
 * as its host functions. Chicory's own WASI is not used.
 */
public final class ChicoryEngine implements WasmEngine {
  @Override
  public String name() {
    return "chicory";
  }

  @Override
  public Guest prepare(GuestSpec spec) {
    WasmModule module;
    Function<Instance, Machine> machine;
    try {
      module =
          Parser.builder()
              .withValidation(true)
              .build()
              .parse(() -> new ByteArrayInputStream(spec.module()));
    } catch (ChicoryException | IllegalArgumentException | IllegalStateException e) {
      throw EngineException.invalidModule(spec.containerId(), spec.modulePath(), e);
    }
    List<Import> imports = module.importSection().stream().collect(Collectors.toList());
    for (Import imp : imports) {
      if (!WasiFunctions.provides(imp.module(), imp.name())) {
        throw new EngineException(
            EngineException.Kind.INVALID_MODULE,
            WasiFunctions.notProvided(
                spec.containerId(), spec.modulePath(), imp.module(), imp.name()));
      }
    }
    try {
      machine = MachineFactoryCompiler.compile(module);
    } catch (ChicoryException | IllegalArgumentException | IllegalStateException e) {
      throw EngineException.invalidModule(spec.containerId(), spec.modulePath(), e);
    }
    return new ChicoryGuest(spec, module, machine);
  }
}
