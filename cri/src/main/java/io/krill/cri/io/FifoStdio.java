package io.krill.cri.io;

import io.krill.os.PipeWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * A guest's stdio as FIFOs wired to a client's Java streams (a streamed exec): pump threads copy
 * what the guest writes to the client, and a {@link PipeWriter} (non-blocking, opened read-write)
 * carries the client's stdin, so krill can wait for the guest to drain it before ending its input.
 * With a tty the guest's stderr is its stdout.
 */
public final class FifoStdio implements AutoCloseable {
  private final List<Path> fifos = new ArrayList<>();
  private final List<Fifo.Pump> pumps = new ArrayList<>();
  private final InputStream clientStdin;
  private PipeWriter stdinWriter;
  private String stdin;
  private String stdout;
  private String stderr;

  private FifoStdio(InputStream clientStdin) {
    this.clientStdin = clientStdin;
  }

  /**
   * Makes {@code <dir>/<name>.stdout|.stderr|.stdin} for the streams the client has (a null stream:
   * none) and starts pumping output; the pumps wait until the guest opens its ends.
   */
  public static FifoStdio open(
      Path dir, String name, InputStream in, OutputStream out, OutputStream err, boolean tty)
      throws IOException {
    FifoStdio io = new FifoStdio(in);
    try {
      io.stdout = out == null ? null : io.fifo(dir.resolve(name + ".stdout"));
      io.stderr = err == null ? null : io.fifo(dir.resolve(name + ".stderr"));
      if (out != null) {
        io.pumps.add(Fifo.copy(name + "-stdout", Path.of(io.stdout), out));
      }
      if (err != null) {
        io.pumps.add(Fifo.copy(name + "-stderr", Path.of(io.stderr), err));
      } else if (tty) {
        io.stderr = io.stdout;
      }
      io.stdin = in == null ? null : io.fifo(dir.resolve(name + ".stdin"));
      if (io.stdin != null) {
        io.stdinWriter = PipeWriter.open(Path.of(io.stdin));
      }
      return io;
    } catch (IOException | RuntimeException e) {
      io.close();
      throw e;
    }
  }

  private String fifo(Path p) throws IOException {
    fifos.add(Fifo.make(p));
    return p.toString();
  }

  /** The FIFO paths the guest opens; null for a stream the client does not have. */
  public String stdin() {
    return stdin;
  }

  public String stdout() {
    return stdout;
  }

  public String stderr() {
    return stderr;
  }

  /**
   * Starts copying the client's stdin to the guest. At the client's end of input the guest reads
   * what is left in the pipe (while {@code guestRunning}), then {@code atEnd} ends the guest's
   * input.
   */
  public void startStdin(String threadName, BooleanSupplier guestRunning, Runnable atEnd) {
    PipeWriter w = stdinWriter;
    if (w == null) {
      return;
    }
    Fifo.daemon(
        threadName,
        () -> {
          byte[] buf = new byte[8192];
          try {
            int n;
            while ((n = clientStdin.read(buf)) > 0) {
              w.write(buf, 0, n);
            }
          } catch (IOException ignored) {
            // the client or the guest went away; either way the guest's stdin ends
          }
          w.awaitDrained(guestRunning);
          atEnd.run();
        });
  }

  /**
   * After the guest exited: wakes the pumps that never saw it open its ends, and lets them all copy
   * what is left (bounded).
   */
  public void drain() throws InterruptedException {
    release();
    for (Fifo.Pump p : pumps) {
      p.thread().join(TimeUnit.SECONDS.toMillis(10));
    }
  }

  /** Ends pumps whose guest never opened its FIFO (it never ran, or has ended). */
  public void release() {
    pumps.forEach(Fifo.Pump::release);
  }

  /** Closes the stdin writer and removes the FIFOs. */
  @Override
  public void close() throws IOException {
    if (stdinWriter != null) {
      stdinWriter.close();
    }
    for (Path f : fifos) {
      Files.deleteIfExists(f);
    }
  }
}
