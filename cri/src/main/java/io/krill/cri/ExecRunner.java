package io.krill.cri;

import io.krill.oci.RuntimeSpec;
import io.krill.runtime.ExitStatus;
import io.krill.runtime.KrillException;
import io.krill.runtime.ExecSpec;
import io.krill.runtime.Stdio;
import io.krill.runtime.TaskManager;
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
 * ExecSync: another wasm entry in the container's context ({@code cmd[0]} = module path in the rootfs,
 * {@code path#func} for an export), with stdout and stderr captured in files of the bundle and returned
 * whole. The files are bounded by what ExecSync may return, as kubelet caps exec output too.
 */
final class ExecRunner {
  /** kubelet's own cap on ExecSync output per stream. */
  static final int MAX_OUTPUT = 16 * 1024 * 1024;
  private static final AtomicLong SEQ = new AtomicLong();

  /** What an exec printed and how it ended. */
  record Result(byte[] stdout, byte[] stderr, int exitCode) {}

  /** The exec did not finish within its timeout and was killed. */
  static final class Timeout extends RuntimeException {
    Timeout(String message) {
      super(message);
    }
  }

  private ExecRunner() {}

  /** Exec ids unique within this daemon, shared by ExecSync and streamed execs. */
  static String newExecId() {
    return "exec-" + SEQ.incrementAndGet();
  }

  static Result run(TaskManager tasks, String containerId, Path bundle, List<String> cmd, long timeoutSeconds) {
    String execId = newExecId();
    Path out = bundle.resolve(execId + ".stdout");
    Path err = bundle.resolve(execId + ".stderr");
    try {
      Files.createFile(out);
      Files.createFile(err);
      tasks.exec(new ExecSpec(containerId, execId, new RuntimeSpec.Process(cmd, List.of(), null, false),
          new Stdio(null, out.toString(), err.toString(), false)));
      try {
        tasks.start(containerId, execId);
        ExitStatus status = await(tasks, containerId, execId, timeoutSeconds);
        return new Result(read(out), read(err), status.code());
      } finally {
        try {
          tasks.delete(containerId, execId);
        } catch (KrillException ignored) {
          // still stopping after a kill; the container's delete ends it
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("exec in " + containerId, e);
    } finally {
      try {
        Files.deleteIfExists(out);
        Files.deleteIfExists(err);
      } catch (IOException ignored) {
        // the bundle goes with the container
      }
    }
  }

  private static ExitStatus await(TaskManager tasks, String id, String execId, long timeoutSeconds) {
    try {
      return timeoutSeconds > 0 ? tasks.waitFor(id, execId).get(timeoutSeconds, TimeUnit.SECONDS)
          : tasks.waitFor(id, execId).get();
    } catch (TimeoutException e) {
      killAndReap(tasks, id, execId);
      throw new Timeout("container " + id + ": exec timed out after " + timeoutSeconds + "s and was killed");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Timeout("container " + id + ": exec interrupted");
    } catch (ExecutionException e) {
      throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
    }
  }

  /** Ends an exec that must not go on (timed out, or its client left): SIGKILL, a short wait, delete. */
  static void killAndReap(TaskManager tasks, String id, String execId) {
    try {
      tasks.kill(id, execId, 9, false);
      tasks.waitFor(id, execId).orTimeout(5, TimeUnit.SECONDS).exceptionally(t -> null).join();
      tasks.delete(id, execId);
    } catch (KrillException ignored) {
      // already gone, or still stopping: the container's delete ends it
    }
  }

  private static byte[] read(Path p) throws IOException {
    try (var in = Files.newInputStream(p)) {
      return in.readNBytes(MAX_OUTPUT);
    }
  }
}
