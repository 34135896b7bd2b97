package io.krill.cri;

import io.krill.cri.streaming.Session;
import io.krill.cri.streaming.Session.Outcome;
import io.krill.oci.RuntimeSpec;
import io.krill.runtime.ExitStatus;
import io.krill.runtime.KrillException;
import io.krill.runtime.ExecSpec;
import io.krill.runtime.Stdio;
import io.krill.runtime.TaskManager;
import io.krill.runtime.TaskState;
import io.krill.os.PipeWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;

/**
 * What runs when a streaming client connects: an exec wired to the client's streams through FIFOs in the
 * bundle, or an attach to the container's own output (and stdin, if it was created with one).
 */
final class StreamSessions {
  /** Output an attached client may fall behind by before it is detached. */
  static final long ATTACH_BACKLOG = 4L << 20;

  private StreamSessions() {}

  /**
   * Runs {@code cmd} (the exec convention: a module path in the rootfs, {@code #func} for an export) with the
   * client's streams. A client that disconnects takes its exec with it: there is no terminal to leave it in.
   */
  static Outcome exec(TaskManager tasks, String id, Path bundle, List<String> cmd, Session.Streams s)
      throws IOException, InterruptedException {
    String execId = ExecRunner.newExecId();
    List<Path> fifos = new ArrayList<>();
    List<Fifo.Pump> pumps = new ArrayList<>();
    PipeWriter stdinWriter = null;
    boolean created = false;
    try {
      String out = s.stdout() == null ? null : fifo(fifos, bundle.resolve(execId + ".stdout"));
      String err = s.stderr() == null ? null : fifo(fifos, bundle.resolve(execId + ".stderr"));
      if (out != null) {
        pumps.add(Fifo.copy(execId + "-stdout", Path.of(out), s.stdout()));
      }
      if (err != null) {
        pumps.add(Fifo.copy(execId + "-stderr", Path.of(err), s.stderr()));
      } else if (s.tty()) {
        err = out;
      }
      String in = s.stdin() == null ? null : fifo(fifos, bundle.resolve(execId + ".stdin"));
      if (in != null) {
        stdinWriter = PipeWriter.open(Path.of(in));
      }
      ExitStatus status;
      try {
        tasks.exec(new ExecSpec(id, execId, new RuntimeSpec.Process(cmd, List.of(), null, false),
            new Stdio(in, out, err, false)));
        created = true;
        s.onClientGone(() -> {
          try {
            tasks.kill(id, execId, 9, false);
          } catch (KrillException ignored) {
            // already exited
          }
        });
        if (stdinWriter != null) {
          PipeWriter w = stdinWriter;
          Fifo.daemon(execId + "-stdin", () -> copyStdin(s.stdin(), w, () -> running(tasks, id, execId),
              () -> tasks.closeStdin(id, execId)));
        }
        tasks.start(id, execId);
        status = tasks.waitFor(id, execId).get();
      } catch (KrillException e) {
        pumps.forEach(Fifo.Pump::release);
        return new Outcome.Failed(e.getMessage());
      } catch (ExecutionException e) {
        pumps.forEach(Fifo.Pump::release);
        return new Outcome.Failed("container " + id + ": exec failed: " + e.getCause().getMessage());
      }
      tasks.delete(id, execId);
      created = false;
      for (Fifo.Pump p : pumps) {
        p.thread().join(TimeUnit.SECONDS.toMillis(10));
        p.release();
      }
      return Outcome.ofExit(status.code());
    } finally {
      if (created) {
        ExecRunner.killAndReap(tasks, id, execId);
      }
      if (stdinWriter != null) {
        stdinWriter.close();
      }
      for (Path f : fifos) {
        Files.deleteIfExists(f);
      }
    }
  }

  private static String fifo(List<Path> fifos, Path p) throws IOException {
    fifos.add(Fifo.make(p));
    return p.toString();
  }

  /** Client to guest; at the client's end of input the guest reads what is left in the pipe, then its end. */
  private static void copyStdin(InputStream from, PipeWriter to, BooleanSupplier guestRunning, Runnable atEnd) {
    byte[] buf = new byte[8192];
    try {
      int n;
      while ((n = from.read(buf)) > 0) {
        to.write(buf, 0, n);
      }
    } catch (IOException ignored) {
      // the client or the guest went away; either way the guest's stdin ends
    }
    to.awaitDrained(guestRunning);
    try {
      atEnd.run();
    } catch (KrillException ignored) {
      // the exec is gone already
    }
  }

  private static boolean running(TaskManager tasks, String id, String execId) {
    try {
      return tasks.info(id, execId).state() == TaskState.RUNNING;
    } catch (KrillException gone) {
      return false;
    }
  }

  /**
   * Streams the container's output from now on until it exits (or the client leaves), and the client's stdin
   * into the container's; with {@code stdinOnce} the guest's stdin ends when this client's does.
   */
  static Outcome attach(TaskManager tasks, CriContainer c, ContainerIo io, Session.Streams s) throws IOException {
    record Chunk(String stream, byte[] bytes) {}
    Chunk end = new Chunk("", new byte[0]);
    LinkedBlockingQueue<Chunk> queue = new LinkedBlockingQueue<>();
    AtomicLong backlog = new AtomicLong();
    AtomicBoolean overflow = new AtomicBoolean();
    Runnable detach = io.tap(new ContainerIo.Tap() {
      @Override
      public void output(String stream, byte[] b, int off, int len) {
        if (overflow.get()) {
          return;
        }
        if (backlog.addAndGet(len) > ATTACH_BACKLOG) {
          overflow.set(true);
          queue.add(end);
          return;
        }
        byte[] copy = new byte[len];
        System.arraycopy(b, off, copy, 0, len);
        queue.add(new Chunk(stream, copy));
      }

      @Override
      public void end() {
        queue.add(end);
      }
    });
    if (detach == null) {
      return new Outcome.Success();
    }
    s.onClientGone(() -> queue.add(end));
    if (s.stdin() != null) {
      Fifo.daemon("attach-stdin-" + c.id().substring(0, 12), () -> {
        byte[] buf = new byte[8192];
        try {
          int n;
          while ((n = s.stdin().read(buf)) > 0) {
            if (!io.writeStdin(buf, 0, n)) {
              return;
            }
          }
        } catch (IOException ignored) {
          // the client went away
        }
        if (c.stdinOnce()) {
          io.endStdin(() -> {
            try {
              tasks.closeStdin(c.id());
            } catch (KrillException ignored) {
              // exited meanwhile
            }
          });
        }
      });
    }
    try {
      while (true) {
        Chunk chunk = queue.take();
        if (chunk == end) {
          break;
        }
        backlog.addAndGet(-chunk.bytes().length);
        OutputStream to = chunk.stream().equals("stderr") && !s.tty() ? s.stderr() : s.stdout();
        if (to != null) {
          to.write(chunk.bytes());
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      detach.run();
    }
    if (overflow.get()) {
      return new Outcome.Failed("container " + c.id() + ": this attached client fell behind the container's output"
          + " by more than " + (ATTACH_BACKLOG >> 20) + " MiB and was detached; attach again, or read the log");
    }
    return new Outcome.Success();
  }
}
