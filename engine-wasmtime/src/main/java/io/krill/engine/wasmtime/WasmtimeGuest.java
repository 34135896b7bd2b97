package io.krill.engine.wasmtime;

import io.github.kawamuray.wasmtime.Engine;
import io.github.kawamuray.wasmtime.Extern;
import io.github.kawamuray.wasmtime.Func;
import io.github.kawamuray.wasmtime.FuncType;
import io.github.kawamuray.wasmtime.ImportType;
import io.github.kawamuray.wasmtime.Instance;
import io.github.kawamuray.wasmtime.Memory;
import io.github.kawamuray.wasmtime.Module;
import io.github.kawamuray.wasmtime.Store;
import io.github.kawamuray.wasmtime.Val;
import io.github.kawamuray.wasmtime.WasmFunctionError;
import io.krill.engine.EngineException;
import io.krill.engine.Guest;
import io.krill.engine.GuestIo;
import io.krill.engine.GuestResult;
import io.krill.engine.GuestSpec;
import io.krill.os.GuestOutputs;
import io.krill.os.ResidentMemory;
import io.krill.wasi.ByteBufferMemory;
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
import java.util.Map;
import java.util.Optional;

/**
 * One guest on its own Wasmtime engine; see {@link WasmtimeEngine} for why. Its WASI is krill's
 * ({@link Wasi}): each import is a host function of the binding's API serving a {@link
 * HostFunction}; the binding's own WASI is not used.
 */
final class WasmtimeGuest implements Guest {
  /** Linear memories are 4 GiB reservations (Wasmtime's static memory style on 64-bit hosts). */
  private static final long RESERVATION = 4L << 30;

  /** How close to its cap a guest's memory must be for a failure to count as out-of-memory. */
  private static final long EXHAUSTION_MARGIN = (1L << 20) + 65536;

  private static final GuestMemory NO_MEMORY = ByteBufferMemory.allocate(0);

  private final GuestSpec spec;
  private final Engine engine;
  private final Module module;
  private final GuestSession session;

  private final GuestOutputs outputs = new GuestOutputs();
  private volatile long memoryAddress;
  private volatile boolean running;
  private volatile boolean memoryExhausted;
  private volatile Memory memory;
  private boolean closed;

  /** Stdio in memory (an instance per request), or null for the spec's paths. */
  private final GuestIo requestIo;

  /**
   * Epoch ticks this guest may run; 1 for a guest alone on its engine (a kill bumps the epoch
   * once), more for a guest on a {@link WasmtimeEngine#compile program}'s shared engine, whose
   * epoch a clock advances.
   */
  private final long deadlineTicks;

  /** Whether the engine and module are this guest's alone (closed with it, bumped by a kill). */
  private final boolean ownsEngine;

  /** A program's store this guest's instance runs in, or null for a store of its own. */
  private final StoreSlot slot;

  /** This guest's WASI functions by import, for a {@link StoreSlot}'s host functions. */
  private volatile Map<String, HostFunction> hostFunctions;

  /** Bytes of linear memory the instance had at its end (0 if it did not end normally). */
  private long endedMemoryBytes = -1;

  /** {@link System#nanoTime()} just before the entry was called, or 0. */
  private volatile long readyNanos;

  /** The budget this guest's WASI calls count against (the daemon's but in tests). */
  private HostCallBudget budget = HostCallBudget.DAEMON;

  /** WASI calls of this run, and how many of them it has taken from {@link #budget}. */
  private long hostCalls;

  private long hostCallsTaken;

  /** Set when the budget stopped this guest. */
  private volatile boolean hostCallsExhausted;

  WasmtimeGuest(GuestSpec spec, Engine engine, Module module) {
    this(spec, engine, module, null, 1, true);
  }

  WasmtimeGuest(
      GuestSpec spec,
      Engine engine,
      Module module,
      GuestIo io,
      long deadlineTicks,
      boolean ownsEngine) {
    this(spec, engine, module, io, deadlineTicks, ownsEngine, null);
  }

  WasmtimeGuest(
      GuestSpec spec,
      Engine engine,
      Module module,
      GuestIo io,
      long deadlineTicks,
      boolean ownsEngine,
      StoreSlot slot) {
    this.slot = slot;
    this.spec = spec.withoutModule();
    this.engine = engine;
    this.module = module;
    this.requestIo = io;
    this.deadlineTicks = deadlineTicks;
    this.ownsEngine = ownsEngine;
    this.session =
        io == null ? new GuestSession(spec.stdin()) : new GuestSession(new BytesStdin(io.stdin()));
  }

  @Override
  public GuestResult run() {
    if (session.interruption().interrupted()) {
      return new GuestResult.Interrupted();
    }
    List<AutoCloseable> natives = new ArrayList<>();
    Memory guestMemory = null;
    Store<Void> store = null;
    try {
      session.start(
          spec.containerId(),
          spec.args(),
          spec.env(),
          mounts(),
          spec.listeners(),
          requestIo == null ? outputs.stdout(spec.stdout()) : requestIo.stdout(),
          requestIo == null ? outputs.stderr(spec.stderr()) : requestIo.stderr());
      final Store<Void> s = slot != null ? slot.store : new Store<>(null, engine);
      store = s;
      s.setEpochDeadline(deadlineTicks);
      Map<String, HostFunction> functions = WasiFunctions.byImport();
      hostFunctions = functions;
      List<Extern> imports = new ArrayList<>();
      if (slot != null) {
        imports.addAll(slot.imports);
        slot.current = this;
      }
      for (ImportType imp : slot != null ? new ImportType[0] : module.imports()) {
        HostFunction f = functions.get(imp.module() + "." + imp.name());
        if (f == null) {
          throw new IllegalStateException(
              "import " + imp.module() + "." + imp.name() + " is not provided by krill");
        }
        Func func = define(s, f);
        natives.add(func);
        imports.add(Extern.fromFunc(func));
      }
      Instance instance = new Instance(store, module, imports);
      natives.add(instance);
      Optional<Memory> mem = instance.getMemory(store, "memory");
      if (mem.isPresent()) {
        guestMemory = mem.get();
        natives.add(guestMemory);
        memory = guestMemory;
        memoryAddress = ResidentMemory.addressOf(guestMemory.buffer(s));
      }
      Func entry =
          instance
              .getFunc(store, spec.entry())
              .orElseThrow(
                  () -> new IllegalStateException("export " + spec.entry() + " disappeared"));
      natives.add(entry);
      running = true;
      // interrupt() sets the flag before it bumps the epoch: either we see it here, or the bump
      // comes after the deadline was set and the call traps.
      if (session.interruption().interrupted()) {
        return new GuestResult.Interrupted();
      }
      readyNanos = System.nanoTime();
      entry.call(store);
      if (guestMemory != null) {
        endedMemoryBytes = guestMemory.size(store) * 65536L;
      } else {
        endedMemoryBytes = 0;
      }
      return new GuestResult.Exited(0);
    } catch (RuntimeException e) {
      if (hostCallsExhausted) {
        return new GuestResult.Trapped(hostCallsMessage());
      }
      ProcExit x = session.exit();
      if (x != null) {
        if (x.message() != null) {
          outputs.reportOnStderr(x.message());
        }
        if (x.code() == 0 && x.message() == null && store != null) {
          endedMemoryBytes = guestMemory == null ? 0 : guestMemory.size(store) * 65536L;
        }
        return new GuestResult.Exited(x.code());
      }
      if (session.interruption().interrupted()) {
        return new GuestResult.Interrupted();
      }
      if (e instanceof WasmFunctionError.TrapError t) {
        return new GuestResult.Trapped("wasm trap: " + trapKind(t.trap()));
      }
      return new GuestResult.Trapped(EngineException.trapMessage(e.getMessage()));
    } catch (IOException e) {
      return new GuestResult.Trapped(
          "container "
              + spec.containerId()
              + ": cannot open its stdout or stderr ("
              + e
              + "); check the stdio paths containerd was given");
    } finally {
      // The entry has returned: the binding's JNI handles of this run's calls are gone.
      budget.release(hostCallsTaken);
      hostCallsTaken = 0;
      hostCalls = 0;
      if (store != null && guestMemory != null && spec.memoryLimitBytes() > 0) {
        // A failed grow leaves the memory within one allocation of its cap.
        long bytes = guestMemory.size(store) * 65536L;
        memoryExhausted = bytes + EXHAUSTION_MARGIN >= spec.memoryLimitBytes();
      }
      running = false;
      memoryAddress = 0;
      memory = null;
      session.end();
      outputs.linger();
      for (int i = natives.size() - 1; i >= 0; i--) {
        try {
          natives.get(i).close();
        } catch (Exception ignored) {
          // Closing is best effort; the store below still frees the instance.
        }
      }
      if (store != null && slot == null) {
        store.close();
      }
    }
  }

  @Override
  public long readyNanos() {
    return readyNanos;
  }

  /**
   * After {@link #run()} of a guest in a {@link StoreSlot}: whether that store may serve the next
   * instance (this one returned from its entry, and the store keeps little enough).
   */
  boolean slotReusable() {
    return slot != null && endedMemoryBytes >= 0 && slot.reusable(endedMemoryBytes);
  }

  /** A {@link StoreSlot}'s host function, served by this guest's WASI. */
  void callHost(
      String key,
      Val.Type[] params,
      Store<Void> store,
      io.github.kawamuray.wasmtime.Caller<Void> caller,
      Val[] in,
      Val[] out) {
    HostFunction f = hostFunctions.get(key);
    countHostCall();
    long[] args = new long[in.length];
    for (int i = 0; i < in.length; i++) {
      args[i] = params[i] == Val.Type.I64 ? in[i].i64() : in[i].i32();
    }
    int errno = session.call(f, memoryOf(store, caller), args);
    if (f.returnsErrno()) {
      out[0] = Val.fromI32(errno);
    }
  }

  /** Counts a WASI call against the daemon's {@link HostCallBudget}; past it, stops the guest. */
  private void countHostCall() {
    if (++hostCalls > hostCallsTaken) {
      long step = HostCallBudget.nextStep(hostCallsTaken);
      if (!budget.take(step)) {
        hostCallsExhausted = true;
        throw new IllegalStateException(hostCallsMessage());
      }
      hostCallsTaken += step;
    }
  }

  private String hostCallsMessage() {
    return "container "
        + spec.containerId()
        + ": stopped after "
        + hostCalls
        + " WASI calls in one run: on Wasmtime (wasmtime-java 0.19) each call keeps its arguments"
        + " on the daemon's heap until the guest's run ends, and the daemon's running Wasmtime"
        + " guests may keep "
        + budget.max()
        + " together; run it on Chicory (annotation krill.io/engine=chicory), which has no such"
        + " limit, or make fewer, larger calls (buffer its output)";
  }

  /** For tests: count this guest's calls against {@code b}. */
  void budget(HostCallBudget b) {
    budget = b;
  }

  /** One WASI function as a host function of the binding. */
  private Func define(Store<Void> store, HostFunction f) {
    Val.Type[] params = new Val.Type[f.params().size()];
    for (int i = 0; i < params.length; i++) {
      params[i] = f.params().get(i) == HostFunction.ValType.I64 ? Val.Type.I64 : Val.Type.I32;
    }
    Val.Type[] results = f.returnsErrno() ? new Val.Type[] {Val.Type.I32} : new Val.Type[0];
    return new Func(
        store,
        new FuncType(params, results),
        (caller, in, out) -> {
          countHostCall();
          long[] args = new long[in.length];
          for (int i = 0; i < in.length; i++) {
            args[i] = params[i] == Val.Type.I64 ? in[i].i64() : in[i].i32();
          }
          int errno = session.call(f, memoryOf(store, caller), args);
          if (f.returnsErrno()) {
            out[0] = Val.fromI32(errno);
          }
        });
  }

  /** The caller's memory as it is now (a grow replaces the view). */
  private GuestMemory memoryOf(
      Store<Void> store, io.github.kawamuray.wasmtime.Caller<Void> caller) {
    Memory m = memory;
    if (m != null) {
      return new ByteBufferMemory(m.buffer(store));
    }
    Extern export = caller.getExport("memory").orElse(null);
    if (export == null || export.type() != Extern.Type.MEMORY) {
      return NO_MEMORY;
    }
    Memory exported = export.memory();
    try {
      return new ByteBufferMemory(exported.buffer(store));
    } finally {
      exported.close();
    }
  }

  private List<Mount> mounts() {
    return spec.preopens().stream()
        .map(p -> new Mount(p.guestPath(), p.hostPath(), p.readOnly()))
        .toList();
  }

  Engine engine() {
    return engine;
  }

  Module module() {
    return module;
  }

  /** Synchronized with {@link #close()}: the engine must not be freed under the epoch bump. */
  @Override
  public synchronized void interrupt() {
    if (closed) {
      return;
    }
    session.interrupt();
    if (ownsEngine) {
      engine.incrementEpoch();
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
  public long linearMemoryBytes() {
    long addr = memoryAddress;
    return addr == 0 || !running ? 0 : ResidentMemory.residentBytes(addr, RESERVATION);
  }

  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    if (ownsEngine) {
      module.close();
      engine.close();
    }
  }

  /** A trap kind in Wasmtime's (and Chicory's) words where the enum's name says it otherwise. */
  static String trapKind(io.github.kawamuray.wasmtime.Trap trap) {
    return trap == io.github.kawamuray.wasmtime.Trap.INTEGER_DIVISION_BY_ZERO
        ? "integer divide by zero"
        : trap.name().toLowerCase(java.util.Locale.ROOT).replace('_', ' ');
  }
}
