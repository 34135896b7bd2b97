package io.krill.runtime;

import io.krill.oci.RuntimeSpec;
import io.krill.runtime.engine.Guest;
import io.krill.runtime.engine.GuestResult;
import io.krill.runtime.engine.GuestSpec;
import io.krill.runtime.engine.WasmEngine;
import io.krill.runtime.os.Mounts;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The protocol-free lifecycle core: create, start, kill, wait, delete of wasm tasks, each guest on
 * its own thread. Events go to the {@link EventSink} in lifecycle order per task.
 */
public final class TaskManager {
  private static final System.Logger LOG = System.getLogger("krill.tasks");
  private static final long GUEST_STACK_BYTES = 8L << 20;
  /** A killed guest must be reported stopped within this time, even if its thread is stuck. */
  private static final long KILL_GRACE_MILLIS = 700;
  private static final Set<Integer> IGNORED_SIGNALS = Set.of(0, 17, 18, 23, 28);

  private final WasmEngine engine;
  private final EventSink events;
  private final ScheduledExecutorService timer;
  private final int pid;
  private final long defaultMemoryLimit;
  private final Map<String, Task> tasks = new ConcurrentHashMap<>();
  private final Set<String> creating = new HashSet<>();

  /**
   * @param pid the pid reported for every task (the daemon's own: guests are threads in it)
   * @param defaultMemoryLimit linear-memory cap for containers that set none; 0 = none
   */
  public TaskManager(WasmEngine engine, EventSink events, ScheduledExecutorService timer, int pid,
      long defaultMemoryLimit) {
    this.engine = engine;
    this.events = events;
    this.timer = timer;
    this.pid = pid;
    this.defaultMemoryLimit = defaultMemoryLimit;
  }

  public int pid() {
    return pid;
  }

  public boolean isEmpty() {
    synchronized (creating) {
      return tasks.isEmpty() && creating.isEmpty();
    }
  }

  public int size() {
    return tasks.size();
  }

  /** Mounts the rootfs, finds and compiles the module; the task is then CREATED. Returns the pid. */
  public int create(TaskSpec spec) {
    String id = spec.id();
    synchronized (creating) {
      if (tasks.containsKey(id) || !creating.add(id)) {
        throw new KrillException(ErrorCode.ALREADY_EXISTS, "container " + id + " already exists in this krill daemon");
      }
    }
    try {
      if (spec.terminal()) {
        throw ModuleLoader.invalid(id, "a terminal (-t / tty: true) is not supported by krill; run it without one");
      }
      RuntimeSpec runtimeSpec;
      try {
        runtimeSpec = RuntimeSpec.read(spec.bundle());
      } catch (IOException e) {
        throw ModuleLoader.invalid(id, "cannot read the bundle's config.json: " + e.getMessage());
      }
      Path rootfs = runtimeSpec.rootPath(spec.bundle());
      boolean mounted = mountRootfs(spec, rootfs);
      try {
        ModuleLoader.Found module = ModuleLoader.find(id, runtimeSpec, rootfs);
        long limit = runtimeSpec.memoryLimit().orElse(defaultMemoryLimit);
        GuestSpec guestSpec = ModuleLoader.guestSpec(spec, runtimeSpec, rootfs, module, limit);
        Guest guest = engine.prepare(guestSpec);
        Task task = new Task(spec, rootfs, mounted, limit);
        task.guest = guest;
        // Published before the task is visible, so no Start can overtake /tasks/create.
        events.publish(new TaskEvent.Created(id, spec.bundle(), spec.rootfs(), spec.stdin(), spec.stdout(),
            spec.stderr(), spec.terminal(), pid));
        tasks.put(id, task);
      } catch (RuntimeException e) {
        if (mounted) {
          unmountQuietly(id, rootfs);
        }
        throw e;
      }
    } finally {
      synchronized (creating) {
        creating.remove(id);
      }
    }
    LOG.log(Level.INFO, "container {0}: created", id);
    return pid;
  }

  private boolean mountRootfs(TaskSpec spec, Path rootfs) {
    if (spec.rootfs().isEmpty()) {
      return false;
    }
    int done = 0;
    try {
      for (TaskSpec.RootfsMount m : spec.rootfs()) {
        Mounts.mount(m.type(), m.source(), m.options(), rootfs);
        done++;
      }
      return true;
    } catch (IOException e) {
      for (int i = 0; i < done; i++) {
        unmountQuietly(spec.id(), rootfs);
      }
      throw new KrillException(ErrorCode.FAILED_PRECONDITION, "container " + spec.id()
          + ": cannot mount its root filesystem: " + e.getMessage(), e);
    }
  }

  /** Starts the guest on its own thread; the task is then RUNNING. Returns the pid. */
  public int start(String id) {
    Task task = get(id);
    synchronized (task) {
      task.state = task.state.moveTo(TaskState.RUNNING, id);
      // Published before the thread exists, so no exit event can overtake it.
      events.publish(new TaskEvent.Started(id, pid));
      Thread thread = new Thread(null, () -> runGuest(task), "guest-" + id, GUEST_STACK_BYTES);
      thread.setDaemon(true);
      task.thread = thread;
      thread.start();
    }
    LOG.log(Level.INFO, "container {0}: started", id);
    return pid;
  }

  private void runGuest(Task task) {
    FileChannel stderr = holdStderr(task);
    GuestResult result;
    try {
      result = task.guest.run();
    } catch (Throwable t) {
      result = new GuestResult.Trapped("krill internal error: " + t);
    }
    task.recordFinalCpu();
    ExitStatus status;
    String message = null;
    if (result instanceof GuestResult.Exited e) {
      status = ExitStatus.now(e.code(), e.code() == 0 ? "Completed" : "Error");
    } else if (result instanceof GuestResult.Trapped t) {
      message = "krill: container " + task.id() + ": " + t.message() + "\n";
      status = ExitStatus.now(ExitStatus.TRAP, t.message());
    } else {
      status = killedStatus(task);
    }
    writeAndClose(task, stderr, message);
    finish(task, status);
    // Only once STOPPED: from then on Kill answers NOT_FOUND and never touches the freed guest.
    task.guest.close();
  }

  private static ExitStatus killedStatus(Task task) {
    int sig = task.killSignal == 0 ? 9 : task.killSignal;
    return ExitStatus.now(128 + sig, "killed by signal " + sig);
  }

  private void finish(Task task, ExitStatus status) {
    synchronized (task) {
      if (task.state != TaskState.RUNNING) {
        return;
      }
      task.state = TaskState.STOPPED;
      LOG.log(Level.INFO, "container {0}: exited with status {1} ({2})", task.id(), status.code(), status.reason());
      events.publish(new TaskEvent.Exited(task.id(), pid, status));
    }
    task.exit.complete(status);
  }

  /**
   * Holds a write end of the stderr FIFO while the guest runs: krill's own message about a trap
   * is written after the guest's stdio has closed, and containerd stops reading at the first EOF.
   * Opened read-write so that it never blocks, even if nobody reads.
   */
  private static FileChannel holdStderr(Task task) {
    Path stderr = ModuleLoader.stdioPath(task.id(), task.spec.stderr());
    if (stderr == null) {
      return null;
    }
    try {
      return Files.isRegularFile(stderr)
          ? FileChannel.open(stderr, StandardOpenOption.WRITE, StandardOpenOption.APPEND)
          : FileChannel.open(stderr, StandardOpenOption.READ, StandardOpenOption.WRITE);
    } catch (IOException e) {
      LOG.log(Level.WARNING, "container {0}: cannot open stderr: {1}", task.id(), e.getMessage());
      return null;
    }
  }

  private static void writeAndClose(Task task, FileChannel stderr, String message) {
    if (stderr == null) {
      return;
    }
    try (stderr) {
      if (message != null) {
        stderr.write(ByteBuffer.wrap(message.getBytes(StandardCharsets.UTF_8)));
      }
    } catch (IOException e) {
      LOG.log(Level.WARNING, "container {0}: cannot write to stderr: {1}", task.id(), e.getMessage());
    }
  }

  /**
   * Delivers a signal. There are no signal handlers in WASI, so every terminating signal stops the
   * guest (exit status 128+signal); signals whose default action is to ignore are ignored.
   */
  public void kill(String id, int signal) {
    Task task = get(id);
    synchronized (task) {
      if (IGNORED_SIGNALS.contains(signal) && task.state != TaskState.STOPPED && task.state != TaskState.DELETED) {
        return;
      }
      switch (task.state) {
        case STOPPED, DELETED -> throw new KrillException(ErrorCode.NOT_FOUND,
            "container " + id + ": process already finished");
        case CREATED -> {
          task.killSignal = signal;
          task.state = TaskState.STOPPED;
          task.guest.close();
          ExitStatus status = killedStatus(task);
          events.publish(new TaskEvent.Exited(id, pid, status));
          task.exit.complete(status);
          return;
        }
        case RUNNING -> {
          if (task.killSignal == 0 || signal == 9) {
            task.killSignal = signal;
          }
          LOG.log(Level.INFO, "container {0}: stopping on signal {1}", id, signal);
          task.guest.interrupt();
        }
      }
    }
    timer.schedule(() -> {
      if (task.state == TaskState.RUNNING) {
        LOG.log(Level.WARNING, "container {0}: guest did not stop within {1} ms; reporting it stopped",
            id, KILL_GRACE_MILLIS);
        finish(task, killedStatus(task));
      }
    }, KILL_GRACE_MILLIS, TimeUnit.MILLISECONDS);
  }

  /** Forgets a task that is not running; unmounts its rootfs. Returns how it ended. */
  public ExitStatus delete(String id) {
    Task task = get(id);
    ExitStatus status;
    synchronized (task) {
      if (task.state == TaskState.RUNNING) {
        throw new KrillException(ErrorCode.FAILED_PRECONDITION,
            "container " + id + " is still running: kill it before deleting it");
      }
      boolean neverStarted = task.state == TaskState.CREATED;
      task.state = task.state.moveTo(TaskState.DELETED, id);
      status = neverStarted ? ExitStatus.now(0, "never started") : task.exit.join();
      if (neverStarted) {
        task.guest.close();
      }
      tasks.remove(id);
    }
    if (task.mountedRootfs) {
      unmountQuietly(id, task.rootfs);
    }
    LOG.log(Level.INFO, "container {0}: deleted", id);
    events.publish(new TaskEvent.Deleted(id, pid, status));
    return status;
  }

  /** Kills (if needed), waits briefly for the exit, and deletes: the cleanup path for a lost shim. */
  public ExitStatus forceDelete(String id) {
    Task task = get(id);
    if (task.state == TaskState.RUNNING) {
      try {
        kill(id, 9);
      } catch (KrillException ignored) {
        // it stopped on its own meanwhile
      }
      task.exit.orTimeout(KILL_GRACE_MILLIS * 2, TimeUnit.MILLISECONDS).exceptionally(t -> null).join();
    }
    return delete(id);
  }

  public CompletableFuture<ExitStatus> waitFor(String id) {
    return get(id).exit.copy();
  }

  public TaskInfo info(String id) {
    Task task = get(id);
    synchronized (task) {
      ExitStatus exit = task.exit.isDone() ? task.exit.join() : null;
      return new TaskInfo(id, task.spec.bundle(), pid, task.state, task.spec.stdin(), task.spec.stdout(),
          task.spec.stderr(), task.spec.terminal(), exit);
    }
  }

  public TaskStats stats(String id) {
    Task task = get(id);
    return new TaskStats(task.cpuNanos(), task.guest.linearMemoryBytes(), task.memoryLimit);
  }

  /** Ends the guest's stdin (CloseIO). */
  public void closeStdin(String id) {
    Task task = get(id);
    task.guest.closeStdin();
  }

  /**
   * A memory limit is compiled into the module, so it can change only before the guest starts.
   */
  public void updateMemoryLimit(String id, long limitBytes) {
    Task task = get(id);
    synchronized (task) {
      if (limitBytes == task.memoryLimit) {
        return;
      }
      throw new KrillException(ErrorCode.FAILED_PRECONDITION, "container " + id
          + ": the memory limit of a wasm guest is fixed when it is created; recreate the container to change it");
    }
  }

  public List<String> ids() {
    return List.copyOf(tasks.keySet());
  }

  private Task get(String id) {
    Task task = tasks.get(id);
    if (task == null) {
      throw KrillException.notFound(id);
    }
    return task;
  }

  private static void unmountQuietly(String id, Path rootfs) {
    try {
      Mounts.unmount(rootfs);
    } catch (IOException e) {
      LOG.log(Level.WARNING, "container {0}: {1}", id, e.getMessage());
    }
  }
}
