package io.krill.shim;

import io.krill.containerd.task.v2.DeleteRequest;
import io.krill.daemon.DaemonThreads;
import io.krill.daemon.LogFormat;
import io.krill.engine.CompiledModules;
import io.krill.engine.Engines;
import io.krill.engine.GuestSpec;
import io.krill.engine.WasmEngine;
import io.krill.engine.chicory.ChicoryEngine;
import io.krill.engine.wasmtime.WasmtimeEngine;
import io.krill.runtime.ExitStatus;
import io.krill.runtime.ImageModules;
import io.krill.runtime.MemoryBudget;
import io.krill.runtime.TaskEvent;
import io.krill.runtime.TaskManager;
import io.krill.ttrpc.TtrpcServer;
import io.krill.wagi.WagiServers;
import io.krill.wagi.WagiSettings;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * The krill daemon: one JVM per containerd address and namespace, hosting every wasm task of that
 * namespace, or ({@code krill-isolated}, {@link DaemonOptions#isolatedPod}) one JVM per pod, which
 * exits when the pod's last task is deleted. The composition root: everything is built here and
 * handed down.
 */
public final class Daemon {
  private static final System.Logger LOG = System.getLogger("krill.daemon");

  /** Private service of the launcher's {@code delete}: kill if needed, then delete. */
  static final String SHIM_SERVICE = "krill.shim.v1.Shim";

  /** Calls served at once; each blocks its thread for at most a compile or a short kill wait. */
  static final int HANDLER_THREADS = 32;

  static final int HANDLER_QUEUE = 10_000;

  /**
   * A pod's daemon leaves this long after its last task was deleted with no call since: long enough
   * for the reply to that Delete (and containerd's Shutdown after it) to be written.
   */
  static final Duration POD_EXIT_GRACE = Duration.ofSeconds(1);

  private final DaemonOptions options;
  private final AtomicLong lastActivity = new AtomicLong(System.nanoTime());
  private final AtomicLong lastAccept = new AtomicLong(System.nanoTime());

  /**
   * How long an accepted connection keeps an idle daemon up, whatever the idle timeout: it is a
   * start that found this daemon (or spawned it) and printed its address, or containerd coming with
   * that start's Create, which on a loaded node can take longer than a short idle timeout.
   */
  static final long ACCEPT_GRACE_NANOS = TimeUnit.SECONDS.toNanos(5);

  private final CompletableFuture<String> stopped = new CompletableFuture<>();

  /** Whether a task was ever created here: a pod's daemon exits with the pod's last one. */
  private final AtomicBoolean hostedTask = new AtomicBoolean();

  private Daemon(DaemonOptions options) {
    this.options = options;
  }

  public static void main(String[] args) throws Exception {
    DaemonOptions options;
    try {
      options = DaemonOptions.parse(args, System.getenv());
    } catch (IllegalArgumentException e) {
      System.err.println("krill daemon: " + e.getMessage());
      System.exit(2);
      return;
    }
    LogFormat.install(
        options.runDir(), options.logMaxBytes(), options.logLevel(), options.foreground());
    try {
      new Daemon(options).run();
    } catch (SocketClaim.Taken e) {
      LOG.log(Level.ERROR, "krill daemon for {0}: {1}", options.serves(), e.getMessage());
      System.exit(1);
    }
    System.exit(0);
  }

  private void run() throws Exception {
    ScheduledExecutorService timer =
        Executors.newSingleThreadScheduledExecutor(DaemonThreads.numbered("timer"));
    ExecutorService handlers = handlerPool();
    int pid = (int) ProcessHandle.current().pid();
    StateFiles states = new StateFiles();
    EventPublisher publisher = new EventPublisher(options.ttrpcAddress(), options.namespace());
    // The daemon's engines: the only place that names them. The daemon's setting is the default, a
    // container's krill.io/engine annotation picks another; each is built when first used.
    // Compiled modules are staged for Wasmtime in the run dir (memory, and this daemon's own).
    Map<String, Supplier<WasmEngine>> factories = new LinkedHashMap<>();
    // Each engine keeps its compiled modules in memory for all the daemon's tasks.
    CompiledModules.Limits inMemory =
        new CompiledModules.Limits(options.moduleCache().entries(), options.moduleCache().bytes());
    factories.put(
        "wasmtime",
        () ->
            new WasmtimeEngine(
                options.cacheDir(),
                options.runDir() == null
                    ? Path.of(System.getProperty("java.io.tmpdir"))
                        .resolve("krill-compile-" + ProcessHandle.current().pid())
                    : options.runDir().resolve("compile"),
                inMemory));
    factories.put("chicory", () -> new ChicoryEngine(inMemory));
    Engines engines =
        new Engines(options.engine().equals("chicory") ? "chicory" : "wasmtime", factories);
    WasmEngine engine = engines.defaultEngine();
    // Without containerd's address (tests) there is no content store; only rootfs modules run.
    ContainerdContentStore content =
        options.address().isEmpty()
            ? null
            : new ContainerdContentStore(
                ContainerdContentStore.socketOf(options.address()), options.namespace());
    ContentStoreModules layers =
        content == null
            ? null
            // One directory per namespace: each daemon prunes by what containerd holds in its own
            // namespace.
            : new ContentStoreModules(
                content,
                options.cacheDir().map(d -> d.resolve("layers").resolve(options.namespace())));
    ImageModules images = layers == null ? ImageModules.NONE : layers;
    TaskManager tasks =
        new TaskManager(
            engines,
            timer,
            pid,
            options.defaultMemoryLimit(),
            MemoryBudget.of(options.memoryBudget().bytes()),
            launcher());
    tasks.servingRequestsWith(new WagiServers(WagiSettings.defaults()));
    tasks.enforcingCpuLimits("/krill/" + options.namespace());
    if (options.runDir() != null) {
      tasks.privateMountsUnder(options.runDir().resolve("mounts"));
    }
    // State files first: the publisher may retry while containerd is away.
    tasks.subscribe(
        e -> {
          if (e instanceof TaskEvent.Created) {
            hostedTask.set(true);
          }
        });
    tasks.subscribe(states::record);
    tasks.subscribe(publisher);
    TtrpcServer server =
        new TtrpcServer(
            options.socket(),
            command ->
                handlers.execute(
                    () -> {
                      touch();
                      command.run();
                    }));
    new TaskService(tasks, images, states::forget, this::touch).registerOn(server);
    TaskService.register(
        server,
        SHIM_SERVICE,
        "Cleanup",
        DeleteRequest::parseFrom,
        DeleteRequest::getId,
        r -> {
          ExitStatus status = tasks.forceDelete(r.getId());
          states.forget(r.getId());
          return CompletableFuture.completedFuture(TaskService.deleteResponse(status, pid));
        });
    server.onAccept(
        () -> {
          lastAccept.set(System.nanoTime());
          touch();
        });
    // Holding the socket (the launcher's lock, or the claim), this daemon is the only one on the
    // run directory: what the one before made of cgroups and could not remove is removed now.
    SocketClaim.Listen listen =
        () -> {
          if (options.runDir() != null) {
            tasks.recordingCgroupsIn(options.runDir().resolve("cgroups"));
          }
          server.start();
        };
    if (options.foreground() && options.runDir() != null) {
      SocketClaim.claim(options.runDir(), options.socket(), listen);
    } else {
      listen.start();
    }
    LOG.log(
        Level.INFO,
        "krill daemon {0} serving {1} on {2} (containerd {3}, engine {4})",
        String.valueOf(pid),
        options.serves(),
        options.socket(),
        options.address(),
        engine.name());
    LOG.log(
        Level.INFO,
        "memory budget for guests: {0} ({1}); default memory limit: {2}",
        options.memoryBudget().bytes() == Long.MAX_VALUE
            ? "unlimited"
            : (options.memoryBudget().bytes() >> 20) + " MiB",
        options.memoryBudget().how(),
        options.defaultMemoryLimit() == 0 ? "none" : (options.defaultMemoryLimit() >> 20) + " MiB");
    timer.execute(() -> warmUp(engine));
    if (layers != null) {
      // containerd removes a layer with its last image; the copy krill keeps goes soon after.
      timer.scheduleWithFixedDelay(
          () -> layers.prune(Duration.ofHours(1)), 1, 60, TimeUnit.MINUTES);
    }
    long idleNanos = options.idleTimeout().toNanos();
    long podGraceNanos = POD_EXIT_GRACE.toNanos();
    boolean pod = options.isolatedPod().isPresent();
    if (options.idleExits() || pod) {
      timer.scheduleWithFixedDelay(
          () -> {
            // A pod's daemon goes with the pod's last task; before its first one (a Create that
            // failed) the idle timeout applies, as to a shared daemon.
            if (pod && hostedTask.get() && isIdle(tasks, podGraceNanos)) {
              if (stopIfStillIdle(tasks, podGraceNanos, server)) {
                stopped.complete("the pod's last task was deleted");
              }
            } else if (options.idleExits()
                && isIdle(tasks, idleNanos)
                && stopIfStillIdle(tasks, idleNanos, server)) {
              stopped.complete("no tasks for " + options.idleTimeout().toSeconds() + " s");
            }
          },
          200,
          200,
          TimeUnit.MILLISECONDS);
    }
    // Stopped by a signal: the cgroups of containers whose guests still run stay for the next
    // daemon; the empty ones (and the namespace directory, once empty) go now.
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  server.close();
                  tasks.removeCgroupsLeft();
                }));
    String why = stopped.join();
    LOG.log(Level.INFO, "krill daemon {0}: {1}, exiting", String.valueOf(pid), why);
    server.close();
    tasks.close();
    tasks.removeCgroupsLeft();
    publisher.close();
    if (content != null) {
      content.close();
    }
    engines.close();
  }

  private boolean isIdle(TaskManager tasks, long idleNanos) {
    return tasks.isEmpty()
        && idle(System.nanoTime(), lastActivity.get(), lastAccept.get(), idleNanos);
  }

  /**
   * Whether a daemon without tasks may leave at {@code now}: nothing happened for {@code
   * idleNanos}, and no connection came within {@link #ACCEPT_GRACE_NANOS} (a Create on its way).
   */
  static boolean idle(long now, long lastActivity, long lastAccept, long idleNanos) {
    return now - lastActivity > idleNanos && now - lastAccept > ACCEPT_GRACE_NANOS;
  }

  /**
   * Leaves only under the launcher's lock: a {@code start} that found this daemon alive holds the
   * lock until it has printed our address, and its probe connection counts as activity, so a
   * container that is about to arrive keeps the daemon up.
   */
  private boolean stopIfStillIdle(TaskManager tasks, long idleNanos, TtrpcServer server) {
    if (options.runDir() == null) {
      server.close();
      return true;
    }
    try (FileChannel lockFile =
            FileChannel.open(
                options.runDir().resolve("lock"),
                StandardOpenOption.CREATE,
                StandardOpenOption.WRITE);
        FileLock lock = lockFile.lock()) {
      if (!isIdle(tasks, idleNanos)) {
        return false;
      }
      server.close();
      // Under the lock, so no start of this pod can spawn a daemon into the dir as it goes.
      if (options.isolatedPod().isPresent()) {
        PodRunDir.remove(options.runDir());
      }
      return true;
    } catch (IOException e) {
      LOG.log(Level.WARNING, "cannot take the daemon lock: {0}", e.getMessage());
      server.close();
      return true;
    }
  }

  /**
   * Bounded, so a storm of calls costs queued tasks instead of a thread each; calls that find the
   * queue full are answered UNAVAILABLE. No handler waits for another one, so a bounded pool cannot
   * deadlock, and {@code Wait} holds no thread at all.
   */
  private static ExecutorService handlerPool() {
    ThreadPoolExecutor pool =
        new ThreadPoolExecutor(
            HANDLER_THREADS,
            HANDLER_THREADS,
            60,
            TimeUnit.SECONDS,
            new LinkedBlockingQueue<>(HANDLER_QUEUE),
            DaemonThreads.numbered("ttrpc-handler"));
    pool.allowCoreThreadTimeOut(true);
    return pool;
  }

  /** The launcher binary (its {@code pause} command stands in for pod sandboxes). */
  private static Path launcher() {
    String home = System.getProperty("krill.home");
    return home == null ? null : Path.of(home, "bin", "containerd-shim-krill-v1");
  }

  private void touch() {
    lastActivity.set(System.nanoTime());
  }

  /** Loads the native engine before the first Create needs it. */
  private static void warmUp(WasmEngine engine) {
    try {
      engine
          .prepare(
              new GuestSpec(
                  "warm-up",
                  "warm-up",
                  WARM_UP_MODULE,
                  "_start",
                  List.of(),
                  List.of(),
                  List.of(),
                  null,
                  null,
                  null))
          .close();
    } catch (RuntimeException e) {
      LOG.log(Level.WARNING, "engine warm-up failed: {0}", e.getMessage());
    }
  }

  /** {@code (module (func (export "_start")))} */
  private static final byte[] WARM_UP_MODULE = {
    0, 'a', 's', 'm', 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0, 7, 10, 1, 6, '_', 's', 't', 'a',
    'r', 't', 0, 0, 10, 4, 1, 2, 0, 0x0b
  };
}
