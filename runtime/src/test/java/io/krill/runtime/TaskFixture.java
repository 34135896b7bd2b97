package io.krill.runtime;

import io.krill.engine.Engines;
import io.krill.engine.WasmEngine;
import io.krill.engine.wasmtime.WasmtimeEngine;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * A real {@link TaskManager} on the real Wasmtime engine, plus bundles in a temp directory: each
 * with a config.json whose root.path is an absolute rootfs directory (so nothing is mounted) and
 * regular files for stdout and stderr.
 */
final class TaskFixture implements AutoCloseable {
  static final int PID = 4242;

  /** Only to keep a broken build from hanging; never a performance bound. */
  static final Duration PATIENCE = Duration.ofSeconds(60);

  final Path tmp;
  final RecordingSink events = new RecordingSink(this::awaitEvents);
  final ScheduledExecutorService timer =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "test-timer");
            t.setDaemon(true);
            return t;
          });
  final Engines engines;
  final TaskManager tasks;
  final ImageModules images;

  TaskFixture(Path tmp) {
    this(tmp, new WasmtimeEngine(Optional.empty()), 0);
  }

  TaskFixture(Path tmp, WasmEngine engine, long defaultMemoryLimit) {
    this(tmp, engine, defaultMemoryLimit, ImageModules.NONE);
  }

  TaskFixture(Path tmp, ImageModules images) {
    this(tmp, new WasmtimeEngine(Optional.empty()), 0, images);
  }

  TaskFixture(Path tmp, long defaultMemoryLimit, MemoryBudget budget) {
    this(tmp, new WasmtimeEngine(Optional.empty()), defaultMemoryLimit, budget, ImageModules.NONE);
  }

  private TaskFixture(Path tmp, WasmEngine engine, long defaultMemoryLimit, ImageModules images) {
    this(tmp, engine, defaultMemoryLimit, MemoryBudget.unlimited(), images);
  }

  /** On these engines, picked per container by its annotation. */
  TaskFixture(Path tmp, Engines engines) {
    this(tmp, engines, 0, MemoryBudget.unlimited(), ImageModules.NONE);
  }

  private TaskFixture(
      Path tmp,
      WasmEngine engine,
      long defaultMemoryLimit,
      MemoryBudget budget,
      ImageModules images) {
    this(tmp, Engines.only(engine), defaultMemoryLimit, budget, images);
  }

  private TaskFixture(
      Path tmp,
      Engines engines,
      long defaultMemoryLimit,
      MemoryBudget budget,
      ImageModules images) {
    this.tmp = tmp;
    this.engines = engines;
    this.images = images;
    this.tasks = new TaskManager(engines, timer, PID, defaultMemoryLimit, budget, null);
    tasks.subscribe(events);
  }

  record Bundle(String id, Path dir, Path rootfs, Path stdout, Path stderr, ImageModules images) {
    TaskSpec spec() {
      return spec(new Stdio(null, stdout.toString(), stderr.toString(), false));
    }

    TaskSpec spec(Stdio stdio) {
      return new TaskSpec(id, dir, List.of(), stdio, TaskSpec.Kind.WASM, images);
    }

    String stdoutText() throws IOException {
      return Files.readString(stdout);
    }

    String stderrText() throws IOException {
      return Files.readString(stderr);
    }
  }

  /** A bundle whose rootfs holds the test resource {@code wasm/<name>} at {@code /<name>}. */
  Bundle bundleWithResource(String id, String name) {
    return bundle(id, "/" + name, name, resource("wasm/" + name), "");
  }

  /**
   * @param argv0 process.args[0]
   * @param fileName where {@code module} goes in the rootfs (null = nothing)
   * @param extraConfig JSON members appended to config.json's top-level object, each with a leading
   *     comma
   */
  Bundle bundle(String id, String argv0, String fileName, byte[] module, String extraConfig) {
    try {
      Path dir = Files.createDirectories(tmp.resolve("bundles").resolve(id));
      Path rootfs = Files.createDirectories(tmp.resolve("rootfs").resolve(id));
      if (fileName != null) {
        Files.write(rootfs.resolve(fileName), module);
      }
      String config =
          "{\"ociVersion\":\"1.0.2\","
              + "\"process\":{\"args\":[\""
              + argv0
              + "\"],\"env\":[\"PATH=/bin\"],\"cwd\":\"/\"},"
              + "\"root\":{\"path\":\""
              + rootfs
              + "\"}"
              + extraConfig
              + "}";
      Files.writeString(dir.resolve("config.json"), config);
      Path stdout = Files.createFile(dir.resolve("stdout"));
      Path stderr = Files.createFile(dir.resolve("stderr"));
      return new Bundle(id, dir, rootfs, stdout, stderr, images);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static byte[] resource(String name) {
    try (InputStream in = TaskFixture.class.getClassLoader().getResourceAsStream(name)) {
      if (in == null) {
        throw new IllegalArgumentException("no test resource " + name);
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  ExitStatus await(String id) throws Exception {
    return tasks.waitFor(id).get(PATIENCE.toSeconds(), TimeUnit.SECONDS);
  }

  /** Creates, starts and waits for a task; returns its exit. */
  ExitStatus run(Bundle b) throws Exception {
    tasks.create(b.spec());
    tasks.start(b.id());
    return await(b.id());
  }

  /**
   * Starts a task and returns once its guest is inside its entry function (its linear memory is
   * reported only from then on); the module must touch its memory early.
   */
  void startRunning(String id) throws InterruptedException {
    tasks.start(id);
    eventually("guest " + id + " runs", () -> tasks.stats(id).memoryBytes() > 0);
  }

  static void eventually(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + PATIENCE.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("gave up waiting until " + what);
      }
      Thread.sleep(10);
    }
  }

  static boolean threadAlive(String name) {
    return Thread.getAllStackTraces().keySet().stream()
        .anyMatch(t -> t.getName().equals(name) && t.isAlive());
  }

  @Override
  public void close() throws Exception {
    for (String id : tasks.ids()) {
      try {
        tasks.forceDelete(id);
      } catch (KrillException ignored) {
        // deleted concurrently by the test itself
      }
    }
    tasks.close();
    timer.shutdownNow();
    timer.awaitTermination(PATIENCE.toSeconds(), TimeUnit.SECONDS);
    engines.close();
  }

  private void awaitEvents() {
    try {
      tasks.awaitEvents(PATIENCE.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Keeps every event in arrival order; reading first waits for the events published so far. */
  static final class RecordingSink implements EventSink {
    private final List<TaskEvent> events = new CopyOnWriteArrayList<>();
    private final Runnable flush;

    RecordingSink(Runnable flush) {
      this.flush = flush;
    }

    @Override
    public void publish(TaskEvent event) {
      events.add(event);
    }

    List<TaskEvent> of(String id) {
      flush.run();
      return events.stream().filter(e -> e.containerId().equals(id)).toList();
    }

    List<Class<?>> kinds(String id) {
      return of(id).stream().<Class<?>>map(Object::getClass).toList();
    }
  }
}
