package io.krill.engine.chicory;

import com.dylibso.chicory.runtime.ChicoryInterruptedException;
import com.dylibso.chicory.runtime.ExportFunction;
import com.dylibso.chicory.runtime.ImportFunction;
import com.dylibso.chicory.runtime.ImportValues;
import com.dylibso.chicory.runtime.Instance;
import com.dylibso.chicory.runtime.Machine;
import com.dylibso.chicory.runtime.Memory;
import com.dylibso.chicory.wasm.ChicoryException;
import com.dylibso.chicory.wasm.WasmModule;
import com.dylibso.chicory.wasm.types.FunctionType;
import com.dylibso.chicory.wasm.types.Import;
import com.dylibso.chicory.wasm.types.ValType;
import io.krill.engine.EngineException;
import io.krill.engine.Guest;
import io.krill.engine.GuestIo;
import io.krill.engine.GuestResult;
import io.krill.engine.GuestSpec;
import io.krill.os.GuestOutputs;
import io.krill.wasi.BytesStdin;
import io.krill.wasi.GuestMemory;
import io.krill.wasi.GuestSession;
import io.krill.wasi.HostFunction;
import io.krill.wasi.Mount;
import io.krill.wasi.ProcExit;
import io.krill.wasi.WasiFunctions;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * One guest on Chicory, run on the caller's (the task's) thread. Kill sets krill's {@link
 * Interruption} (which ends a wait in a WASI call) and interrupts that thread, which Chicory's
 * compiled code and interpreter check as they run: a guest spinning without calling the host stops
 * too.
 */
final class ChicoryGuest implements Guest {
  /** How close to its cap a guest's memory must be for a failure to count as out-of-memory. */
  private static final long EXHAUSTION_MARGIN = (1L << 20) + 65536;

  private static final ChicoryMemory NO_MEMORY = new ChicoryMemory(null);

  private final GuestSpec spec;
  private final WasmModule module;
  private final Imports imports;
  private final Function<Instance, Machine> machine;
  private final GuestSession session;
  private final GuestOutputs outputs = new GuestOutputs();
  private volatile Memory memory;
  private volatile boolean memoryExhausted;

  /** {@link System#nanoTime()} just before the entry was called, or 0. */
  private volatile long readyNanos;

  /** The thread in {@link #run()}, interrupted by {@link #interrupt()}; guarded by this. */
  private Thread runner;

  /** Stdio in memory (an instance per request), or null for the spec's paths. */
  private final GuestIo io;

  private final MemoryPool memories;

  /** What {@link #close} gives back (null: nothing, or given back). */
  private volatile Runnable release;

  /** The mounts, made once for every instance of a program (null: made at run). */
  private final List<Mount> mounts;

  /**
   * What a compiled program's instances share: where their linear memories come from and go back
   * to, and their mounts.
   */
  record Shared(MemoryPool memories, List<Mount> mounts) {}

  ChicoryGuest(
      GuestSpec spec, WasmModule module, Imports imports, Function<Instance, Machine> machine) {
    this(spec, module, imports, machine, null);
  }

  ChicoryGuest(
      GuestSpec spec,
      WasmModule module,
      Imports imports,
      Function<Instance, Machine> machine,
      GuestIo io) {
    this(spec, module, imports, machine, io, null);
  }

  /**
   * @param shared what this instance shares with the other instances of its program (null: none)
   */
  ChicoryGuest(
      GuestSpec spec,
      WasmModule module,
      Imports imports,
      Function<Instance, Machine> machine,
      GuestIo io,
      Shared shared) {
    this.spec = spec.withoutModule();
    this.module = module;
    this.imports = imports;
    this.machine = machine;
    this.io = io;
    this.memories = shared == null ? null : shared.memories();
    this.mounts = shared == null ? null : shared.mounts();
    this.session =
        io == null ? new GuestSession(spec.stdin()) : new GuestSession(new BytesStdin(io.stdin()));
  }

  @Override
  public GuestResult run() {
    synchronized (this) {
      if (session.interruption().interrupted()) {
        return new GuestResult.Interrupted();
      }
      runner = Thread.currentThread();
    }
    try {
      session.start(
          spec.containerId(),
          spec.args(),
          spec.env(),
          mounts(),
          spec.listeners(),
          io == null ? outputs.stdout(spec.stdout()) : io.stdout(),
          io == null ? outputs.stderr(spec.stderr()) : io.stderr());
      List<ImportFunction> imports = new ArrayList<>(this.imports.functions.size());
      for (int i = 0; i < this.imports.functions.size(); i++) {
        imports.add(define(this.imports.functions.get(i), this.imports.types.get(i)));
      }
      Instance instance =
          Instance.builder(module)
              .withImportValues(ImportValues.builder().withFunctions(imports).build())
              .withMachineFactory(machine)
              .withMemoryFactory(memories == null ? OffHeapMemory::new : memories::take)
              .withStart(false)
              .build();
      memory = instance.memory();
      if (session.interruption().interrupted()) {
        return new GuestResult.Interrupted();
      }
      module
          .startSection()
          .ifPresent(s -> instance.getMachine().call((int) s.startIndex(), new long[0]));
      ExportFunction entry = instance.export(spec.entry());
      readyNanos = System.nanoTime();
      entry.apply();
      return new GuestResult.Exited(0);
    } catch (RuntimeException | StackOverflowError e) {
      ProcExit x = session.exit();
      if (x != null) {
        if (x.message() != null) {
          outputs.reportOnStderr(x.message());
        }
        return new GuestResult.Exited(x.code());
      }
      if (session.interruption().interrupted() || e instanceof ChicoryInterruptedException) {
        return new GuestResult.Interrupted();
      }
      if (e instanceof StackOverflowError) {
        return new GuestResult.Trapped("wasm trap: call stack exhausted");
      }
      if (e instanceof ChicoryException) {
        String cause = EngineException.firstLine(e.getMessage()).toLowerCase(Locale.ROOT);
        return new GuestResult.Trapped(
            "wasm trap: "
                + (cause.startsWith("trapped on ")
                    ? cause.substring("trapped on ".length())
                    : cause));
      }
      return new GuestResult.Trapped(EngineException.firstLine(String.valueOf(e)));
    } catch (IOException e) {
      return new GuestResult.Trapped(
          "container "
              + spec.containerId()
              + ": cannot open its stdout or stderr ("
              + e
              + "); check the stdio paths containerd was given");
    } finally {
      Memory m = memory;
      if (m != null && spec.memoryLimitBytes() > 0) {
        // A failed grow leaves the memory within one allocation of its cap.
        long bytes = (long) m.pages() * Memory.PAGE_SIZE;
        memoryExhausted = bytes + EXHAUSTION_MARGIN >= spec.memoryLimitBytes();
      }
      if (m instanceof OffHeapMemory o) {
        if (memories == null) {
          o.release();
        } else {
          memories.giveBack(o);
        }
      }
      memory = null;
      synchronized (this) {
        runner = null;
        // A kill that came as the guest ended must not stay on the task's thread.
        Thread.interrupted();
      }
      session.end();
      outputs.linger();
    }
  }

  /**
   * A module's imports resolved to krill's WASI functions once, with their Chicory signatures: what
   * each of its instances binds to its own session.
   */
  static final class Imports {
    final List<HostFunction> functions = new ArrayList<>();
    final List<FunctionType> types = new ArrayList<>();

    Imports(WasmModule module) {
      Map<String, HostFunction> provided = WasiFunctions.byImport();
      for (Import imp : module.importSection().stream().toList()) {
        HostFunction f = provided.get(imp.module() + "." + imp.name());
        if (f == null) {
          throw new IllegalStateException(
              "import " + imp.module() + "." + imp.name() + " is not provided by krill");
        }
        List<ValType> params = new ArrayList<>();
        for (HostFunction.ValType t : f.params()) {
          params.add(t == HostFunction.ValType.I64 ? ValType.I64 : ValType.I32);
        }
        functions.add(f);
        types.add(FunctionType.of(params, f.returnsErrno() ? List.of(ValType.I32) : List.of()));
      }
    }
  }

  /** One WASI function as a Chicory host function of this guest. */
  private ImportFunction define(HostFunction f, FunctionType type) {
    return new com.dylibso.chicory.runtime.HostFunction(
        f.module(),
        f.name(),
        type,
        (instance, args) -> {
          long[] in = new long[args.length];
          for (int i = 0; i < args.length; i++) {
            in[i] = f.params().get(i) == HostFunction.ValType.I64 ? args[i] : (int) args[i];
          }
          int errno = session.call(f, memoryOf(instance), in);
          return f.returnsErrno() ? new long[] {errno} : null;
        });
  }

  private static GuestMemory memoryOf(Instance instance) {
    Memory m = instance.memory();
    return m == null ? NO_MEMORY : new ChicoryMemory(m);
  }

  private List<Mount> mounts() {
    return mounts != null ? mounts : mountsOf(spec);
  }

  static List<Mount> mountsOf(GuestSpec spec) {
    return spec.preopens().stream()
        .map(p -> new Mount(p.guestPath(), p.hostPath(), p.readOnly()))
        .toList();
  }

  @Override
  public synchronized void interrupt() {
    session.interrupt();
    if (runner != null) {
      runner.interrupt();
    }
    outputs.closeNow();
  }

  /** CloseIO: the guest reads what was written before it, then end-of-file. */
  @Override
  public void closeStdin() {
    session.closeStdin();
  }

  @Override
  public void stopAccepting() {
    session.stopAccepting();
  }

  @Override
  public boolean memoryExhausted() {
    return memoryExhausted;
  }

  @Override
  public long readyNanos() {
    return readyNanos;
  }

  /** The size of the guest's linear memory (outside the heap; a page resident once touched). */
  @Override
  public long linearMemoryBytes() {
    Memory m = memory;
    return m == null ? 0 : (long) m.pages() * Memory.PAGE_SIZE;
  }

  /** Runs {@code release} when this guest is closed (its hold on its compiled module). */
  void onClose(Runnable release) {
    this.release = release;
  }

  @Override
  public void close() {
    // Nothing native: the instance and its memory go with the last reference.
    Runnable r = release;
    release = null;
    if (r != null) {
      r.run();
    }
  }
}
