package io.krill.engine.chicory;

import com.dylibso.chicory.compiler.MachineFactoryCompiler;
import com.dylibso.chicory.runtime.Instance;
import com.dylibso.chicory.runtime.Machine;
import com.dylibso.chicory.wasm.ChicoryException;
import com.dylibso.chicory.wasm.Parser;
import com.dylibso.chicory.wasm.WasmModule;
import com.dylibso.chicory.wasm.types.Import;
import io.krill.engine.CompiledModules;
import io.krill.engine.EngineException;
import io.krill.engine.Guest;
import io.krill.engine.GuestIo;
import io.krill.engine.GuestResult;
import io.krill.engine.GuestSpec;
import io.krill.engine.Program;
import io.krill.engine.WasmEngine;
import io.krill.wasi.Wasi;
import io.krill.wasi.WasiFunctions;
import java.io.ByteArrayInputStream;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * Chicory (pure Java, no native code) as krill's engine: a module is parsed and validated, then
 * compiled to JVM bytecode by Chicory's runtime compiler (a function too large for one JVM method
 * is interpreted instead); the guest runs on the task's own thread with krill's WASI ({@link Wasi})
 * as its host functions. Chicory's own WASI is not used.
 *
 * <p>Compiled modules (the parsed module and its generated classes) are kept in the daemon's {@link
 * CompiledModules}, keyed by the module's SHA-256 and {@link #SETTINGS}, and shared by every guest
 * of that module, so replicas and execs compile once, and concurrent starts of one module wait for
 * a single compile.
 */
public final class ChicoryEngine implements WasmEngine {
  /** What, besides a module's bytes, decides the compiled code. */
  static final String SETTINGS = "chicory 1.7.5; runtime compiler; validation=true";

  /**
   * What a compiled module counts against the cache's size bound, per byte of the module: the
   * generated classes and Chicory's parsed form take several times the module's bytes.
   */
  static final int BYTES_PER_MODULE_BYTE = 4;

  /** A module parsed, checked and compiled: what every guest of it shares. */
  private record Compiled(
      WasmModule module, ChicoryGuest.Imports imports, Function<Instance, Machine> machine) {}

  private final CompiledModules<Compiled> compiled;

  public ChicoryEngine() {
    this(CompiledModules.Limits.DEFAULT);
  }

  /**
   * @param limits how many compiled modules, and how many bytes of them, stay in memory
   */
  public ChicoryEngine(CompiledModules.Limits limits) {
    this.compiled = new CompiledModules<>(limits, c -> {});
  }

  @Override
  public String name() {
    return "chicory";
  }

  @Override
  public Guest prepare(GuestSpec spec) {
    Compiled c = compiled(spec);
    return new ChicoryGuest(spec, c.module(), c.imports(), c.machine());
  }

  /**
   * One compile for every request's instance; Chicory's compiled code checks the thread's interrupt
   * as it runs, so a guest is stopped by its caller's interrupt.
   */
  @Override
  public Program compile(GuestSpec spec, long maxRunMillis) {
    Compiled c = compiled(spec);
    Set<ChicoryGuest> running = ConcurrentHashMap.newKeySet();
    // What finished instances' memories may keep resident for the next ones: one cap's worth.
    MemoryPool memories =
        new MemoryPool(spec.memoryLimitBytes() > 0 ? spec.memoryLimitBytes() : 64L << 20);
    ChicoryGuest.Shared shared = new ChicoryGuest.Shared(memories, ChicoryGuest.mountsOf(spec));
    return new Program() {
      @Override
      public Guest instantiate(List<String> args, List<String> env, GuestIo io) {
        GuestSpec s =
            new GuestSpec(
                spec.containerId(),
                spec.modulePath(),
                spec.module(),
                spec.entry(),
                args,
                env,
                spec.preopens(),
                null,
                null,
                null,
                spec.memoryLimitBytes());
        ChicoryGuest g = new ChicoryGuest(s, c.module(), c.imports(), c.machine(), io, shared);
        running.add(g);
        return new Guest() {
          @Override
          public GuestResult run() {
            return g.run();
          }

          @Override
          public void interrupt() {
            g.interrupt();
          }

          @Override
          public boolean memoryExhausted() {
            return g.memoryExhausted();
          }

          @Override
          public long linearMemoryBytes() {
            return g.linearMemoryBytes();
          }

          @Override
          public long readyNanos() {
            return g.readyNanos();
          }

          @Override
          public void close() {
            running.remove(g);
            g.close();
          }
        };
      }

      @Override
      public void interruptAll() {
        running.forEach(ChicoryGuest::interrupt);
      }

      @Override
      public void close() {
        memories.close();
      }
    };
  }

  /**
   * The module compiled, from memory if a guest of it was prepared before. The generated classes
   * are the JVM's to collect once no guest refers to them: the lease only counts users, and is
   * given back right away.
   */
  private Compiled compiled(GuestSpec spec) {
    try (CompiledModules.Lease<Compiled> lease =
        compiled.get(
            CompiledModules.Key.of(spec.module(), SETTINGS),
            () ->
                new CompiledModules.Compiled<>(
                    compile(spec), (long) spec.module().length * BYTES_PER_MODULE_BYTE))) {
      return lease.value();
    }
  }

  /** How many modules were compiled rather than found compiled (for tests). */
  int compiles() {
    return (int) compiled.stats().misses();
  }

  /** The in-memory cache's counters (for tests). */
  CompiledModules.Stats cacheStats() {
    return compiled.stats();
  }

  private static Compiled compile(GuestSpec spec) {
    WasmModule module;
    try {
      module =
          Parser.builder()
              .withValidation(true)
              .build()
              .parse(() -> new ByteArrayInputStream(spec.module()));
    } catch (ChicoryException | IllegalArgumentException | IllegalStateException e) {
      throw EngineException.invalidModule(spec.containerId(), spec.modulePath(), e);
    }
    for (Import imp : module.importSection().stream().toList()) {
      if (!WasiFunctions.provides(imp.module(), imp.name())) {
        throw new EngineException(
            EngineException.Kind.INVALID_MODULE,
            WasiFunctions.notProvided(
                spec.containerId(), spec.modulePath(), imp.module(), imp.name()));
      }
    }
    try {
      return new Compiled(
          module, new ChicoryGuest.Imports(module), MachineFactoryCompiler.compile(module));
    } catch (ChicoryException | IllegalArgumentException | IllegalStateException e) {
      throw EngineException.invalidModule(spec.containerId(), spec.modulePath(), e);
    }
  }
}
