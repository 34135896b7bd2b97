package io.krill.cri.io;

import io.krill.os.FifoHold;
import io.krill.os.Mounts;
import io.krill.os.PipeWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;

/** Named pipes between guests and krill: made with mkfifo(3), read by pump threads. */
public final class Fifo {
  private static final System.Logger LOG = System.getLogger("krill.cri");

  private Fifo() {}

  public static Path make(Path fifo) throws IOException {
    Mounts.mkfifo(fifo);
    return fifo;
  }

  public static Thread daemon(String name, Runnable body) {
    Thread t = new Thread(body, name);
    t.setDaemon(true);
    t.start();
    return t;
  }

  /** What a pump does with the FIFO once the guest has opened it: read it to its end. */
  @FunctionalInterface
  public interface Reader {
    void read(InputStream in) throws IOException;
  }

  /**
   * A thread that opens {@code fifo} and hands it to {@code reader} until the guest closes it.
   * Before the thread starts, a reading end is held (non-blocking, never read, as containerd does),
   * so what a quick guest writes before the thread has opened waits in the pipe instead of being
   * lost; opening a FIFO for reading blocks until a writer opens it, so once the guest has exited
   * {@link Pump#release} lets a pump that never saw it open read what it left, and ends.
   */
  public static Pump pump(String name, Path fifo, Reader reader) throws IOException {
    AtomicBoolean opened = new AtomicBoolean();
    FifoHold hold = FifoHold.of(fifo);
    Thread t =
        daemon(
            name,
            () -> {
              try (InputStream in = Files.newInputStream(fifo)) {
                opened.set(true);
                reader.read(in);
              } catch (IOException e) {
                LOG.log(Level.WARNING, "{0}: {1}", name, e.getMessage());
              } finally {
                if (hold != null) {
                  hold.close();
                }
              }
            });
    return new Pump(t, fifo, opened);
  }

  /** A pump that copies what the guest writes to {@code sink}. */
  public static Pump copy(String name, Path fifo, OutputStream sink) throws IOException {
    return pump(name, fifo, in -> in.transferTo(sink));
  }

  public record Pump(Thread thread, Path fifo, AtomicBoolean opened) {
    /**
     * For a guest that has ended or never opened its end: opening the FIFO read-write and
     * non-blocking counts as a writer, so the pump's blocked open returns and then reads what the
     * guest left and end-of-file. Never blocks, and never creates a file where the FIFO is gone.
     * Retries while the pump thread has not reached its open yet.
     */
    public void release() {
      for (int i = 0; i < 200 && !opened.get() && thread.isAlive(); i++) {
        try {
          PipeWriter.open(fifo).close();
        } catch (IOException gone) {
          return;
        }
        try {
          thread.join(5);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }

    public void join() throws InterruptedException {
      thread.join();
    }

    public boolean running() {
      return thread.isAlive();
    }
  }
}
