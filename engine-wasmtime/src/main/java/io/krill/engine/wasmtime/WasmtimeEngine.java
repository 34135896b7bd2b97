package io.krill.engine.wasmtime;

import io.github.kawamuray.wasmtime.Config;
import io.github.kawamuray.wasmtime.Engine;
import io.github.kawamuray.wasmtime.ImportType;
import io.github.kawamuray.wasmtime.Module;
import io.krill.engine.CompiledModules;
import io.krill.engine.EngineException;
import io.krill.engine.Guest;
import io.krill.engine.GuestIo;
import io.krill.engine.GuestResult;
import io.krill.engine.GuestSpec;
import io.krill.engine.Program;
import io.krill.engine.WasmEngine;
import io.krill.wasi.WasiFunctions;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Wasmtime (7.0, through the wasmtime-java JNI binding) as krill's engine.
 *
 * <p>Each guest gets its own {@link Engine}: the binding locks a Store for the whole of a call, and
 * offers neither fuel, nor an epoch callback, nor a way to change a running Store's deadline, so
 * the only way to stop one running guest without stopping the others is to bump the epoch of an
 * engine that serves that guest alone (a Wasmtime {@link Module} cannot be instantiated in a Store
 * of another Engine, so neither can a compiled module be shared between guests in memory). Compiled
 * code is shared instead as Wasmtime's serialized artifact: in memory ({@link CompiledModules},
 * keyed by the module's SHA-256 and {@link #IDENTITY}, one compile however many guests start it at
 * once), and behind it krill's verified disk cache ({@link ModuleCache}), which hands each new
 * Engine only an artifact it has verified.
 */
public final class WasmtimeEngine implements WasmEngine {
  /**
   * What, besides a module's bytes, decides the native code: the Wasmtime build and the {@link
   * Config} of {@link #newEngine}. Change it with either, so old cache entries stop matching.
   */
  static final String IDENTITY = "wasmtime 7.0.1 (wasmtime-java 0.19.0); epoch_interruption=true";

  /** Beyond this the cache drops its least recently used compiled modules (Wasmtime's default). */
  static final long CACHE_SOFT_LIMIT = 512L << 20;

  private static final System.Logger LOG = System.getLogger("krill.cache");

  private final Optional<ModuleCache> cache;
  private final CompiledModules<ModuleCache.Artifact> inMemory;

  /**
   * @param cacheDir where compiled modules are cached across tasks and restarts; empty = no cache
   */
  public WasmtimeEngine(Optional<Path> cacheDir) {
    this(
        cacheDir,
        Path.of(System.getProperty("java.io.tmpdir"))
            .resolve("krill-compile-" + ProcessHandle.current().pid()));
  }

  /**
   * @param cacheDir where compiled modules are cached across tasks and restarts; empty = no cache
   * @param stagingDir a directory only this process uses, best on a memory filesystem (the daemon's
   *     run dir): each compile hands Wasmtime its verified artifact there
   */
  public WasmtimeEngine(Optional<Path> cacheDir, Path stagingDir) {
    this(cacheDir, stagingDir, CompiledModules.Limits.DEFAULT);
  }

  /**
   * @param cacheDir where compiled modules are cached across tasks and restarts; empty = no cache
   *     (and then none in memory either: Wasmtime hands krill its compiled code only through it)
   * @param stagingDir a directory only this process uses, best on a memory filesystem
   * @param inMemory how many compiled modules, and how many bytes of them, stay in memory
   */
  public WasmtimeEngine(Optional<Path> cacheDir, Path stagingDir, CompiledModules.Limits inMemory) {
    this(cacheDir, stagingDir, CACHE_SOFT_LIMIT, inMemory);
  }

  WasmtimeEngine(Optional<Path> cacheDir, Path stagingDir, long cacheSoftLimitBytes) {
    this(cacheDir, stagingDir, cacheSoftLimitBytes, CompiledModules.Limits.DEFAULT);
  }

  WasmtimeEngine(
      Optional<Path> cacheDir,
      Path stagingDir,
      long cacheSoftLimitBytes,
      CompiledModules.Limits inMemory) {
    this.cache = cacheDir.map(d -> new ModuleCache(d, stagingDir, IDENTITY, cacheSoftLimitBytes));
    this.inMemory = new CompiledModules<>(inMemory, a -> {});
  }

  /** The in-memory cache's counters (for tests). */
  CompiledModules.Stats memoryStats() {
    return inMemory.stats();
  }

  /** The modules in memory, least recently used first (for tests). */
  List<CompiledModules.Key> memoryKeys() {
    return inMemory.keys();
  }

  @Override
  public String name() {
    return "wasmtime";
  }

  /** Removes the staging directory; guests prepared before stay usable. */
  @Override
  public void close() {
    cache.ifPresent(ModuleCache::close);
  }

  @Override
  public Guest prepare(GuestSpec spec) {
    if (cache.isEmpty()) {
      return prepare(spec, null);
    }
    ModuleCache store = cache.get();
    // The first guest of a module loads it through the disk cache (or compiles it) and leaves
    // its artifact in memory; the others, and those that started meanwhile, load that.
    Guest[] first = new Guest[1];
    CompiledModules.Key key = CompiledModules.Key.of(spec.module(), IDENTITY);
    CompiledModules.Lease<ModuleCache.Artifact> lease =
        inMemory.get(
            key,
            () -> {
              try (ModuleCache.Compile compile = store.begin(spec, key.moduleDigest(), null)) {
                first[0] = prepare(spec, compile);
                ModuleCache.Artifact a = compile.artifact().orElse(null);
                return new CompiledModules.Compiled<>(a, a == null ? 0 : a.bytes().length);
              }
            });
    // Each guest's Engine loads its own copy: the lease only guards the bytes while they are
    // handed over.
    try (lease) {
      if (first[0] != null) {
        return first[0];
      }
      if (lease.value() != null) {
        LOG.log(
            System.Logger.Level.DEBUG,
            "container {0}: compiled module of {1} found in memory",
            spec.containerId(),
            spec.modulePath());
      }
      try (ModuleCache.Compile compile = store.begin(spec, key.moduleDigest(), lease.value())) {
        return prepare(spec, compile);
      }
    }
  }

  private Guest prepare(GuestSpec spec, ModuleCache.Compile compile) {
    Engine engine = newEngine(compile == null ? Optional.empty() : compile.wasmtimeConfig());
    Module module = null;
    try {
      module = new Module(engine, spec.module());
      for (ImportType imp : module.imports()) {
        if (!WasiFunctions.provides(imp.module(), imp.name())) {
          throw new EngineException(
              EngineException.Kind.INVALID_MODULE,
              WasiFunctions.notProvided(
                  spec.containerId(), spec.modulePath(), imp.module(), imp.name()));
        }
      }
      if (compile != null) {
        compile.compiled();
      }
      return new WasmtimeGuest(spec, engine, module);
    } catch (RuntimeException e) {
      if (module != null) {
        module.close();
      }
      engine.close();
      if (e instanceof EngineException k) {
        throw k;
      }
      throw EngineException.invalidModule(spec.containerId(), spec.modulePath(), e);
    }
  }

  /** How often a program's shared engine advances its epoch (its guests' clock). */
  static final long TICK_MILLIS = 10;

  /** How long after its caller's timeout a program's guest traps by itself (500 ms). */
  static final long DEADLINE_MARGIN_TICKS = 50;

  /**
   * One Engine and Module for every request's instance (each its own Store): the compile, or the
   * cache's load, happens once. A guest cannot be stopped alone by bumping a shared engine's epoch,
   * so a clock advances it every {@link #TICK_MILLIS} and each Store's deadline is {@code
   * maxRunMillis} of ticks (plus half a second): a spinning guest traps there by itself, a guest
   * waiting in WASI is stopped by its interruption. {@link Program#interruptAll} advances the epoch
   * past every deadline at once.
   */
  @Override
  public Program compile(GuestSpec spec, long maxRunMillis) {
    Guest first = prepare(spec);
    WasmtimeGuest owner = (WasmtimeGuest) first;
    Engine engine = owner.engine();
    Module module = owner.module();
    long ticks = Math.max(1, maxRunMillis / TICK_MILLIS) + DEADLINE_MARGIN_TICKS;
    Set<WasmtimeGuest> running = ConcurrentHashMap.newKeySet();
    ScheduledExecutorService clock =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "wasm-epoch-" + spec.containerId());
              t.setDaemon(true);
              return t;
            });
    clock.scheduleAtFixedRate(
        engine::incrementEpoch, TICK_MILLIS, TICK_MILLIS, TimeUnit.MILLISECONDS);
    ConcurrentLinkedQueue<StoreSlot> idle = new ConcurrentLinkedQueue<>();
    // What the stores kept for reuse may hold of finished instances' memories: one cap's worth.
    long retainLimit = spec.memoryLimitBytes() > 0 ? spec.memoryLimitBytes() : 64L << 20;
    return new Program() {
      private volatile boolean closed;

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
        StoreSlot idleSlot = idle.poll();
        StoreSlot slot = idleSlot != null ? idleSlot : new StoreSlot(engine, module, retainLimit);
        WasmtimeGuest g = new WasmtimeGuest(s, engine, module, io, ticks, false, slot);
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
            if (!closed && g.slotReusable()) {
              idle.offer(slot);
            } else {
              slot.close();
            }
          }
        };
      }

      @Override
      public void interruptAll() {
        running.forEach(WasmtimeGuest::interrupt);
        for (long i = 0; i <= ticks; i++) {
          engine.incrementEpoch();
        }
      }

      @Override
      public void close() {
        closed = true;
        for (StoreSlot slot; (slot = idle.poll()) != null; ) {
          slot.close();
        }
        clock.shutdownNow();
        first.close();
      }
    };
  }

  private static Engine newEngine(Optional<Path> cacheConfig) {
    try (Config config = new Config()) {
      config.epochInterruption(true);
      cacheConfig.ifPresent(config::cacheConfigLoad);
      return new Engine(config);
    }
  }
}
