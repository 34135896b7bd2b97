package io.krill.runtime;

import io.krill.engine.EngineException;
import io.krill.engine.Guest;
import io.krill.engine.GuestResult;
import io.krill.os.CpuCgroup;
import io.krill.os.Fifos;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * One process of a container — its own guest or an exec — from start to exit, on its own thread.
 * State changes happen under this object's lock; events leave in lifecycle order.
 */
final class GuestProcess {
  private static final System.Logger LOG = System.getLogger("krill.tasks");
  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
  private static final long GUEST_STACK_BYTES = 8L << 20;

  /** A killed guest is reported stopped within this time, even if its thread is stuck. */
  static final long KILL_GRACE_MILLIS = 700;

  /** How long a guest's exit waits for a reader to take what is left in its stdout or stderr. */
  static final long OUTPUT_READ_MILLIS = 1000;

  final String containerId;

  /** The container id for the container's own process, else the exec id. */
  final String processId;

  final int pid;
  final Guest guest;
  final String stdin;
  final String stdout;
  final String stderr;

  /** Whether the process has a terminal: one output stream (see {@link Stdio}). */
  final boolean terminal;

  /** The terminal's size as last set by ResizePty (null: never set). */
  volatile TerminalSize terminalSize;

  final CompletableFuture<ExitStatus> exit = new CompletableFuture<>();

  /** Set with {@code state = STOPPED}; {@link #exit} completes just after, outside the lock. */
  ExitStatus exitStatus;

  private final EventQueue events;
  private final ScheduledExecutorService timer;

  /** This guest's share of the daemon's memory budget (null: it has none, a pod sandbox). */
  private final MemoryBudget.Reservation memory;

  /** The container's CPU cgroup, which this guest's thread joins before it runs (null: none). */
  private final CpuCgroup cpu;

  TaskState state = TaskState.CREATED;
  private volatile Thread thread;
  private volatile int killSignal;

  /**
   * The guest has ended by itself and its exit status is decided; the exit may still wait for its
   * output's reader ({@link #awaitOutputRead}). A signal now is one to an exited process.
   */
  private boolean ended;

  /** Stopping gracefully ({@link #drain}): takes no new connections, ends on its own. */
  private volatile boolean draining;

  private volatile long finalCpuNanos = -1;

  GuestProcess(
      String containerId,
      String processId,
      int pid,
      Guest guest,
      String stdin,
      String stdout,
      String stderr,
      boolean terminal,
      EventQueue events,
      ScheduledExecutorService timer,
      MemoryBudget.Reservation memory,
      CpuCgroup cpu) {
    this.containerId = containerId;
    this.processId = processId;
    this.pid = pid;
    this.guest = guest;
    this.stdin = stdin;
    this.stdout = stdout;
    this.stderr = stderr;
    this.terminal = terminal;
    this.events = events;
    this.timer = timer;
    this.memory = memory;
    this.cpu = cpu;
  }

  /** A terminal's size in characters. */
  record TerminalSize(int width, int height) {}

  boolean isExec() {
    return !containerId.equals(processId);
  }

  private String label() {
    return isExec()
        ? "container " + containerId + " exec " + processId
        : "container " + containerId;
  }

  /**
   * A line about this process, in the daemon's per-container form ({@code "container {0}: "}, which
   * the log turns into {@code container=<id>}); {@code {1}} names the exec, the event's own
   * arguments start at {@code {2}}.
   */
  private void log(Level level, String event, Object... args) {
    Object[] params = new Object[2 + args.length];
    params[0] = containerId;
    params[1] = isExec() ? "exec " + processId + ": " : "";
    System.arraycopy(args, 0, params, 2, args.length);
    LOG.log(level, "container {0}: {1}" + event, params);
  }

  synchronized void start() {
    state = state.moveTo(TaskState.RUNNING, containerId);
    // Published before the thread exists, so no exit event can overtake it.
    events.publish(
        isExec()
            ? new TaskEvent.ExecStarted(containerId, processId, pid)
            : new TaskEvent.Started(containerId, pid));
    Thread t = new Thread(null, this::run, "guest-" + processId, GUEST_STACK_BYTES);
    t.setDaemon(true);
    thread = t;
    t.start();
    log(Level.INFO, "started");
  }

  private void run() {
    joinCpuCgroup();
    FileChannel err = holdStderr();
    GuestResult result;
    try {
      result = guest.run();
    } catch (Throwable t) {
      result = new GuestResult.Trapped("krill internal error: " + t);
    }
    long cpu = THREADS.getThreadCpuTime(Thread.currentThread().getId());
    finalCpuNanos = Math.max(cpu, 0);
    String message = null;
    ExitStatus status;
    boolean failed =
        result instanceof GuestResult.Trapped
            || result instanceof GuestResult.Exited e && e.code() != 0;
    if (failed && guest.memoryExhausted()) {
      // Like the kernel's OOM killer for a cgroup: the guest wanted more than its limit and failed.
      events.publish(new TaskEvent.OutOfMemory(containerId));
      message =
          "krill: " + label() + ": out of memory: the guest reached its memory limit and failed\n";
      status = ExitStatus.now(137, "OOMKilled");
    } else if (draining) {
      // it ended after a graceful stop: reported as the signal's, as a kill would be
      status = null;
    } else if (result instanceof GuestResult.Exited e) {
      status = ExitStatus.now(e.code(), e.code() == 0 ? "Completed" : "Error");
    } else if (result instanceof GuestResult.Trapped t) {
      // The whole message (the cause and the engine's wasm backtrace) on the container's stderr
      // and in the daemon's log (one line there); the exit status's reason is the cause alone.
      message = "krill: " + label() + ": " + t.message() + "\n";
      log(Level.INFO, "trapped: {2}", t.message().replace("\n", " | "));
      status = ExitStatus.now(ExitStatus.TRAP, EngineException.firstLine(t.message()));
    } else {
      status = null; // decided under the lock: a SIGKILL that comes meanwhile is the one reported
    }
    writeAndClose(err, message);
    if (status != null) {
      synchronized (this) {
        ended = true;
      }
      awaitOutputRead();
    }
    if (status == null) {
      finishKilled();
    } else {
      finish(status);
    }
    // Only once STOPPED: from then on Kill answers NOT_FOUND and never touches the freed guest.
    free();
  }

  /** Puts this thread into the container's CPU cgroup before the guest runs any wasm. */
  private void joinCpuCgroup() {
    if (cpu == null) {
      return;
    }
    try {
      int tid = cpu.addCurrentThread();
      log(Level.DEBUG, "thread {2} in cgroup {3}", String.valueOf(tid), cpu.path());
    } catch (IOException | RuntimeException e) {
      log(
          Level.WARNING,
          "CPU limits not enforced: cannot move its thread into cgroup {2}: {3}; check that the"
              + " daemon runs as root with /sys/fs/cgroup writable",
          cpu.path(),
          e.getMessage());
    }
  }

  /**
   * A guest that ended by itself is reported exited once its stdout and stderr FIFOs are drained,
   * at most {@link #OUTPUT_READ_MILLIS} later (a kill that came before its end cuts the wait; one
   * after it changes nothing): a client of containerd (ctr, through containerd's {@code cio}) opens
   * a FIFO's read end on a goroutine of its own and, once it has the task's exit, abandons an open
   * that has not finished yet, and with it what the guest wrote.
   */
  private void awaitOutputRead() {
    List<Path> fifos = new ArrayList<>(2);
    for (String p : new String[] {stdout, stderr}) {
      if (p != null && Fifos.isFifo(Path.of(p))) {
        fifos.add(Path.of(p));
      }
    }
    if (fifos.isEmpty()) {
      return;
    }
    try {
      if (!Fifos.awaitDrained(fifos, OUTPUT_READ_MILLIS, () -> killSignal != 0)) {
        log(
            Level.DEBUG,
            "its output was not read within {2} ms of its end; reporting its exit",
            String.valueOf(OUTPUT_READ_MILLIS));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private ExitStatus killedStatus() {
    int sig = killSignal == 0 ? 9 : killSignal;
    return ExitStatus.now(128 + sig, sig == 9 ? "Killed" : "killed by signal " + sig);
  }

  /** A stopped guest's status, from the signal that counts when it is reported. */
  private synchronized void finishKilled() {
    finish(killedStatus());
  }

  private void finish(ExitStatus status) {
    synchronized (this) {
      if (state != TaskState.RUNNING && state != TaskState.CREATED) {
        return;
      }
      state = TaskState.STOPPED;
      // With the state, under the same lock: a reader must never see STOPPED without its exit
      // status.
      exitStatus = status;
      log(
          Level.INFO,
          "exited with status {2} ({3})",
          String.valueOf(status.code()),
          status.reason());
      events.publish(new TaskEvent.Exited(containerId, processId, pid, status));
    }
    exit.complete(status);
  }

  /**
   * Delivers a signal. There are no signal handlers in WASI, so every terminating signal stops the
   * guest (exit status 128+signal); signals whose default action is to ignore are ignored, and
   * those {@link Signals} refuses leave the process as it was.
   */
  void kill(int signal) {
    boolean terminates = Signals.terminates(label(), signal);
    synchronized (this) {
      if (state == TaskState.STOPPED || state == TaskState.DELETED) {
        throw new KrillException(ErrorCode.NOT_FOUND, label() + ": process already finished");
      }
      if (!terminates) {
        return;
      }
      if (ended) {
        // as kill(2) of a process that has exited and not been reaped: nothing changes
        log(Level.DEBUG, "signal {2} after its end: its exit status stays", String.valueOf(signal));
        return;
      }
      if (killSignal == 0 || signal == 9) {
        killSignal = signal;
      }
      if (state == TaskState.CREATED) {
        free();
        finish(killedStatus());
        return;
      }
      log(Level.INFO, "stopping on signal {2}", String.valueOf(signal));
      if (signal == 15 && guest.terminateGracefully()) {
        // The guest finishes what it is doing and ends by itself (a server's own drain bound).
        return;
      }
      guest.interrupt();
    }
    timer.schedule(
        () -> {
          if (state == TaskState.RUNNING) {
            log(
                Level.WARNING,
                "guest did not stop within {2} ms; reporting it stopped",
                String.valueOf(KILL_GRACE_MILLIS));
            finish(killedStatus());
          }
        },
        KILL_GRACE_MILLIS,
        TimeUnit.MILLISECONDS);
  }

  /**
   * SIGTERM of a running listening guest: it takes no new connections, finishes the ones it has and
   * ends on its own, reported as {@code 128 + signal}; a SIGKILL (or another SIGTERM) still ends it
   * at once. {@code closeListeners} runs before the guest is told. Returns false if the process is
   * not running (then {@link #kill} applies).
   */
  boolean drain(int signal, Runnable closeListeners) {
    synchronized (this) {
      if (state != TaskState.RUNNING || ended || draining || killSignal != 0) {
        return false;
      }
      killSignal = signal;
      draining = true;
      log(
          Level.INFO,
          "signal {2}: stopping gracefully, no new connections; it ends after the ones it has"
              + " (SIGKILL ends it now)",
          String.valueOf(signal));
    }
    // Closed before the guest is woken: a selector that wakes first would go back to waiting
    // with the listener still open in the kernel, and new connections still queued.
    closeListeners.run();
    guest.stopAccepting();
    return true;
  }

  /** Marks the process deleted and returns how it ended; a never-started one is freed here. */
  synchronized ExitStatus delete() {
    if (state == TaskState.RUNNING) {
      throw new KrillException(
          ErrorCode.FAILED_PRECONDITION, label() + " is still running: kill it before deleting it");
    }
    boolean neverStarted = state == TaskState.CREATED;
    state = state.moveTo(TaskState.DELETED, containerId);
    if (neverStarted) {
      free();
      return ExitStatus.now(0, "never started");
    }
    return exit.join();
  }

  /**
   * Frees the guest and, with its memory, its share of the budget: a guest stuck past the kill
   * grace still holds both.
   */
  void free() {
    try {
      guest.close();
    } finally {
      if (memory != null) {
        memory.close();
      }
    }
  }

  synchronized TaskState state() {
    return state;
  }

  long cpuNanos() {
    Thread t = thread;
    if (finalCpuNanos >= 0 || t == null) {
      return Math.max(finalCpuNanos, 0);
    }
    return Math.max(THREADS.getThreadCpuTime(t.getId()), 0);
  }

  /**
   * Holds a write end of the stderr FIFO while the guest runs: krill's own message about a trap is
   * written after the guest's stdio has closed, and containerd stops reading at the first EOF.
   * Opened read-write so that it never blocks, even if nobody reads.
   */
  /** How long a stderr FIFO holding krill's message is kept open for a reader to come. */
  private static final long STDERR_LINGER_MILLIS = 10_000;

  private FileChannel holdStderr() {
    if (stderr == null) {
      return null;
    }
    Path path = Path.of(stderr);
    try {
      return Files.isRegularFile(path)
          ? FileChannel.open(path, StandardOpenOption.WRITE, StandardOpenOption.APPEND)
          : FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
    } catch (IOException e) {
      log(Level.WARNING, "cannot open stderr: {2}", e.getMessage());
      return null;
    }
  }

  /**
   * Writes krill's message about the guest's end; a FIFO is closed once a reader has taken it
   * (containerd's may come after the guest has gone), a file at once.
   */
  private void writeAndClose(FileChannel err, String message) {
    if (err == null) {
      return;
    }
    try {
      if (message != null) {
        err.write(ByteBuffer.wrap(message.getBytes(StandardCharsets.UTF_8)));
      }
    } catch (IOException e) {
      log(Level.WARNING, "cannot write to stderr: {2}", e.getMessage());
    }
    Fifos.closeOnceDrained(err, Path.of(stderr), STDERR_LINGER_MILLIS);
  }
}
