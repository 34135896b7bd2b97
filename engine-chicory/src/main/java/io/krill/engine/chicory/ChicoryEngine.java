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
import io.krill.engine.GuestIo;
import io.krill.engine.GuestResult;
import io.krill.engine.GuestSpec;
import io.krill.engine.Program;
import io.krill.engine.WasmEngine;
import io.krill.wasi.Wasi;
import io.krill.wasi.WasiFunctions;
import java.io.ByteArrayInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * Chicory (pure Java, no native code) as krill's engine: a module is parsed and validated, then
 * compiled to JVM bytecode by Chicory's runtime compiler (a function too large for one JVM method
 * is interpreted instead); the guest runs on the task's own thread with krill's WASI ({@link Wasi})
 * as its host functions. Chicory's own WASI is not used.
 *
 * <p>The compiled form of the last {@link #COMPILED_KEPT} modules (by their bytes' SHA-256) is kept
 * in memory and shared by every guest of that module, so replicas and execs compile once.
 */
public final class ChicoryEngine implements WasmEngine {
  /** How many compiled modules are kept; the least recently used beyond them is dropped. */
  static final int COMPILED_KEPT = 16;

  /** A module parsed, checked and compiled: what every guest of it shares. */
  private record Compiled(WasmModule module, Function<Instance, Machine> machine) {}

  private final Map<String, Compiled> compiled =
      new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Compiled> eldest) {
          return size() > COMPILED_KEPT;
        }
      };

  private int compiles;

  @Override
  public String name() {
    return "chicory";
  }

  @Override
  public Guest prepare(GuestSpec spec) {
    Compiled c = compiled(spec);
    return new ChicoryGuest(spec, c.module(), c.machine());
  }

  /**
   * One compile for every request's instance; Chicory's compiled code checks the thread's interrupt
   * as it runs, so a guest is stopped by its caller's interrupt.
   */
  @Override
  public Program compile(GuestSpec spec, long maxRunMillis) {
    Compiled c = compiled(spec);
    Set<ChicoryGuest> running = ConcurrentHashMap.newKeySet();
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
        ChicoryGuest g = new ChicoryGuest(s, c.module(), c.machine(), io);
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
      public void close() {}
    };
  }

  private Compiled compiled(GuestSpec spec) {
    String key = sha256(spec.module());
    Compiled c;
    synchronized (compiled) {
      c = compiled.get(key);
    }
    if (c == null) {
      c = compile(spec);
      synchronized (compiled) {
        compiled.put(key, c);
        compiles++;
      }
    }
    return c;
  }

  /** How many modules were compiled rather than found compiled (for tests). */
  int compiles() {
    synchronized (compiled) {
      return compiles;
    }
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
      return new Compiled(module, MachineFactoryCompiler.compile(module));
    } catch (ChicoryException | IllegalArgumentException | IllegalStateException e) {
      throw EngineException.invalidModule(spec.containerId(), spec.modulePath(), e);
    }
  }

  private static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK has no SHA-256", e);
    }
  }
}
