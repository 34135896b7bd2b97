package io.krill.cri.container;

import io.krill.cri.io.FifoStdio;
import io.krill.cri.streaming.Session;
import io.krill.cri.streaming.Session.Outcome;
import io.krill.oci.RuntimeSpec;
import io.krill.runtime.ErrorCode;
import io.krill.runtime.ExecSpec;
import io.krill.runtime.ExitStatus;
import io.krill.runtime.KrillException;
import io.krill.runtime.Stdio;
import io.krill.runtime.TaskManager;
import io.krill.runtime.TaskState;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One exec: another wasm entry run in the container's context ({@code cmd[0]} = module path in the
 * rootfs, {@code path#func} for an export). The choreography is written once, here: create, start,
 * wait, delete, and kill-and-reap whenever an exec must not go on. Its stdio is one of two
 * strategies:
 *
 * <ul>
 *   <li>{@link #captured}: ExecSync. stdout and stderr go to files in the bundle and come back
 *       whole, bounded by what ExecSync may return (kubelet caps exec output too).
 *   <li>{@link #streamed}: Exec on the streaming server. FIFOs in the bundle carry the client's
 *       streams; a client that disconnects takes its exec with it (there is no terminal to leave it
 *       in).
 * </ul>
 */
public final class ExecSession {
  /** kubelet's own cap on ExecSync output per stream. */
  public static final int MAX_OUTPUT = 16 * 1024 * 1024;

  private static final AtomicLong SEQ = new AtomicLong();

  /** What a captured exec printed and how it ended. */
  public record Result(byte[] stdout, byte[] stderr, int exitCode) {}

  /** The exec did not finish within its timeout and was killed. */
  public static final class Timeout extends RuntimeException {
    Timeout(String message) {
      super(message);
    }
  }

  /** Where an exec's stdio goes and what becomes of it once the exec has exited. */
  private interface IoStrategy<R> {
    String stdin();

    String stdout();

    String stderr();

    /** The exec exists and has not started: hook up whatever needs its id. */
    void created(String execId);

    /** The exec has exited and is deleted. */
    R result(ExitStatus status) throws IOException, InterruptedException;

    /** The exec could not be created, started or waited for. */
    void failed();
  }

  private final TaskManager tasks;
  private final String containerId;
  private final Path bundle;
  private final List<String> cmd;
  private final String execId = "exec-" + SEQ.incrementAndGet();

  ExecSession(TaskManager tasks, String containerId, Path bundle, List<String> cmd) {
    this.tasks = tasks;
    this.containerId = containerId;
    this.bundle = bundle;
    this.cmd = List.copyOf(cmd);
  }

  /**
   * The exec's process as containerd makes it: the container's own (its environment, HOSTNAME
   * included, and working directory) with the exec's command as its argv.
   */
  private RuntimeSpec.Process process() throws IOException {
    RuntimeSpec.Process container = RuntimeSpec.read(bundle).process();
    return container == null
        ? new RuntimeSpec.Process(cmd, List.of(), null, false)
        : new RuntimeSpec.Process(cmd, container.env(), container.cwd(), false);
  }

  /** Exec ids are unique within this daemon, shared by ExecSync and streamed execs. */
  public String execId() {
    return execId;
  }

  /**
   * Runs the exec with stdout and stderr captured; after {@code timeoutSeconds} (0: none) it is
   * killed.
   */
  public Result captured(long timeoutSeconds) {
    Path out = bundle.resolve(execId + ".stdout");
    Path err = bundle.resolve(execId + ".stderr");
    try {
      Files.createFile(out);
      Files.createFile(err);
      return run(
          new IoStrategy<>() {
            @Override
            public String stdin() {
              return null;
            }

            @Override
            public String stdout() {
              return out.toString();
            }

            @Override
            public String stderr() {
              return err.toString();
            }

            @Override
            public void created(String id) {}

            @Override
            public Result result(ExitStatus status) throws IOException {
              return new Result(read(out), read(err), status.code());
            }

            @Override
            public void failed() {}
          },
          timeoutSeconds);
    } catch (IOException e) {
      throw new UncheckedIOException("exec in " + containerId, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Timeout("container " + containerId + ": exec interrupted");
    } finally {
      try {
        Files.deleteIfExists(out);
        Files.deleteIfExists(err);
      } catch (IOException ignored) {
        // the bundle goes with the container
      }
    }
  }

  /**
   * Runs the exec with the client's streams (see the class comment); the outcome goes to the
   * client.
   */
  public Outcome streamed(Session.Streams s) throws IOException, InterruptedException {
    try (FifoStdio io =
        FifoStdio.open(bundle, execId, s.stdin(), s.stdout(), s.stderr(), s.tty())) {
      return run(
          new IoStrategy<Outcome>() {
            @Override
            public String stdin() {
              return io.stdin();
            }

            @Override
            public String stdout() {
              return io.stdout();
            }

            @Override
            public String stderr() {
              return io.stderr();
            }

            @Override
            public void created(String id) {
              s.onClientGone(
                  () -> {
                    try {
                      tasks.kill(containerId, id, 9, false);
                    } catch (KrillException ignored) {
                      // already exited
                    }
                  });
              io.startStdin(
                  id + "-stdin",
                  // Not "running": the client's input may be in the pipe before the exec starts.
                  () -> notExited(id),
                  () -> {
                    try {
                      tasks.closeStdin(containerId, id);
                    } catch (KrillException ignored) {
                      // the exec is gone already
                    }
                  });
            }

            @Override
            public Outcome result(ExitStatus status) throws InterruptedException {
              io.drain();
              return Outcome.ofExit(status.code());
            }

            @Override
            public void failed() {
              io.release();
            }
          },
          0);
    } catch (KrillException e) {
      return new Outcome.Failed(e.getMessage());
    }
  }

  private <R> R run(IoStrategy<R> io, long timeoutSeconds)
      throws IOException, InterruptedException {
    boolean live = false;
    try {
      ExitStatus status;
      try {
        tasks.exec(
            new ExecSpec(
                containerId,
                execId,
                process(),
                new Stdio(io.stdin(), io.stdout(), io.stderr(), false)));
        live = true;
        io.created(execId);
        tasks.start(containerId, execId);
        status = await(timeoutSeconds);
      } catch (Timeout e) {
        live = false;
        throw e;
      } catch (RuntimeException e) {
        io.failed();
        throw e;
      }
      live = false;
      try {
        tasks.delete(containerId, execId);
      } catch (KrillException ignored) {
        // still stopping; the container's delete ends it
      }
      return io.result(status);
    } finally {
      if (live) {
        killAndReap();
      }
    }
  }

  private ExitStatus await(long timeoutSeconds) throws InterruptedException {
    try {
      return timeoutSeconds > 0
          ? tasks.waitFor(containerId, execId).get(timeoutSeconds, TimeUnit.SECONDS)
          : tasks.waitFor(containerId, execId).get();
    } catch (TimeoutException e) {
      killAndReap();
      throw new Timeout(
          "container "
              + containerId
              + ": exec timed out after "
              + timeoutSeconds
              + "s and was killed");
    } catch (ExecutionException e) {
      if (e.getCause() instanceof KrillException k) {
        throw k;
      }
      throw new KrillException(
          ErrorCode.INTERNAL,
          "container " + containerId + ": exec failed: " + e.getCause().getMessage(),
          e.getCause());
    }
  }

  /**
   * Ends an exec that must not go on (timed out, or its client left): SIGKILL, a short wait,
   * delete.
   */
  private void killAndReap() {
    try {
      tasks.kill(containerId, execId, 9, false);
      tasks
          .waitFor(containerId, execId)
          .orTimeout(5, TimeUnit.SECONDS)
          .exceptionally(t -> null)
          .join();
      tasks.delete(containerId, execId);
    } catch (KrillException ignored) {
      // already gone, or still stopping: the container's delete ends it
    }
  }

  /** Created or running: its guest has yet to read its stdin, or is reading it. */
  private boolean notExited(String id) {
    try {
      TaskState state = tasks.info(containerId, id).state();
      return state == TaskState.CREATED || state == TaskState.RUNNING;
    } catch (KrillException gone) {
      return false;
    }
  }

  private static byte[] read(Path p) throws IOException {
    try (var in = Files.newInputStream(p)) {
      return in.readNBytes(MAX_OUTPUT);
    }
  }
}
