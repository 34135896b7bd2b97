package io.krill.engine.wasmtime;

import io.github.kawamuray.wasmtime.Engine;
import io.github.kawamuray.wasmtime.Extern;
import io.github.kawamuray.wasmtime.Func;
import io.github.kawamuray.wasmtime.ImportType;
import io.github.kawamuray.wasmtime.Instance;
import io.github.kawamuray.wasmtime.Linker;
import io.github.kawamuray.wasmtime.Memory;
import io.github.kawamuray.wasmtime.Module;
import io.github.kawamuray.wasmtime.Store;
import io.github.kawamuray.wasmtime.WasmFunctionError;
import io.github.kawamuray.wasmtime.wasi.DirCaps;
import io.github.kawamuray.wasmtime.wasi.FileCaps;
import io.github.kawamuray.wasmtime.wasi.WasiCtx;
import io.github.kawamuray.wasmtime.wasi.WasiCtxBuilder;
import io.krill.engine.Guest;
import io.krill.engine.GuestResult;
import io.krill.engine.GuestSpec;
import io.krill.engine.Preopen;
import io.krill.os.ResidentMemory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CountDownLatch;

/** One guest on its own Wasmtime engine; see {@link WasmtimeEngine} for why. */
final class WasmtimeGuest implements Guest {
  private static final Set<DirCaps> RO_DIR =
      EnumSet.of(
          DirCaps.OPEN,
          DirCaps.READDIR,
          DirCaps.READLINK,
          DirCaps.PATH_FILESTAT_GET,
          DirCaps.FILESTAT_GET);
  private static final Set<FileCaps> RO_FILE =
      EnumSet.of(
          FileCaps.READ,
          FileCaps.SEEK,
          FileCaps.TELL,
          FileCaps.FILESTAT_GET,
          FileCaps.POLL_READWRITE,
          FileCaps.ADVISE,
          FileCaps.FDSTAT_SET_FLAGS);

  /** Linear memories are 4 GiB reservations (Wasmtime's static memory style on 64-bit hosts). */
  private static final long RESERVATION = 4L << 30;

  /** How close to its cap a guest's memory must be for a failure to count as out-of-memory. */
  private static final long EXHAUSTION_MARGIN = (1L << 20) + 65536;

  private final GuestSpec spec;
  private final Engine engine;
  private final Module module;
  private final Module trampoline;
  private final CountDownLatch interrupted = new CountDownLatch(1);
  private final GuestStdin stdin;
  private volatile long memoryAddress;
  private volatile boolean running;
  private volatile boolean memoryExhausted;
  private boolean closed;

  WasmtimeGuest(GuestSpec spec, Engine engine, Module module, Module trampoline) {
    this.spec = spec;
    this.engine = engine;
    this.module = module;
    this.trampoline = trampoline;
    this.stdin = spec.stdin() == null ? null : new GuestStdin(spec.stdin());
  }

  @Override
  public GuestResult run() {
    if (interrupted.getCount() == 0) {
      return new GuestResult.Interrupted();
    }
    if (stdin != null) {
      // Whether or not the guest reads it: containerd's writer waits for a reader (see GuestStdin).
      stdin.open(spec.containerId());
    }
    List<AutoCloseable> natives = new ArrayList<>();
    Memory guestMemory = null;
    WasiDelegates wasi = new WasiDelegates();
    natives.add(wasi);
    Store<Void> store = null;
    try {
      WasiCtx ctx = wasiContext();
      final Store<Void> s = new Store<>(null, engine, ctx);
      store = s;
      s.setEpochDeadline(1);
      Linker linker = new Linker(engine);
      natives.add(linker);
      WasiCtx.addToLinker(linker);
      List<Extern> imports = new ArrayList<>();
      for (ImportType imp : module.imports()) {
        Extern ext = resolveImport(s, linker, imp, wasi);
        imports.add(ext);
        if (ext.type() == Extern.Type.FUNC) {
          natives.add(ext.func());
        }
      }
      Instance instance = new Instance(store, module, imports);
      natives.add(instance);
      Optional<Memory> memory = instance.getMemory(store, "memory");
      if (memory.isPresent()) {
        guestMemory = memory.get();
        natives.add(memory.get());
        memoryAddress = ResidentMemory.addressOf(memory.get().buffer(s));
        wasi.connect(trampoline, s, linker, memory.get());
      }
      Func entry =
          instance
              .getFunc(store, spec.entry())
              .orElseThrow(
                  () -> new IllegalStateException("export " + spec.entry() + " disappeared"));
      natives.add(entry);
      running = true;
      // interrupt() counts down before it bumps the epoch: either we see the latch here, or the
      // bump comes after the deadline was set and the call traps.
      if (interrupted.getCount() == 0) {
        return new GuestResult.Interrupted();
      }
      entry.call(store);
      return new GuestResult.Exited(0);
    } catch (WasmFunctionError.I32ExitError e) {
      return new GuestResult.Exited(e.exitCode());
    } catch (WasmFunctionError.TrapError e) {
      return interrupted.getCount() == 0
          ? new GuestResult.Interrupted()
          : new GuestResult.Trapped(
              "wasm trap: " + e.trap().name().toLowerCase().replace('_', ' '));
    } catch (RuntimeException e) {
      return interrupted.getCount() == 0
          ? new GuestResult.Interrupted()
          : new GuestResult.Trapped(WasmtimeEngine.firstLine(e.getMessage()));
    } finally {
      if (store != null && guestMemory != null && spec.memoryLimitBytes() > 0) {
        // A failed grow leaves the memory within one allocation of its cap.
        long bytes = guestMemory.size(store) * 65536L;
        memoryExhausted = bytes + EXHAUSTION_MARGIN >= spec.memoryLimitBytes();
      }
      running = false;
      memoryAddress = 0;
      releaseStdin();
      for (int i = natives.size() - 1; i >= 0; i--) {
        try {
          natives.get(i).close();
        } catch (Exception ignored) {
          // Closing is best effort; the store below still frees the instance.
        }
      }
      if (store != null) {
        store.close();
      }
    }
  }

  private Extern resolveImport(
      Store<Void> store, Linker linker, ImportType imp, WasiDelegates wasi) {
    if ("poll_oneoff".equals(imp.name())) {
      return Extern.fromFunc(PollOneoff.create(store, wasi, interrupted));
    }
    if ("fd_read".equals(imp.name()) && stdin != null) {
      return Extern.fromFunc(FdRead.create(store, wasi, stdin, interrupted));
    }
    return linker
        .get(store, imp.module(), imp.name())
        .orElseThrow(
            () ->
                new IllegalStateException(
                    "WASI import "
                        + imp.module()
                        + "."
                        + imp.name()
                        + " is not provided by this Wasmtime build"));
  }

  private WasiCtx wasiContext() {
    WasiCtxBuilder b = new WasiCtxBuilder();
    b.args(spec.args());
    for (String kv : spec.env()) {
      int eq = kv.indexOf('=');
      if (eq > 0) {
        b.env(kv.substring(0, eq), kv.substring(eq + 1));
      }
    }
    if (spec.stdin() != null) {
      // Only so that fd 0 exists for fdstat and friends; reads are served by FdRead.
      b.stdin(Path.of("/dev/null"));
    }
    if (spec.stdout() != null) {
      b.stdout(spec.stdout());
    }
    if (spec.stderr() != null) {
      b.stderr(spec.stderr());
    }
    WasiCtx ctx = b.build();
    int fd = 3;
    for (Preopen p : spec.preopens()) {
      Set<DirCaps> dirCaps = p.readOnly() ? RO_DIR : EnumSet.allOf(DirCaps.class);
      Set<FileCaps> fileCaps = p.readOnly() ? RO_FILE : EnumSet.allOf(FileCaps.class);
      ctx.insertDir(fd++, p.hostPath(), dirCaps, fileCaps, Path.of(p.guestPath()));
    }
    return ctx;
  }

  /** Synchronized with {@link #close()}: the engine must not be freed under the epoch bump. */
  @Override
  public synchronized void interrupt() {
    if (closed) {
      return;
    }
    interrupted.countDown();
    engine.incrementEpoch();
    releaseStdin();
  }

  /** CloseIO: the guest reads what was written before it, then end-of-file. */
  @Override
  public void closeStdin() {
    if (stdin != null) {
      stdin.endInput();
    }
  }

  /** Kill and exit: stdin is closed at once, a read in progress ends with end-of-file. */
  private void releaseStdin() {
    if (stdin != null) {
      stdin.close();
    }
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
    trampoline.close();
    module.close();
    engine.close();
  }
}
