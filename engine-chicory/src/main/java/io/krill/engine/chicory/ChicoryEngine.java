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
   * The Java heap a compiled module keeps, per byte of the module: Chicory's parsed form of every
   * instruction, which its guests' instances use (36 to 41 measured for modules of 0.6 to 4.7 MiB).
   * It is what a module counts against the cache's size bound, and against {@link #HEAP_SHARE}.
   */
  static final int HEAP_BYTES_PER_MODULE_BYTE = 44;

  /**
   * The Java heap a compile takes at its peak, per byte of the module, what it keeps included: a
   * 1.2 MiB module compiles in a 96 MiB heap and not in 64, a 2.4 MiB one in 160 and not in 128.
   */
  static final int COMPILE_HEAP_BYTES_PER_MODULE_BYTE = 72;

  /**
   * The share of the daemon's maximum heap that compiled modules, and the compiles under way, may
   * take together; a compile that would pass it is refused, so that no module can end the daemon
   * with {@code OutOfMemoryError} (every task in it with the daemon).
   */
  static final double HEAP_SHARE = 0.5;

  /** A module parsed, checked and compiled: what every guest of it shares. */
  private record Compiled(
      WasmModule module,
      ChicoryGuest.Imports imports,
      Function<Instance, Machine> machine,
      long heapBytes) {}

  private final CompiledModules<Compiled> compiled;
  private final long heapAllowance;

  /** Heap held by compiled modules still in memory (in the cache, or used by a guest). */
  private long heapHeld;

  /** Heap that compiles under way may take at their peak. */
  private long heapCompiling;

  public ChicoryEngine() {
    this(CompiledModules.Limits.DEFAULT);
  }

  /**
   * @param limits how many compiled modules, and how many bytes of them, stay in memory
   */
  public ChicoryEngine(CompiledModules.Limits limits) {
    this(limits, (long) (Runtime.getRuntime().maxMemory() * HEAP_SHARE));
  }

  /**
   * @param heapAllowance how much of the Java heap compiled modules and compiles may take
   */
  ChicoryEngine(CompiledModules.Limits limits, long heapAllowance) {
    this.heapAllowance = heapAllowance;
    this.compiled = new CompiledModules<>(limits, this::released);
  }

  private synchronized void released(Compiled c) {
    heapHeld -= c.heapBytes();
  }

  /** Heap that compiled modules hold now (for tests). */
  synchronized long heapHeld() {
    return heapHeld;
  }

  @Override
  public String name() {
    return "chicory";
  }

  @Override
  public Guest prepare(GuestSpec spec) {
    CompiledModules.Lease<Compiled> lease = compiled(spec);
    try {
      Compiled c = lease.value();
      ChicoryGuest g = new ChicoryGuest(spec, c.module(), c.imports(), c.machine());
      g.onClose(lease::close);
      return g;
    } catch (RuntimeException e) {
      lease.close();
      throw e;
    }
  }

  /**
   * One compile for every request's instance; Chicory's compiled code checks the thread's interrupt
   * as it runs, so a guest is stopped by its caller's interrupt.
   */
  @Override
  public Program compile(GuestSpec spec, long maxRunMillis) {
    CompiledModules.Lease<Compiled> lease = compiled(spec);
    Compiled c = lease.value();
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
        lease.close();
      }
    };
  }

  /**
   * The module compiled, from memory if a guest of it was prepared before; the caller holds the
   * lease while it runs the module's code, so that the heap it keeps is counted until then.
   */
  private CompiledModules.Lease<Compiled> compiled(GuestSpec spec) {
    return compiled.get(
        CompiledModules.Key.of(spec.module(), SETTINGS),
        () -> {
          Compiled c = compileWithinHeap(spec);
          return new CompiledModules.Compiled<>(c, c.heapBytes());
        });
  }

  /**
   * Compiles the module if its compile fits what is left of the heap allowance, and counts what it
   * keeps; refuses it otherwise, naming the container and what to do.
   */
  private Compiled compileWithinHeap(GuestSpec spec) {
    long size = spec.module().length;
    long peak = size * COMPILE_HEAP_BYTES_PER_MODULE_BYTE;
    synchronized (this) {
      long free = heapAllowance - heapHeld - heapCompiling;
      if (peak > free) {
        throw new EngineException(
            EngineException.Kind.RESOURCE_EXHAUSTED,
            String.format(
                "container %s: module %s (%.1f MiB) is too big for the chicory engine in this"
                    + " daemon: compiling it takes about %d MiB of the daemon's Java heap, and %d of"
                    + " the %d MiB it allows compiled modules are free; run it on Wasmtime"
                    + " (annotation krill.io/engine: wasmtime), or give the daemon a bigger heap"
                    + " (KRILL_JAVA_OPTS=-Xmx..., see docs/install.md)",
                spec.containerId(),
                spec.modulePath(),
                size / 1048576.0,
                mib(peak),
                mib(Math.max(0, free)),
                mib(heapAllowance)));
      }
      heapCompiling += peak;
    }
    Compiled c = null;
    try {
      c = parseAndCompile(spec, size * HEAP_BYTES_PER_MODULE_BYTE);
      return c;
    } finally {
      synchronized (this) {
        heapCompiling -= peak;
        if (c != null) {
          heapHeld += c.heapBytes();
        }
      }
    }
  }

  private static long mib(long bytes) {
    return (bytes + (1 << 20) - 1) >> 20;
  }

  /** How many modules were compiled rather than found compiled (for tests). */
  int compiles() {
    return (int) compiled.stats().misses();
  }

  /** The in-memory cache's counters (for tests). */
  CompiledModules.Stats cacheStats() {
    return compiled.stats();
  }

  private static Compiled parseAndCompile(GuestSpec spec, long heapBytes) {
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
          module,
          new ChicoryGuest.Imports(module),
          MachineFactoryCompiler.compile(module),
          heapBytes);
    } catch (ChicoryException | IllegalArgumentException | IllegalStateException e) {
      throw EngineException.invalidModule(spec.containerId(), spec.modulePath(), e);
    }
  }
}
