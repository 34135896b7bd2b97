package io.krill.cri.io;

import io.krill.os.PipeWriter;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A container's stdio: FIFOs in its bundle. The guest writes stdout and stderr, and krill's pump
 * threads read them into the CRI log and hand each chunk to the attached clients ({@link Tap}s).
 * With {@code stdin}, krill holds the write end of a stdin FIFO open for the container's life (so
 * the guest waits for input rather than seeing its end) and attached clients write into it. Without
 * a log path the guest gets no output at all.
 */
public final class ContainerIo {
  private static final System.Logger LOG = System.getLogger("krill.cri");

  /** An attached client's view of the output; called on the pump threads, so it must not block. */
  public interface Tap {
    void output(String stream, byte[] b, int off, int len);

    /** Both output streams have ended: the guest exited. */
    void end();
  }

  private final String stdout;
  private final String stderr;
  private final List<Fifo.Pump> pumps;
  private final ReopenableLog log;
  private final Path stdinFifo;
  private final List<Tap> taps = new CopyOnWriteArrayList<>();
  private PipeWriter stdinWriter;
  private boolean ended;

  private ContainerIo(
      String stdout,
      String stderr,
      List<Fifo.Pump> pumps,
      ReopenableLog log,
      Path stdinFifo,
      PipeWriter stdinWriter) {
    this.stdout = stdout;
    this.stderr = stderr;
    this.pumps = pumps;
    this.log = log;
    this.stdinFifo = stdinFifo;
    this.stdinWriter = stdinWriter;
  }

  public static ContainerIo open(String id, Path bundle, String logPath, boolean stdin)
      throws IOException {
    Path stdinFifo = null;
    PipeWriter stdinWriter = null;
    if (stdin) {
      stdinFifo = Fifo.make(bundle.resolve("stdin"));
      stdinWriter = PipeWriter.open(stdinFifo);
    }
    if (logPath.isEmpty()) {
      ContainerIo none = new ContainerIo(null, null, List.of(), null, stdinFifo, stdinWriter);
      none.ended = true;
      return none;
    }
    Path log = Path.of(logPath);
    if (log.getParent() != null) {
      Files.createDirectories(log.getParent());
    }
    ReopenableLog file = new ReopenableLog(log);
    CriLog cri = new CriLog(file, Clock.systemUTC(), CriLog.DEFAULT_MAX_LINE);
    List<Fifo.Pump> pumps = new ArrayList<>();
    ContainerIo io =
        new ContainerIo(
            bundle.resolve("stdout").toString(),
            bundle.resolve("stderr").toString(),
            pumps,
            file,
            stdinFifo,
            stdinWriter);
    for (String stream : List.of("stdout", "stderr")) {
      pumps.add(
          Fifo.pump(
              "log-" + stream + "-" + id.substring(0, 12),
              Fifo.make(bundle.resolve(stream)),
              in -> cri.pump(stream, io.tee(stream, in))));
    }
    Fifo.daemon(
        "log-close-" + id.substring(0, 12),
        () -> {
          for (Fifo.Pump p : pumps) {
            try {
              p.join();
            } catch (InterruptedException e) {
              return;
            }
          }
          io.ended();
          try {
            file.close();
          } catch (IOException ignored) {
            // nothing left to write
          }
        });
    return io;
  }

  private InputStream tee(String stream, InputStream in) {
    return new FilterInputStream(in) {
      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        int n = super.read(b, off, len);
        if (n > 0) {
          for (Tap t : taps) {
            t.output(stream, b, off, n);
          }
        }
        return n;
      }
    };
  }

  private void ended() {
    synchronized (this) {
      ended = true;
    }
    taps.forEach(Tap::end);
    closeStdin();
  }

  /** Adds an attached client; returns its detach, or null when the output has already ended. */
  public synchronized Runnable tap(Tap tap) {
    if (ended) {
      return null;
    }
    taps.add(tap);
    return () -> taps.remove(tap);
  }

  public boolean hasStdin() {
    return stdinFifo != null;
  }

  /** Writes to the guest's stdin; false once it is closed. */
  public boolean writeStdin(byte[] b, int off, int len) {
    PipeWriter w;
    synchronized (this) {
      w = stdinWriter;
    }
    if (w == null) {
      return false;
    }
    try {
      w.write(b, off, len);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /**
   * Ends the guest's stdin once it has read what is in the pipe (with {@code stdin_once}, when the
   * first attached client closes it): {@code endGuestInput} closes the guest's side, so a guest
   * that has not opened its stdin yet sees end-of-file too.
   */
  public void endStdin(Runnable endGuestInput) {
    PipeWriter w;
    synchronized (this) {
      w = stdinWriter;
    }
    if (w != null) {
      w.awaitDrained(() -> !outputEnded());
      endGuestInput.run();
      closeStdin();
    }
  }

  private synchronized boolean outputEnded() {
    return ended;
  }

  private void closeStdin() {
    PipeWriter w;
    synchronized (this) {
      w = stdinWriter;
      stdinWriter = null;
    }
    if (w != null) {
      w.close();
    }
  }

  public String stdin() {
    return stdinFifo == null ? null : stdinFifo.toString();
  }

  /** Whether the pumps still copy output, i.e. whether there is a log to reopen. */
  public boolean logging() {
    return log != null && pumps.stream().anyMatch(Fifo.Pump::running);
  }

  public void reopenLog() throws IOException {
    if (log != null) {
      log.reopen();
    }
  }

  public String stdout() {
    return stdout;
  }

  public String stderr() {
    return stderr;
  }

  /**
   * Ends pumps whose guest never opened its FIFO (a container removed without being started, or
   * whose start failed). Done before the caller removes the bundle, and never blocks.
   */
  public void abandon() {
    closeStdin();
    guestEnded();
  }

  /**
   * The guest has exited: a pump that never saw it open its end (it wrote and exited before the
   * pump was reading) reads what it left, and ends.
   */
  public void guestEnded() {
    pumps.forEach(Fifo.Pump::release);
  }
}
